package main

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// addSite adds the files of the site directory under hashed names, and
// index.html rewritten to refer to them.
func (d *dist) addSite(dir string) error {
	var index []byte
	modules := map[string][]byte{}
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
		switch name := filepath.ToSlash(rel); {
		case name == "index.html":
			index = data
		case strings.HasSuffix(name, ".js"):
			modules[name] = data
		default:
			_, err = d.addHashed(name, data)
		}
		return err
	})
	if err != nil {
		return err
	}
	if index == nil {
		return fmt.Errorf("%s has no index.html", dir)
	}
	modules["viridis.js"] = viridisModule() // generated from the engine rather than kept in the site
	names := slices.Sorted(maps.Keys(modules))
	if err := d.addModules(modules); err != nil {
		return err
	}
	html, err := rewriteIndex(string(index), d.assets, names)
	if err != nil {
		return err
	}
	return d.add("index.html", []byte(html))
}

// siteImport matches a module's import of another site module: a static
// import at the start of a line (so not one quoted in a comment).
var siteImport = regexp.MustCompile(`(?m)^import [^;]* from '\./([\w-]+\.js)';`)

// addModules adds the site's scripts under hashed names, each module's
// imports of the others pointing at their hashed names, so that every file
// works wherever the build is served, without the page's help: resnet.js
// loaded by another page imports engine-code.js as the app does. A module
// is hashed once the modules it imports are, so its name changes with
// theirs. It empties modules.
func (d *dist) addModules(modules map[string][]byte) error {
	for len(modules) > 0 {
		added := 0
		for _, name := range slices.Sorted(maps.Keys(modules)) {
			ready := true
			data := siteImport.ReplaceAllStringFunc(string(modules[name]), func(imp string) string {
				dep := siteImport.FindStringSubmatch(imp)[1]
				hashed, ok := d.assets[dep]
				ready = ready && ok
				return strings.Replace(imp, "'./"+dep+"'", "'./"+hashed+"'", 1)
			})
			if !ready {
				continue
			}
			if _, err := d.addHashed(name, []byte(data)); err != nil {
				return err
			}
			delete(modules, name)
			added++
		}
		if added == 0 {
			return fmt.Errorf("site modules %s import each other in a cycle or import a module the site lacks", strings.Join(slices.Sorted(maps.Keys(modules)), ", "))
		}
	}
	return nil
}

// workerScript is the site's one script that is not a module of the
// page: the Web Worker's (see site/worker.js).
const workerScript = "worker.js"

// rewriteIndex points index.html's quoted references to assets ("app.js")
// at their hashed names; adds an import map, so that a script in the page
// (the browser tests, the console) imports "./resnet.js" by that name; and
// adds a modulepreload link for each module the page does not load itself,
// so that all of them are fetched at once rather than a level of imports
// at a time (on a first visit at 50 Mbit/s the modules imported by app.js
// came 0.2 s after it).
func rewriteIndex(html string, assets map[string]string, modules []string) (string, error) {
	for name, hashed := range assets {
		html = strings.ReplaceAll(html, `"`+name+`"`, `"`+hashed+`"`)
	}
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
