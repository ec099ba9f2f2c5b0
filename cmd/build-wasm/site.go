package main

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// addSite adds the files of the site directory under hashed names, and
// index.html rewritten to refer to them.
func (d *dist) addSite(dir string) error {
	var index []byte
	var modules []string
	sources := map[string][]byte{} // the site's scripts, for their imports
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
			sources[name] = data
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
	html, err := rewriteIndex(string(index), d.assets, modules, sources)
	if err != nil {
		return err
	}
	return d.add("index.html", []byte(html))
}

// moduleScript finds index.html's entry module, and staticImport the
// site's own imports ("import { x } from './y.js';").
var (
	moduleScript = regexp.MustCompile(`<script type="module" src="([^"]+)"`)
	staticImport = regexp.MustCompile(`(?m)^import [^;]*? from '\./([^']+)';`)
)

// rewriteIndex points index.html's quoted references to assets ("app.js")
// at their hashed names, and adds an import map so that the modules'
// own imports ("./resnet.js") reach the hashed files too. Every module the
// entry imports, directly or not, gets a modulepreload link: the browser
// then fetches and compiles them all at once, instead of level by level
// as it finds each import, which delays the engine's start.
func rewriteIndex(html string, assets map[string]string, modules []string, sources map[string][]byte) (string, error) {
	entry := moduleScript.FindStringSubmatch(html)
	if entry == nil {
		return "", fmt.Errorf("index.html has no <script type=\"module\" src=...> to put the import map before")
	}
	var preloads strings.Builder
	for _, m := range importedBy(entry[1], sources) {
		hashed, ok := assets[m]
		if !ok {
			return "", fmt.Errorf("a module imports ./%s, which the site lacks", m)
		}
		fmt.Fprintf(&preloads, "<link rel=\"modulepreload\" href=\"%s\">\n", hashed)
	}
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
	// An import map must come before the first module script, and before
	// the preloads, which would otherwise resolve modules without it.
	i := strings.Index(html, `<script type="module"`)
	return html[:i] + `<script type="importmap">` + string(importMap) + "</script>\n" + preloads.String() + html[i:], nil
}

// importedBy lists, sorted, the modules entry imports directly or through
// others, from the sources of the site's scripts.
func importedBy(entry string, sources map[string][]byte) []string {
	seen := map[string]bool{}
	var visit func(string)
	visit = func(m string) {
		for _, imp := range staticImport.FindAllSubmatch(sources[m], -1) {
			if name := string(imp[1]); !seen[name] {
				seen[name] = true
				visit(name)
			}
		}
	}
	visit(entry)
	out := make([]string, 0, len(seen))
	for m := range seen {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}
