package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
)

// builtFile is one file of the output directory.
type builtFile struct {
	name   string // slash-separated path in the output, e.g. "resnet.1a2b3c4d5e.wasm"
	size   int
	gz, br int // sizes of the compressed siblings; 0 when there are none
}

// dist is an output directory being written.
type dist struct {
	dir    string
	files  []*builtFile
	assets map[string]string // file name as the sources use it -> hashed name
}

// build writes the whole app into out, replacing a previous build there.
// It writes into a fresh directory first, so a failed build leaves the old
// one intact.
func build(root, weightsDir, out string) ([]*builtFile, error) {
	if err := checkReplaceable(out); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(filepath.Clean(out)), 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(filepath.Clean(out)), ".build-wasm-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	// MkdirTemp makes the directory 0700; a web server running as another
	// user must be able to read the site.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, err
	}
	d := &dist{dir: tmp, assets: map[string]string{}}

	if err := d.addEngine(root); err != nil {
		return nil, err
	}
	if err := d.addModels(weightsDir); err != nil {
		return nil, err
	}
	if err := d.addSite(filepath.Join(root, "site")); err != nil {
		return nil, err
	}
	assets, err := json.MarshalIndent(d.assets, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := d.add("assets.json", append(assets, '\n')); err != nil {
		return nil, err
	}
	if err := d.compress(); err != nil {
		return nil, err
	}
	if err := os.RemoveAll(out); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, out); err != nil {
		return nil, err
	}
	return d.files, nil
}

// checkReplaceable refuses to delete a directory that is not a previous
// build (a mistyped -out must not remove someone's files).
func checkReplaceable(out string) error {
	entries, err := os.ReadDir(out)
	if os.IsNotExist(err) || err == nil && len(entries) == 0 {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(out, "assets.json")); err != nil {
		return fmt.Errorf("refusing to replace %s: it is not empty and holds no assets.json from an earlier build", out)
	}
	return nil
}

// add writes data as name (slash-separated) into the output.
func (d *dist) add(name string, data []byte) error {
	p := filepath.Join(d.dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return err
	}
	d.files = append(d.files, &builtFile{name: name, size: len(data)})
	return nil
}

// addHashed writes data under its content-hashed name (dir/stem.HASH.ext)
// and records it in the asset map under its plain name.
func (d *dist) addHashed(name string, data []byte) (string, error) {
	hashed := hashedName(name, data)
	if err := d.add(hashed, data); err != nil {
		return "", err
	}
	d.assets[name] = hashed
	return hashed, nil
}

// hashLen is how many hex digits of the SHA-256 a hashed name carries.
const hashLen = 10

// hashedName inserts the start of data's SHA-256 before the extension:
// "models/a.safetensors" -> "models/a.0123456789.safetensors".
func hashedName(name string, data []byte) string {
	sum := sha256.Sum256(data)
	dir, file := path.Split(name)
	stem, ext, _ := strings.Cut(file, ".")
	return dir + stem + "." + hex.EncodeToString(sum[:])[:hashLen] + "." + ext
}

// compress writes .gz and .br siblings of the compressible files, two at
// a time (brotli's best level is slow).
func (d *dist) compress() error {
	var wg sync.WaitGroup
	errs := make([]error, len(d.files))
	sem := make(chan struct{}, 2)
	for i, f := range d.files {
		if !compressible[path.Ext(f.name)] {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			f.gz, f.br, errs[i] = compressFile(filepath.Join(d.dir, filepath.FromSlash(f.name)))
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
