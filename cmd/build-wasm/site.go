package main

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// addSite adds the files of the site directory under hashed names, and
// index.html rewritten to refer to them.
func (d *dist) addSite(dir string) error {
	var index []byte
	var modules []string
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		if name == "index.html" {
			index = data
			return nil
		}
		if strings.HasSuffix(name, ".js") {
			modules = append(modules, name)
		}
		_, err = d.addHashed(name, data)
		return err
	})
	if err != nil {
		return err
	}
	if index == nil {
		return fmt.Errorf("%s has no index.html", dir)
	}
	// Generated from the engine rather than kept in the site.
	modules = append(modules, "viridis.js")
	if _, err := d.addHashed("viridis.js", viridisModule()); err != nil {
		return err
	}
	html, err := rewriteIndex(string(index), d.assets, modules)
	if err != nil {
		return err
	}
	return d.add("index.html", []byte(html))
}

// workerScript is the site's one script that is not a module of the
// page: the Web Worker's (see site/worker.js).
const workerScript = "worker.js"

// rewriteIndex points index.html's quoted references to assets ("app.js")
// at their hashed names, and adds an import map so that the modules'
// own imports ("./resnet.js") reach the hashed files too, and a
// modulepreload link for each module the page does not load itself, so
// that all of them are fetched at once rather than a level of imports at
// a time (on a first visit at 50 Mbit/s the modules imported by app.js
// came 0.2 s after it).
func rewriteIndex(html string, assets map[string]string, modules []string) (string, error) {
	for name, hashed := range assets {
		html = strings.ReplaceAll(html, `"`+name+`"`, `"`+hashed+`"`)
	}
	sort.Strings(modules)
	imports := map[string]string{}
	var preloads strings.Builder
	for _, m := range modules {
		imports["./"+m] = "./" + assets[m]
		if m != workerScript && !strings.Contains(html, `"`+assets[m]+`"`) {
			fmt.Fprintf(&preloads, "<link rel=\"modulepreload\" href=\"%s\">\n", assets[m])
		}
	}
	importMap, err := json.Marshal(map[string]any{"imports": imports})
	if err != nil {
		return "", err
	}
	// An import map must come before the first module script.
	const firstModule = `<script type="module"`
	i := strings.Index(html, firstModule)
	if i < 0 {
		return "", fmt.Errorf("index.html has no %s> to put the import map before", firstModule)
	}
	return html[:i] + `<script type="importmap">` + string(importMap) + "</script>\n" + preloads.String() + html[i:], nil
}
