// Command fashion-eval classifies the Fashion-MNIST test images with a
// model of weights/manifest.json, the way the CLI and the page do (the
// manifest's preprocessing and labels), and prints its top-1 accuracy. With
// -weights it uses another file for the same model (an int8 conversion,
// say); with -against it runs a second file too and counts the images on
// which both give the same top-1 class:
//
//	go run ./cmd/resnet convert weights/fashion-resnet18.safetensors /tmp/r18-int8.safetensors -dtype int8
//	go run ./cmd/fashion-eval -model fashion-resnet18 -weights /tmp/r18-int8.safetensors -against weights/fashion-resnet18.safetensors
//
// -json prints the numbers as one JSON object instead.
package main

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/inbrowser/resnet/engine/checkpoint"
	"github.com/inbrowser/resnet/engine/classifier"
	"github.com/inbrowser/resnet/tools/fashionmnist"
	"github.com/inbrowser/resnet/weights"
)

// File is one weights file's result.
type File struct {
	Path     string  `json:"path"`
	DType    string  `json:"dtype"` // I8 if any tensor is int8, else the first tensor's
	Bytes    int64   `json:"bytes"`
	SHA256   string  `json:"sha256"`
	Correct  int     `json:"correct"`
	Accuracy float64 `json:"accuracy"`
}

// Result is what fashion-eval prints.
type Result struct {
	Model   string `json:"model"`
	Images  int    `json:"images"`
	Weights File   `json:"weights"`
	Against *File  `json:"against,omitempty"`
	// Agree counts the images whose top-1 class is the same from both files.
	Agree     int     `json:"agree,omitempty"`
	Agreement float64 `json:"agreement,omitempty"`
}

func main() {
	fs := flag.NewFlagSet("fashion-eval", flag.ContinueOnError)
	dir := fs.String("dir", "weights", "folder holding manifest.json and the weight files")
	model := fs.String("model", "", "manifest name (default: the manifest's default model)")
	file := fs.String("weights", "", "weights file to evaluate (default: the model's own file)")
	against := fs.String("against", "", "a second weights file of the same model, to compare top-1 classes with")
	n := fs.Int("n", 0, "use only the first n test images (default all 10,000)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if fs.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "fashion-eval: unexpected arguments", fs.Args())
		os.Exit(2)
	}
	r, err := run(*dir, *model, *file, *against, *n)
	if err == nil {
		err = print(os.Stdout, r, *asJSON)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fashion-eval:", err)
		os.Exit(1)
	}
}

func run(dir, model, file, against string, n int) (*Result, error) {
	m, err := weights.LoadDir(dir)
	if err != nil {
		return nil, err
	}
	md := m.Default()
	if model != "" {
		if md, err = m.Model(model); err != nil {
			return nil, err
		}
	}
	if file == "" {
		file = md.Path(dir)
	}
	images, err := fashionmnist.Load(fashionmnist.TestImages, fashionmnist.TestLabels)
	if err != nil {
		return nil, err
	}
	if n < 0 || n > len(images) {
		return nil, fmt.Errorf("-n %d: the test set has %d images", n, len(images))
	}
	if n > 0 {
		images = images[:n]
	}
	r := &Result{Model: md.Name, Images: len(images)}
	top, err := evaluate(md, file, images, &r.Weights)
	if err != nil {
		return nil, err
	}
	if against != "" {
		r.Against = &File{}
		other, err := evaluate(md, against, images, r.Against)
		if err != nil {
			return nil, err
		}
		for i := range top {
			if top[i] == other[i] {
				r.Agree++
			}
		}
		r.Agreement = float64(r.Agree) / float64(len(images))
	}
	return r, nil
}

// evaluate classifies images with the weights in path, fills f and returns
// each image's top-1 class.
func evaluate(md *weights.Model, path string, images []fashionmnist.Image, f *File) ([]int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	*f = File{Path: path, Bytes: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}
	ckpt, err := checkpoint.Read(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f.DType = fileDType(data)
	opts, err := md.Options()
	if err != nil {
		return nil, err
	}
	clf, err := classifier.New(opts, ckpt)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	top := make([]int, len(images))
	for i := range images {
		res, err := clf.Classify(images[i].Gray(), 1)
		if err != nil {
			return nil, err
		}
		top[i] = res.Top[0].Index
		if top[i] == images[i].Label {
			f.Correct++
		}
	}
	f.Accuracy = float64(f.Correct) / float64(len(images))
	return top, nil
}

// fileDType names a safetensors file's element type from its header: I8
// when it holds int8 tensors, else the type of its tensors ("mixed" if
// they differ); "" for a .pth.
func fileDType(data []byte) string {
	var header map[string]struct {
		DType string `json:"dtype"`
	}
	if len(data) < 8 {
		return ""
	}
	hl := binary.LittleEndian.Uint64(data)
	if hl > uint64(len(data)-8) || json.Unmarshal(data[8:8+hl], &header) != nil {
		return ""
	}
	seen := map[string]bool{}
	for name, e := range header {
		if name != "__metadata__" {
			seen[e.DType] = true
		}
	}
	switch {
	case seen["I8"]:
		return "I8"
	case len(seen) == 1:
		for dt := range seen {
			return dt
		}
	}
	return "mixed"
}

func print(w io.Writer, r *Result, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	line := func(f *File) string {
		return fmt.Sprintf("%s (%s, %d bytes): accuracy %.4f (%d of %d)", filepath.Base(f.Path), f.DType, f.Bytes, f.Accuracy, f.Correct, r.Images)
	}
	if _, err := fmt.Fprintf(w, "%s on %d Fashion-MNIST test images\n  %s\n", r.Model, r.Images, line(&r.Weights)); err != nil {
		return err
	}
	if r.Against == nil {
		return nil
	}
	_, err := fmt.Fprintf(w, "  %s\n  same top-1 on %.4f (%d of %d); accuracy %+.2f points, size %.3fx\n", line(r.Against),
		r.Agreement, r.Agree, r.Images, 100*(r.Weights.Accuracy-r.Against.Accuracy), float64(r.Weights.Bytes)/float64(r.Against.Bytes))
	return err
}
