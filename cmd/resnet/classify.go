package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/inbrowser/resnet/engine/arch"
	"github.com/inbrowser/resnet/engine/checkpoint"
	"github.com/inbrowser/resnet/engine/classifier"
	"github.com/inbrowser/resnet/engine/preprocess"
	"github.com/inbrowser/resnet/weights"
)

func init() {
	commands["classify"] = command{
		usage: "[-model NAME] [-dir weights] [-weights F -arch resnet50 [-v1] [-labels F]] [-k 5] IMAGE...",
		run:   runClassify,
	}
}

func runClassify(args []string, stdout io.Writer) error {
	fs := newFlagSet("classify")
	model := fs.String("model", "", "model name from the manifest (default: the manifest's default model)")
	dir := fs.String("dir", "weights", "folder holding manifest.json and the weight files")
	weightsFile := fs.String("weights", "", "a .safetensors or .pth file to use instead of a manifest model")
	archName := fs.String("arch", "resnet50", "architecture of -weights")
	v1 := fs.Bool("v1", false, "with -weights: stride on the first 1x1 conv (the paper's v1)")
	labelsFile := fs.String("labels", "", "with -weights: class names, one per line (default: ImageNet's for 1000 classes)")
	k := fs.Int("k", 5, "how many classes to print")
	images, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(images) == 0 {
		return fmt.Errorf("%w: no image given", errUsage)
	}
	if *k < 1 {
		return fmt.Errorf("%w: -k must be at least 1", errUsage)
	}
	start := time.Now()
	var clf *classifier.Classifier
	if *weightsFile != "" {
		clf, err = loadFile(*weightsFile, *archName, *v1, *labelsFile)
	} else {
		clf, err = loadManifestModel(*dir, *model)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "model loaded in %s\n", ms(time.Since(start)))
	for _, path := range images {
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		r, err := clf.ClassifyBytes(data, *k)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		fmt.Fprintf(stdout, "%s  (%s: decode %s, preprocess %s, inference %s)\n", path,
			ms(r.Decode+r.Preprocess+r.Inference), ms(r.Decode), ms(r.Preprocess), ms(r.Inference))
		for _, c := range r.Top {
			fmt.Fprintf(stdout, "  %6.2f%%  %s\n", 100*c.Prob, c.Label)
		}
	}
	return nil
}

// loadManifestModel loads a model the manifest in dir lists.
func loadManifestModel(dir, name string) (*classifier.Classifier, error) {
	manifest, err := weights.LoadDir(dir)
	if err != nil {
		return nil, err
	}
	md := manifest.Default()
	if name != "" {
		if md, err = manifest.Model(name); err != nil {
			return nil, err
		}
	}
	data, err := os.ReadFile(md.Path(dir))
	if err != nil {
		return nil, err
	}
	return classifier.FromManifest(md, data)
}

// loadFile loads a weights file that no manifest describes; the number of
// classes comes from its fc layer and preprocessing is ImageNet's.
func loadFile(path, archName string, v1 bool, labelsFile string) (*classifier.Classifier, error) {
	cfg, err := arch.ParseName(archName)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	if v1 {
		cfg.Variant = arch.V1
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	ckpt, err := checkpoint.Read(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	fc, ok := ckpt.Tensors["fc.bias"]
	if !ok || len(fc.Shape) != 1 {
		return nil, fmt.Errorf("%s: no fc.bias tensor: not a torchvision ResNet checkpoint", filepath.Base(path))
	}
	cfg.NumClasses = fc.Shape[0]
	labels, err := readLabels(labelsFile, cfg.NumClasses)
	if err != nil {
		return nil, err
	}
	return classifier.New(classifier.Options{Config: cfg, Spec: preprocess.ImageNet, Labels: labels}, ckpt)
}

// readLabels reads one class name per line, or gives ImageNet's names (for
// 1000 classes) or numbers when no file is named.
func readLabels(path string, classes int) ([]string, error) {
	if path == "" {
		if classes == 1000 {
			return weights.ImageNetLabels()
		}
		labels := make([]string, classes)
		for i := range labels {
			labels[i] = fmt.Sprintf("class %d", i)
		}
		return labels, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	labels, err := weights.ParseLabels(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(labels) != classes {
		return nil, fmt.Errorf("%s: %d labels for %d classes", path, len(labels), classes)
	}
	return labels, nil
}

// ms formats a duration in milliseconds with one decimal.
func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
