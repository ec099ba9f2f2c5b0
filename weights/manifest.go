// Package weights describes the published model weights: the manifest
// written by tools/train/train_fashion.py and the class label lists, both
// embedded in the binary. The weight files themselves (.safetensors) are not
// embedded; they are read from disk or fetched next to the manifest.
package weights

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/inbrowser/resnet/engine/arch"
)

//go:embed manifest.json *.txt
var files embed.FS

// Manifest is the parsed manifest.json.
type Manifest struct {
	Version int     `json:"version"`
	Models  []Model `json:"models"`
}

// Model is one published set of weights and everything needed to use it.
type Model struct {
	Name       string    `json:"name"`       // e.g. "fashion-resnet18"
	Arch       string    `json:"arch"`       // torchvision function name, e.g. "resnet18"
	Variant    string    `json:"variant"`    // "v1.5" (torchvision) or "v1"
	Classes    int       `json:"classes"`    // outputs of the fc layer
	InputSize  int       `json:"input_size"` // side of the square network input
	Resize     int       `json:"resize"`     // shorter side after the bilinear resize
	Crop       int       `json:"crop"`       // side of the center crop taken after the resize
	Mean       []float32 `json:"mean"`       // per-channel normalization, RGB
	Std        []float32 `json:"std"`
	LabelsFile string    `json:"labels"`   // embedded labels file, one class name a line
	DType      string    `json:"dtype"`    // tensor dtype in the file: "F16", "F32" or "I8" (int8 conv and fc weights, the rest F32)
	File       string    `json:"file"`     // safetensors file name, next to the manifest
	Bytes      int64     `json:"bytes"`    // size of File
	SHA256     string    `json:"sha256"`   // lowercase hex digest of File
	Accuracy   float64   `json:"accuracy"` // top-1 on the test set, with these exact weights
	EvalImages int       `json:"eval_images,omitempty"`
	Training   *Training `json:"training,omitempty"`
	// Quantized: for an int8 file made from a float one, what quantizing
	// cost on the same EvalImages test images.
	Quantized *Quantized `json:"quantized,omitempty"`
	Source    string     `json:"source"` // where the weights come from
	Default   bool       `json:"default,omitempty"`

	// dir is the folder LoadDir read this entry from ("" for the embedded
	// manifest): a labels file that is not embedded is looked for there.
	dir string
}

// Training records how the weights were produced.
type Training struct {
	Epochs         int     `json:"epochs"`
	Seconds        float64 `json:"seconds"`
	Seed           int64   `json:"seed"`
	Batch          int     `json:"batch,omitempty"`
	Optimizer      string  `json:"optimizer,omitempty"`
	Augmentation   string  `json:"augmentation,omitempty"`
	LabelSmoothing float64 `json:"label_smoothing,omitempty"`
	// ZeroInitResidual: torchvision's zero_init_residual=True was used
	// (an initialisation choice; the network is unchanged).
	ZeroInitResidual bool `json:"zero_init_residual,omitempty"`
	Threads          int  `json:"threads,omitempty"`
}

// Quantized records the float file an int8 one was made from (by resnet
// convert -dtype int8) and the two files' results on the same test images
// (cmd/fashion-eval): the model's Accuracy is the int8 file's.
type Quantized struct {
	FromDType    string  `json:"from_dtype"` // "F16" or "F32"
	FromBytes    int64   `json:"from_bytes"`
	FromSHA256   string  `json:"from_sha256"`
	FromAccuracy float64 `json:"from_accuracy"` // the float file's top-1 accuracy
	// Agreement is the fraction of the images on which both files give the
	// same top-1 class.
	Agreement float64 `json:"agreement"`
}

// Load parses the embedded manifest.
func Load() (*Manifest, error) {
	data, err := files.ReadFile("manifest.json")
	if err != nil {
		return nil, err
	}
	m, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("embedded manifest.json: %w", err)
	}
	return m, nil
}

// Parse decodes and validates a manifest. Labels files are looked up among
// the embedded ones. Unknown fields are an error, so the Go and Python sides
// cannot drift apart silently.
func Parse(data []byte) (*Manifest, error) {
	var m Manifest
	if err := decodeStrict(data, &m); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if m.Version != 1 {
		return nil, fmt.Errorf("manifest: unsupported version %d (want 1)", m.Version)
	}
	if len(m.Models) == 0 {
		return nil, errors.New("manifest: no models")
	}
	seen := map[string]bool{}
	defaults := 0
	for i := range m.Models {
		md := &m.Models[i]
		if err := md.validate(); err != nil {
			if md.Name != "" {
				return nil, fmt.Errorf("manifest: model %q: %w", md.Name, err)
			}
			return nil, fmt.Errorf("manifest: model %d: %w", i, err)
		}
		if seen[md.Name] {
			return nil, fmt.Errorf("manifest: duplicate model name %q", md.Name)
		}
		seen[md.Name] = true
		if md.Default {
			defaults++
		}
	}
	if defaults > 1 {
		return nil, fmt.Errorf("manifest: %d models marked default (want at most 1)", defaults)
	}
	return &m, nil
}

// decodeStrict decodes one JSON value into v, refusing unknown fields and
// trailing data.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON object")
	}
	return nil
}

// MaxSide bounds input_size, resize and crop, so that an entry cannot
// make a reader allocate an image of any size it likes.
const MaxSide = 4096

// validate checks an entry of a weights folder's manifest: the model
// (validateModel) and the files it names there.
func (md *Model) validate() error {
	if err := md.validateModel(); err != nil {
		return err
	}
	switch {
	case md.LabelsFile == "":
		return errors.New("missing labels")
	case md.File == "":
		return errors.New("missing file")
	case md.File != path.Base(md.File) || md.File == "." || md.File == ".." || strings.Contains(md.File, "\\"):
		return fmt.Errorf("file %q must be a plain file name", md.File)
	case !strings.HasSuffix(md.File, ".safetensors"):
		return fmt.Errorf("file %q is not a .safetensors file", md.File)
	}
	return nil
}

// validateModel checks what every entry holds, in a manifest on disk or
// as the page passes it (PageModel): the network, its preprocessing, and
// the size and hash of its weights.
func (md *Model) validateModel() error {
	switch {
	case md.Name == "":
		return errors.New("missing name")
	case strings.ContainsAny(md.Name, "/\\ \t\n"):
		return errors.New("name must not contain slashes or spaces")
	case md.Arch == "":
		return errors.New("missing arch")
	case md.Classes <= 0:
		return errors.New("classes must be positive")
	case md.InputSize <= 0 || md.Resize <= 0 || md.Crop <= 0:
		return errors.New("input_size, resize and crop must be positive")
	case md.Resize > MaxSide:
		return fmt.Errorf("resize %d larger than %d", md.Resize, MaxSide)
	case md.Crop > md.Resize:
		return fmt.Errorf("crop %d larger than resize %d", md.Crop, md.Resize)
	case md.Crop != md.InputSize:
		return fmt.Errorf("crop %d differs from input_size %d", md.Crop, md.InputSize)
	case len(md.Mean) != 3 || len(md.Std) != 3:
		return errors.New("mean and std need 3 values each")
	case md.DType != "F16" && md.DType != "F32" && md.DType != "I8":
		return fmt.Errorf("dtype %q (want F16, F32 or I8)", md.DType)
	case md.Bytes <= 0:
		return errors.New("bytes must be positive")
	case !IsSHA256(md.SHA256):
		return fmt.Errorf("sha256 %q is not 64 lowercase hex digits", md.SHA256)
	case md.Accuracy < 0 || md.Accuracy > 1:
		return fmt.Errorf("accuracy %v outside [0, 1]", md.Accuracy)
	case md.Source == "":
		return errors.New("missing source")
	}
	for i, s := range md.Std {
		if !(s > 0) {
			return fmt.Errorf("std[%d] = %v must be positive", i, s)
		}
	}
	if q := md.Quantized; q != nil {
		switch {
		case md.DType != "I8":
			return fmt.Errorf("quantized is for I8 files, not %s", md.DType)
		case q.FromDType != "F16" && q.FromDType != "F32":
			return fmt.Errorf("quantized.from_dtype %q (want F16 or F32)", q.FromDType)
		case q.FromBytes <= 0:
			return errors.New("quantized.from_bytes must be positive")
		case !IsSHA256(q.FromSHA256):
			return fmt.Errorf("quantized.from_sha256 %q is not 64 lowercase hex digits", q.FromSHA256)
		case q.FromAccuracy < 0 || q.FromAccuracy > 1 || q.Agreement < 0 || q.Agreement > 1:
			return errors.New("quantized.from_accuracy and agreement must be in [0, 1]")
		case md.EvalImages <= 0:
			return errors.New("quantized needs eval_images, the number of images both files were measured on")
		}
	}
	if _, err := md.Config(); err != nil {
		return err
	}
	return nil
}

// IsSHA256 reports whether s is a SHA-256 digest in lowercase hex.
func IsSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Names lists the model names in manifest order.
func (m *Manifest) Names() []string {
	names := make([]string, len(m.Models))
	for i := range m.Models {
		names[i] = m.Models[i].Name
	}
	return names
}

// Model returns the model called name.
func (m *Manifest) Model(name string) (*Model, error) {
	for i := range m.Models {
		if m.Models[i].Name == name {
			return &m.Models[i], nil
		}
	}
	return nil, fmt.Errorf("unknown model %q (known: %s)", name, strings.Join(m.Names(), ", "))
}

// Default returns the model marked default, or the first one if none is.
func (m *Manifest) Default() *Model {
	for i := range m.Models {
		if m.Models[i].Default {
			return &m.Models[i]
		}
	}
	if len(m.Models) == 0 {
		return nil
	}
	return &m.Models[0]
}

// Config is the engine architecture of the model (base width 64, as in
// torchvision).
func (md *Model) Config() (arch.Config, error) {
	c, err := arch.ParseName(md.Arch)
	if err != nil {
		return arch.Config{}, err
	}
	if c.Variant, err = arch.ParseVariant(md.Variant); err != nil {
		return arch.Config{}, err
	}
	c.NumClasses = md.Classes
	return c, c.Validate()
}

// Labels returns the class names, one per output, read from the embedded
// labels file or, for a manifest LoadDir read, from a plain-named file next
// to it when no embedded file has that name.
func (md *Model) Labels() ([]string, error) {
	data, err := files.ReadFile(md.LabelsFile)
	if err != nil && md.dir != "" && md.LabelsFile == filepath.Base(md.LabelsFile) && md.LabelsFile != ".." {
		data, err = os.ReadFile(filepath.Join(md.dir, md.LabelsFile))
	}
	if err != nil {
		return nil, fmt.Errorf("model %s: labels: %w", md.Name, err)
	}
	labels, err := ParseLabels(data)
	if err != nil {
		return nil, fmt.Errorf("model %s: labels file %s: %w", md.Name, md.LabelsFile, err)
	}
	if len(labels) != md.Classes {
		return nil, fmt.Errorf("model %s: labels file %s has %d lines, want %d classes", md.Name, md.LabelsFile, len(labels), md.Classes)
	}
	return labels, nil
}

// ParseLabels splits a labels file into class names, one a line (LF or
// CRLF, final newline optional). A blank line is an error: it would shift
// every following class name onto the wrong output.
func ParseLabels(data []byte) ([]string, error) {
	text := strings.TrimRight(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	if text == "" {
		return nil, nil
	}
	labels := strings.Split(text, "\n")
	for i, l := range labels {
		if strings.TrimSpace(l) == "" {
			return nil, fmt.Errorf("line %d is empty", i+1)
		}
	}
	return labels, nil
}

// Path is where the weights file lives when the manifest's files sit in dir.
func (md *Model) Path(dir string) string { return filepath.Join(dir, md.File) }

// Check reports whether data is exactly the weights file the manifest
// describes (size and SHA-256).
func (md *Model) Check(data []byte) error {
	if int64(len(data)) != md.Bytes {
		return fmt.Errorf("model %s: %s has %d bytes, want %d", md.Name, md.File, len(data), md.Bytes)
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != md.SHA256 {
		return fmt.Errorf("model %s: %s has sha256 %s, want %s", md.Name, md.File, got, md.SHA256)
	}
	return nil
}
