package weights

import (
	"strings"
	"testing"
)

// FuzzParse: a manifest either fails with an error or every model in it
// has a valid architecture, a plain file name and a SHA-256.
func FuzzParse(f *testing.F) {
	data, err := files.ReadFile("manifest.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte(`{"version":1,"models":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			return
		}
		for i := range m.Models {
			md := &m.Models[i]
			if _, err := md.Config(); err != nil || !IsSHA256(md.SHA256) || strings.ContainsAny(md.File, `/\`) || md.Crop > md.Resize {
				t.Fatalf("accepted a bad model %+v (%v)", md, err)
			}
		}
	})
}

// FuzzParseLabels: labels are never blank, never hold a line break, and
// joined again give the text back (up to line endings and the final newline).
func FuzzParseLabels(f *testing.F) {
	f.Add([]byte("tench\ngoldfish\n"))
	f.Add([]byte("a\r\nb"))
	f.Add([]byte("\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		labels, err := ParseLabels(data)
		if err != nil {
			return
		}
		for i, l := range labels {
			if strings.TrimSpace(l) == "" || strings.ContainsAny(l, "\n") {
				t.Fatalf("label %d is %q", i, l)
			}
		}
		want := strings.TrimRight(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
		if got := strings.Join(labels, "\n"); got != want {
			t.Fatalf("labels join to %q, want %q", got, want)
		}
	})
}
