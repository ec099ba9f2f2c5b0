package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/inbrowser/resnet/weights"
)

// addModels publishes every model of weightsDir/manifest.json (the one
// source of truth) whose weights file is there too, after checking its size
// and hash, as dist/manifest.json, the page's list of models: each entry a
// weights.PageModel, with the labels inlined and the URL of the hashed
// weights file. Models whose file is absent (not trained or fetched here)
// are left out with a warning.
func (d *dist) addModels(weightsDir string) error {
	m, err := weights.LoadDir(weightsDir)
	if err != nil {
		return err
	}
	def := m.Default()
	var published []weights.PageModel
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
		pm := weights.PageModel{Model: *md, ClassNames: labels, URL: url}
		pm.Default = md == def
		published = append(published, pm)
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
