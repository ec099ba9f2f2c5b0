package weights

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"unicode/utf16"
)

// Put adds md to the manifest, replacing the entry with the same name in
// place or appending it. If md is the default, no other entry stays default
// (as tools/pyutil/manifest.py's upsert does), so the result still parses.
func (m *Manifest) Put(md Model) {
	if md.Default {
		for i := range m.Models {
			m.Models[i].Default = false
		}
	}
	for i := range m.Models {
		if m.Models[i].Name == md.Name {
			m.Models[i] = md
			return
		}
	}
	m.Models = append(m.Models, md)
}

// marshal encodes m as tools/pyutil/manifest.py writes it (Python's
// json.dump(m, f, indent=2) plus a newline): 2-space indent, the Python
// field names, no HTML escaping, non-ASCII as \uXXXX escapes.
func (m *Manifest) marshal() ([]byte, error) {
	out := *m
	if out.Models == nil {
		out.Models = []Model{} // "models": [], not null
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(&out); err != nil { // Encode ends with "\n"
		return nil, err
	}
	return asciiJSON(buf.Bytes()), nil
}

// asciiJSON escapes non-ASCII characters as Python's ensure_ascii does.
// Outside strings JSON is ASCII, so only string contents change.
func asciiJSON(b []byte) []byte {
	if isASCII(b) {
		return b
	}
	var out []byte
	for _, r := range string(b) {
		if r < 0x80 {
			out = append(out, byte(r))
			continue
		}
		for _, u := range utf16.Encode([]rune{r}) {
			out = append(out, `\u`...)
			out = append(out, fmt.Sprintf("%04x", u)...)
		}
	}
	return out
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// WriteFile writes m to path atomically: through a temporary file in the
// same folder, synced and then renamed over path, so a reader (or a crash)
// never sees half a manifest. A manifest listing models must pass Parse,
// so nothing written here is rejected when read back.
func (m *Manifest) WriteFile(path string) (err error) {
	data, err := m.marshal()
	if err != nil {
		return err
	}
	if len(m.Models) > 0 {
		if _, err := Parse(data); err != nil {
			return fmt.Errorf("not writing %s: %w", path, err)
		}
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	// CreateTemp makes the file private; the manifest is served with the weights.
	if err := os.Chmod(tmp, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
