package main

import (
	"io/fs"
	"strings"
	"testing"
)

// FuzzFileName: a URL path either is refused or names a file inside the
// build: a valid relative path with no "..", backslash or NUL.
func FuzzFileName(f *testing.F) {
	for _, p := range []string{"/", "/index.html", "/models/x.safetensors", "/../secret", "/a/../../b", "/a\\..\\b", "//etc/passwd", "/a/./b"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, urlPath string) {
		name, ok := fileName(urlPath)
		if !ok {
			return
		}
		if !fs.ValidPath(name) || name == "." || strings.ContainsAny(name, "\\\x00") || strings.Contains("/"+name+"/", "/../") {
			t.Fatalf("fileName(%q) = %q, which may leave the build", urlPath, name)
		}
	})
}
