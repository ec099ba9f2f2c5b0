package weights

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ManifestFile is the manifest's name inside a weights folder.
const ManifestFile = "manifest.json"

// ImageNetLabelsFile is the embedded list of the 1000 ImageNet-1K class
// names in torchvision's output order, written by tools/imagenet_labels.py.
const ImageNetLabelsFile = "imagenet-classes.txt"

// ImageNetLabels returns the 1000 ImageNet-1K class names, index i naming
// output i of a torchvision ImageNet classifier.
func ImageNetLabels() ([]string, error) {
	data, err := files.ReadFile(ImageNetLabelsFile)
	if err != nil {
		return nil, err
	}
	labels, err := ParseLabels(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ImageNetLabelsFile, err)
	}
	if len(labels) != 1000 {
		return nil, fmt.Errorf("%s has %d lines, want 1000", ImageNetLabelsFile, len(labels))
	}
	return labels, nil
}

// LoadDir reads dir/manifest.json from disk rather than the embedded copy,
// so that models fetched or trained after this binary was built are found.
// A missing manifest is an error saying how to get a model; there is no
// fallback to the embedded one, whose weight files need not be in dir.
// Labels files still come from the embedded ones, or from dir when a name
// is not embedded.
func LoadDir(dir string) (*Manifest, error) {
	p := filepath.Join(dir, ManifestFile)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no %s: %s", p, howToGet(dir))
	}
	if err != nil {
		return nil, err
	}
	if isEmpty(data) {
		return nil, fmt.Errorf("%s lists no models yet: %s", p, howToGet(dir))
	}
	m, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	m.setDir(dir)
	return m, nil
}

// LoadDirForUpdate is LoadDir for adding models: a missing manifest, or
// one listing no models yet (as the repository's does before training),
// gives an empty manifest rather than an error. Anything else that Parse
// rejects is still an error, so a damaged manifest is never overwritten.
func LoadDirForUpdate(dir string) (*Manifest, error) {
	p := filepath.Join(dir, ManifestFile)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) || err == nil && isEmpty(data) {
		return &Manifest{Version: 1, Models: []Model{}}, nil
	}
	if err != nil {
		return nil, err
	}
	m, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	m.setDir(dir)
	return m, nil
}

func (m *Manifest) setDir(dir string) {
	for i := range m.Models {
		m.Models[i].dir = dir
	}
}

func howToGet(dir string) string {
	return fmt.Sprintf("get a model with `resnet weights fetch resnet18 -dir %s` (or train one with tools/train/train_fashion.py)", dir)
}

// isEmpty reports whether data is exactly a version 1 manifest with an
// empty model list, which Parse rejects because nothing can be classified
// with it.
func isEmpty(data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m struct {
		Version int               `json:"version"`
		Models  []json.RawMessage `json:"models"`
	}
	return dec.Decode(&m) == nil && !dec.More() && m.Version == 1 && len(m.Models) == 0
}
