package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/inbrowser/resnet/weights"
)

// browserModel is one model of dist/manifest.json, the page's list of
// models: the entry of the weights folder's manifest.json (the one source
// of truth) with the labels inlined and the URL of the hashed weights file.
type browserModel struct {
	Name       string    `json:"name"`
	Arch       string    `json:"arch"`
	Variant    string    `json:"variant"`
	Classes    int       `json:"classes"`
	InputSize  int       `json:"input_size"`
	Resize     int       `json:"resize"`
	Crop       int       `json:"crop"`
	Mean       []float32 `json:"mean"`
	Std        []float32 `json:"std"`
	Labels     []string  `json:"labels"`
	DType      string    `json:"dtype"`
	URL        string    `json:"url"` // relative to manifest.json
	Bytes      int64     `json:"bytes"`
	SHA256     string    `json:"sha256"`
	Accuracy   float64   `json:"accuracy"`
	EvalImages int       `json:"eval_images,omitempty"`
	Source     string    `json:"source"`
	Default    bool      `json:"default,omitempty"`
}

// addModels publishes every model of weightsDir/manifest.json whose
// weights file is there too, after checking its size and hash. Models whose
// file is absent (not trained or fetched here) are left out with a warning.
func (d *dist) addModels(weightsDir string) error {
	m, err := weights.LoadDir(weightsDir)
	if err != nil {
		return err
	}
	def := m.Default()
	var published []browserModel
	for i := range m.Models {
		md := &m.Models[i]
		data, err := os.ReadFile(md.Path(weightsDir))
		if errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(os.Stderr, "build-wasm: leaving out %s: %s is missing\n", md.Name, md.Path(weightsDir))
			continue
		}
		if err != nil {
			return err
		}
		if err := md.Check(data); err != nil {
			return err
		}
		labels, err := md.Labels()
		if err != nil {
			return err
		}
		url, err := d.addHashed("models/"+md.File, data)
		if err != nil {
			return err
		}
		published = append(published, browserModel{
			Name: md.Name, Arch: md.Arch, Variant: md.Variant, Classes: md.Classes,
			InputSize: md.InputSize, Resize: md.Resize, Crop: md.Crop, Mean: md.Mean, Std: md.Std,
			Labels: labels, DType: md.DType, URL: url, Bytes: md.Bytes, SHA256: md.SHA256,
			Accuracy: md.Accuracy, EvalImages: md.EvalImages, Source: md.Source, Default: md == def,
		})
	}
	if len(published) == 0 {
		return fmt.Errorf("none of the models of %s has its weights file there (%v)", filepath.Join(weightsDir, weights.ManifestFile), m.Names())
	}
	// official: torchvision's checkpoints that the page recognises when a
	// person adds one (and lists in its help).
	data, err := json.MarshalIndent(map[string]any{"version": 1, "models": published, "official": weights.Officials}, "", "  ")
	if err != nil {
		return err
	}
	return d.add("manifest.json", append(data, '\n'))
}
