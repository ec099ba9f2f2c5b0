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

// rewriteIndex points index.html's quoted references to assets ("app.js")
// at their hashed names, and adds an import map so that the modules'
// own imports ("./resnet.js") reach the hashed files too.
func rewriteIndex(html string, assets map[string]string, modules []string) (string, error) {
	for name, hashed := range assets {
		html = strings.ReplaceAll(html, `"`+name+`"`, `"`+hashed+`"`)
	}
	sort.Strings(modules)
	imports := map[string]string{}
	for _, m := range modules {
		imports["./"+m] = "./" + assets[m]
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
	return html[:i] + `<script type="importmap">` + string(importMap) + "</script>\n" + html[i:], nil
}
