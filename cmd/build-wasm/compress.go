package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/andybalholm/brotli"
)

// compressible lists the extensions that get .gz and .br siblings. The
// weights are left alone: fp16 values hardly compress.
var compressible = map[string]bool{".wasm": true, ".js": true, ".css": true, ".html": true, ".json": true, ".svg": true}

// brotliLevel is brotli's best; tests lower it, since they check the layout
// and not the ratio.
var brotliLevel = brotli.BestCompression

// compressFile writes p.gz (gzip -9) and p.br (brotli) and returns their
// sizes. Brotli's best level takes tens of seconds on the engine, so results
// are kept in the user's cache directory, keyed by the content's hash.
func compressFile(p string) (gzSize, brSize int, err error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return 0, 0, err
	}
	gz, err := cachedCompress(data, "gz9", func(b *bytes.Buffer) error {
		w, _ := gzip.NewWriterLevel(b, gzip.BestCompression)
		w.Write(data)
		return w.Close()
	})
	if err != nil {
		return 0, 0, err
	}
	br, err := cachedCompress(data, fmt.Sprintf("br%d", brotliLevel), func(b *bytes.Buffer) error {
		w := brotli.NewWriterLevel(b, brotliLevel)
		w.Write(data)
		return w.Close()
	})
	if err != nil {
		return 0, 0, err
	}
	if err := os.WriteFile(p+".gz", gz, 0o644); err != nil {
		return 0, 0, err
	}
	if err := os.WriteFile(p+".br", br, 0o644); err != nil {
		return 0, 0, err
	}
	return len(gz), len(br), nil
}

// cachedCompress returns compress's output for data, from the cache when
// an earlier build computed it; method names the compressor and its level.
// The cache is an optimization only: when it cannot be used, the data is
// compressed anyway.
func cachedCompress(data []byte, method string, compress func(*bytes.Buffer) error) ([]byte, error) {
	sum := sha256.Sum256(data)
	var cached string
	if dir, err := os.UserCacheDir(); err == nil {
		cached = filepath.Join(dir, "inbrowser-resnet", "build-wasm", hex.EncodeToString(sum[:])+"."+method)
		if out, err := os.ReadFile(cached); err == nil {
			return out, nil
		}
	}
	var b bytes.Buffer
	if err := compress(&b); err != nil {
		return nil, err
	}
	if cached != "" {
		storeAtomically(cached, b.Bytes())
	}
	return b.Bytes(), nil
}

// storeAtomically writes a file through a temporary one, so that a
// concurrent build never reads half of it; failures are ignored.
func storeAtomically(name string, data []byte) {
	if os.MkdirAll(filepath.Dir(name), 0o755) != nil {
		return
	}
	f, err := os.CreateTemp(filepath.Dir(name), ".tmp-")
	if err != nil {
		return
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil && cerr == nil && os.Rename(f.Name(), name) == nil {
		return
	}
	os.Remove(f.Name())
}
