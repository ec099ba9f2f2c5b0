package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
)

// engineBuilds are the two builds of ./wasm. Browsers without WebAssembly
// SIMD cannot even compile the SIMD one, so the page picks by feature
// detection (site/resnet.js).
var engineBuilds = []struct {
	name         string
	goexperiment string
}{
	{"resnet-simd.wasm", "simd"},
	{"resnet.wasm", ""},
}

// addEngine compiles the engine builds in parallel and adds them and Go's
// wasm_exec.js, which must come from the same toolchain.
func (d *dist) addEngine(root string) error {
	tmp, err := os.MkdirTemp("", "build-wasm-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	var wg sync.WaitGroup
	errs := make([]error, len(engineBuilds))
	for i, b := range engineBuilds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = compileEngine(root, b.goexperiment, filepath.Join(tmp, b.name))
		}()
	}
	wg.Wait()
	for i, b := range engineBuilds {
		if errs[i] != nil {
			return errs[i]
		}
		data, err := os.ReadFile(filepath.Join(tmp, b.name))
		if err != nil {
			return err
		}
		if _, err := d.addHashed(b.name, data); err != nil {
			return err
		}
	}
	goroot, err := goEnv("GOROOT")
	if err != nil {
		return err
	}
	wasmExec, err := os.ReadFile(filepath.Join(goroot, "lib", "wasm", "wasm_exec.js"))
	if err != nil {
		return err
	}
	_, err = d.addHashed("wasm_exec.js", wasmExec)
	return err
}

// compileEngine builds ./wasm for the browser, without symbol tables or
// DWARF (smaller downloads; panics still print function names).
func compileEngine(root, goexperiment, out string) error {
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, "./wasm")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "GOEXPERIMENT="+goexperiment)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building %s (GOEXPERIMENT=%s): %v\n%s", filepath.Base(out), goexperiment, err, msg)
	}
	return nil
}
