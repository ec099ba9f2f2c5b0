package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/inbrowser/resnet/engine/arch"
	"github.com/inbrowser/resnet/engine/cam"
	"github.com/inbrowser/resnet/engine/checkpoint"
	"github.com/inbrowser/resnet/engine/classifier"
	"github.com/inbrowser/resnet/engine/preprocess"
	"github.com/inbrowser/resnet/weights"
)

func init() {
	commands["classify"] = command{
		usage: "[-model NAME] [-dir weights] [-weights F [-arch resnet50] [-v1] [-labels F]] [-k 5] [-json] [-cam DIR] IMAGE...",
		run:   runClassify,
	}
}

// Bounds on what the CLI reads into memory: a ResNet-152 in float32 is
// 240 MB, and an image over the pixel budget is refused from its header,
// so a larger file is a mistake (or /dev/zero), not a model or a photo.
const (
	maxWeightsBytes = 2 << 30
	maxImageBytes   = 256 << 20
)

func runClassify(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("classify")
	model := fs.String("model", "", "model name from the manifest (default: the manifest's default model)")
	dir := fs.String("dir", "weights", "folder holding manifest.json and the weight files")
	weightsFile := fs.String("weights", "", "a .safetensors or .pth file to use instead of a manifest model")
	archName := fs.String("arch", "", "with -weights: the architecture it must be (default: worked out from its tensors)")
	v1 := fs.Bool("v1", false, "with -weights: stride on the first 1x1 conv (the paper's v1)")
	labelsFile := fs.String("labels", "", "with -weights: class names, one per line (default: ImageNet's for 1000 classes)")
	k := fs.Int("k", 5, "how many classes to print")
	asJSON := fs.Bool("json", false, "print one JSON object per image, with the top classes and all logits")
	camDir := fs.String("cam", "", "write each image's class activation map of its top class, over the preprocessed crop, to DIR/NAME.cam.png")
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
	camFiles, err := camPaths(*camDir, images)
	if err != nil {
		return err
	}
	start := time.Now()
	var clf *classifier.Classifier
	var notes fileNotes
	if *weightsFile != "" {
		clf, notes, err = loadFile(*weightsFile, *archName, *v1, *labelsFile)
	} else {
		clf, err = loadManifestModel(*dir, *model)
	}
	if err != nil {
		return err
	}
	out := stdout
	if *asJSON {
		out = io.Discard // stdout carries only the JSON
	}
	if notes.model != "" {
		fmt.Fprintln(out, notes.model)
	}
	if notes.labels != "" {
		fmt.Fprintln(stderr, notes.labels)
	}
	fmt.Fprintf(out, "model loaded in %s\n", ms(time.Since(start)))
	for i, path := range images {
		data, err := readLimited(path, maxImageBytes, preprocess.SniffBytes, preprocess.Sniff)
		if err != nil {
			return err
		}
		r, err := clf.ClassifyBytesWith(data, *k, classifier.Extras{FeatureMap: camFiles != nil})
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if camFiles != nil {
			if err := writeCAM(camFiles[i], clf, r); err != nil {
				return err
			}
		}
		if *asJSON {
			out := map[string]any{"image": path, "top": r.Top, "logits": r.Logits}
			if camFiles != nil {
				out["cam"] = camFiles[i]
			}
			if err := json.NewEncoder(stdout).Encode(out); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintf(stdout, "%s  (%s: decode %s, preprocess %s, inference %s)\n", path,
			ms(r.Decode+r.Preprocess+r.Inference), ms(r.Decode), ms(r.Preprocess), ms(r.Inference))
		for _, c := range r.Top {
			fmt.Fprintf(stdout, "  %6.2f%%  %s\n", 100*c.Prob, c.Label)
		}
		if camFiles != nil {
			fmt.Fprintf(stdout, "  activation map of %s: %s\n", r.Top[0].Label, camFiles[i])
		}
	}
	return nil
}

// camOpacity is the heatmap's share of each pixel of a -cam picture: half,
// so that both the map and the picture under it stay readable.
const camOpacity = 0.5

// camPaths returns the file each image's activation map goes to,
// DIR/NAME.cam.png with NAME the image's file name without its extension,
// making dir if needed; nil if dir is "". Two images of the same name
// would overwrite one map with the other, so they are refused.
func camPaths(dir string, images []string) ([]string, error) {
	if dir == "" {
		return nil, nil
	}
	paths := make([]string, len(images))
	first := map[string]string{}
	for i, img := range images {
		name := filepath.Base(img)
		paths[i] = filepath.Join(dir, strings.TrimSuffix(name, filepath.Ext(name))+".cam.png")
		if other, ok := first[paths[i]]; ok {
			return nil, fmt.Errorf("%w: -cam: %s and %s would both write %s", errUsage, other, img, paths[i])
		}
		first[paths[i]] = img
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("-cam: %w", err)
	}
	return paths, nil
}

// writeCAM writes r's activation map of its top class, resized to the
// crop the network saw and blended over it, as a PNG to path.
func writeCAM(path string, clf *classifier.Classifier, r *classifier.Result) error {
	w, err := clf.Model().ClassWeights(r.Top[0].Index)
	if err != nil {
		return err
	}
	m, err := cam.Compute(*r.FeatureMap, w)
	if err != nil {
		return err
	}
	crop, err := preprocess.CropImage(r.Input, clf.Options().Spec)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, cam.Overlay(crop, m, camOpacity)); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
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
	data, err := readLimited(md.Path(dir), maxWeightsBytes, checkpoint.HeadBytes, checkpoint.Sniff)
	if err != nil {
		return nil, err
	}
	return md.Classifier(data)
}

// fileNotes is what the person is told about a weights file: which model
// it is (on stdout, unless -json) and whether its labels are assumed (on
// stderr, so that -json's stdout stays pure JSON while the warning shows).
type fileNotes struct {
	model, labels string
}

// loadFile loads a weights file that no manifest describes. The
// architecture and the number of classes come from its tensors (the same
// code as the page's); torchvision's official checkpoints are recognised
// by their SHA-256 and get their own preprocessing, any other ImageNet's.
// The notes are only given once the model has loaded, so that a bad file
// ends in its one error line.
func loadFile(path, archName string, v1 bool, labelsFile string) (*classifier.Classifier, fileNotes, error) {
	data, err := readLimited(path, maxWeightsBytes, checkpoint.HeadBytes, checkpoint.Sniff)
	if err != nil {
		return nil, fileNotes{}, err
	}
	name := filepath.Base(path)
	ckpt, err := checkpoint.Read(data)
	if err != nil {
		return nil, fileNotes{}, fmt.Errorf("%s: %w", name, err)
	}
	cfg, err := ckpt.InferArch()
	if err != nil {
		return nil, fileNotes{}, fmt.Errorf("%s: %w", name, err)
	}
	if archName != "" && !strings.EqualFold(archName, cfg.Name()) {
		return nil, fileNotes{}, fmt.Errorf("%s holds a %s, not a %s", name, cfg.Name(), archName)
	}
	if v1 {
		cfg.Variant = arch.V1
	}
	spec := preprocess.ImageNet
	notes := fileNotes{model: fmt.Sprintf("%s: %s (%s), %d classes", name, cfg.Name(), cfg.Variant, cfg.NumClasses)}
	sum := sha256.Sum256(data)
	if off := weights.MatchOfficial(weights.Officials, hex.EncodeToString(sum[:]), cfg.Name()); off != nil && cfg.NumClasses == 1000 {
		spec = off.Spec()
		notes.model = fmt.Sprintf("%s: %s", name, off.Title())
	} else if labelsFile == "" && cfg.NumClasses == 1000 {
		notes.labels = "labels: ImageNet's, assumed for 1000 classes (give -labels otherwise)"
	}
	labels, err := readLabels(labelsFile, cfg.NumClasses)
	if err != nil {
		return nil, fileNotes{}, err
	}
	clf, err := classifier.New(classifier.Options{Config: cfg, Spec: spec, Labels: labels}, ckpt)
	if err != nil {
		return nil, fileNotes{}, fmt.Errorf("%s: %w", name, err)
	}
	return clf, notes, nil
}

// readLimited reads a file of at most limit bytes, refusing a larger one
// (or an endless one, such as /dev/zero) with a clear error. sniff, if not
// nil, checks the first bytes (at most headBytes) before the rest is read,
// so that a stream of the wrong kind fails without filling memory.
func readLimited(path string, limit int64, headBytes int, sniff func(head []byte) error) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > limit {
		return nil, fmt.Errorf("%s is %d bytes, over the %d-byte limit", path, fi.Size(), limit)
	}
	head := make([]byte, headBytes)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if sniff != nil {
		if err := sniff(head[:n]); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	data, err := io.ReadAll(io.MultiReader(bytes.NewReader(head[:n]), io.LimitReader(f, limit+1-int64(n))))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than the %d-byte limit", path, limit)
	}
	return data, nil
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
	data, err := readLimited(path, 64<<20, 0, nil)
	if err != nil {
		return nil, err
	}
	labels, err := weights.ParseLabels(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(labels) != classes {
		return nil, fmt.Errorf("%s has %d lines, but the model has %d classes", path, len(labels), classes)
	}
	return labels, nil
}

// ms formats a duration in milliseconds with one decimal.
func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
