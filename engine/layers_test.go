package engine_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestEngineImportsNothingAbove: the engine is the ground floor. No file
// under engine/, tests included, imports the packages built on it (the
// weights folder, the browser worker, the commands, the WebGPU backend,
// the tools), so that it can be read and reused on its own.
func TestEngineImportsNothingAbove(t *testing.T) {
	const module = "github.com/inbrowser/resnet/"
	above := []string{"weights", "wasm", "cmd", "webgpu", "tools", "bench", "e2e"}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			for _, a := range above {
				if p == module+a || strings.HasPrefix(p, module+a+"/") {
					t.Errorf("engine/%s imports %s", path, p)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
