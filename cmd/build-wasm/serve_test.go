package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeBuild writes a small build directory, a secret file beside it and a
// symlink from inside it to the secret, and returns the directory.
func fakeBuild(t *testing.T) string {
	t.Helper()
	parent := t.TempDir()
	dir := filepath.Join(parent, "dist")
	files := map[string]string{
		"index.html":                      "<!doctype html>index",
		"manifest.json":                   `{"models":[]}`,
		"engine.0123456789.wasm":          "raw wasm",
		"engine.0123456789.wasm.gz":       "gzip wasm",
		"engine.0123456789.wasm.br":       "brotli wasm",
		"app.abcdef0123.js":               "export {}",
		"models/m.0123456789.safetensors": "weights",
		"models/plain.txt":                "not hashed",
	}
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(parent, "secret.txt"), []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(parent, "secret.txt"), filepath.Join(dir, "link.txt")); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestServeHeaders(t *testing.T) {
	h, err := newHandler(fakeBuild(t))
	if err != nil {
		t.Fatal(err)
	}
	const immutable, noCache = "public, max-age=31536000, immutable", "no-cache"
	for _, tc := range []struct {
		path, acceptEncoding                string
		body, ctype, encoding, cacheControl string
	}{
		{"/", "", "<!doctype html>index", "text/html; charset=utf-8", "", noCache},
		{"/index.html", "", "<!doctype html>index", "text/html; charset=utf-8", "", noCache},
		{"/manifest.json", "", `{"models":[]}`, "application/json", "", noCache},
		{"/engine.0123456789.wasm", "gzip, deflate, br, zstd", "brotli wasm", "application/wasm", "br", immutable},
		{"/engine.0123456789.wasm", "gzip", "gzip wasm", "application/wasm", "gzip", immutable},
		{"/engine.0123456789.wasm", "br;q=0, gzip;q=0.5", "gzip wasm", "application/wasm", "gzip", immutable},
		{"/engine.0123456789.wasm", "", "raw wasm", "application/wasm", "", immutable},
		{"/engine.0123456789.wasm", "identity", "raw wasm", "application/wasm", "", immutable},
		{"/app.abcdef0123.js", "br", "export {}", "text/javascript; charset=utf-8", "", immutable},
		{"/models/m.0123456789.safetensors", "br", "weights", "application/octet-stream", "", immutable},
		{"/models/plain.txt", "", "not hashed", "application/octet-stream", "", noCache},
	} {
		req := httptest.NewRequest("GET", tc.path, nil)
		if tc.acceptEncoding != "" {
			req.Header.Set("Accept-Encoding", tc.acceptEncoding)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		res := rec.Result()
		body, _ := io.ReadAll(res.Body)
		name := fmt.Sprintf("GET %s (Accept-Encoding %q)", tc.path, tc.acceptEncoding)
		if res.StatusCode != 200 || string(body) != tc.body {
			t.Errorf("%s: %d %q, want 200 %q", name, res.StatusCode, body, tc.body)
		}
		for header, want := range map[string]string{
			"Content-Type":                 tc.ctype,
			"Content-Encoding":             tc.encoding,
			"Cache-Control":                tc.cacheControl,
			"Cross-Origin-Opener-Policy":   "same-origin",
			"Cross-Origin-Embedder-Policy": "require-corp",
		} {
			if got := res.Header.Get(header); got != want {
				t.Errorf("%s: %s is %q, want %q", name, header, got, want)
			}
		}
	}
}

func TestServeRefusesPathsOutsideTheBuild(t *testing.T) {
	h, err := newHandler(fakeBuild(t))
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]int{
		"/../secret.txt":            400,
		"/%2e%2e/secret.txt":        400,
		"/%2E%2E/%2E%2E/etc/passwd": 400,
		"/models/..%2fsecret.txt":   400,
		"/models/%2e%2e/index.html": 400,
		"/./index.html":             400,
		"//etc/passwd":              400,
		"/models/":                  400,
		"/a%5c..%5csecret.txt":      400, // backslashes
		"/index.html%00.js":         400,
		"/etc/passwd":               404,
		"/models":                   404, // a directory
		"/link.txt":                 404, // a symlink out of the build
		"/missing.js":               404,
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != want || strings.Contains(rec.Body.String(), "secret") {
			t.Errorf("GET %s: %d %q, want %d", path, rec.Code, rec.Body, want)
		}
		if rec.Header().Get("Cross-Origin-Embedder-Policy") != "require-corp" {
			t.Errorf("GET %s: no Cross-Origin-Embedder-Policy on the error", path)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/", nil))
	if rec.Code != 405 {
		t.Errorf("POST /: %d, want 405", rec.Code)
	}
}

// TestServeRawRequests sends request lines as a client could type them, so
// that nothing between the socket and the handler cleans them first.
func TestServeRawRequests(t *testing.T) {
	h, err := newHandler(fakeBuild(t))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	for target, want := range map[string]int{
		"/../secret.txt":           400,
		"/%2e%2e/secret.txt":       400,
		"/models/../../secret.txt": 400,
		"http://x/../secret.txt":   400,
		"/index.html":              200,
	} {
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", target)
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("GET %s: %v", target, err)
		}
		body, _ := io.ReadAll(res.Body)
		conn.Close()
		if res.StatusCode != want || strings.Contains(string(body), "secret") {
			t.Errorf("GET %s: %d %q, want %d", target, res.StatusCode, body, want)
		}
	}
}

func TestAccepts(t *testing.T) {
	for _, tc := range []struct {
		header, token string
		want          bool
	}{
		{"gzip, deflate, br", "br", true},
		{"gzip, deflate", "br", false},
		{"BR", "br", true},
		{"br;q=0", "br", false},
		{"br; q=0.000", "br", false},
		{"br;q=0.1", "br", true},
		{"brotli", "br", false},
		{"", "gzip", false},
	} {
		if got := accepts(tc.header, tc.token); got != tc.want {
			t.Errorf("accepts(%q, %q) = %v, want %v", tc.header, tc.token, got, tc.want)
		}
	}
}

// TestServerDropsSlowClients sends a request line without ever finishing
// the header, and a header over the size limit: the server must end both
// instead of holding the connection open.
func TestServerDropsSlowClients(t *testing.T) {
	h, err := newHandler(fakeBuild(t))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(h, timeouts{header: 200 * time.Millisecond, read: time.Second, idle: time.Second})
	go srv.Serve(ln)
	defer srv.Close()

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "GET /index.html HTTP/1.1\r\nHost: x\r\n") // and then nothing
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	if _, err := io.ReadAll(conn); err != nil {
		t.Fatalf("the server kept a stalled request open: %v", err)
	}
	if waited := time.Since(start); waited > 3*time.Second {
		t.Errorf("the stalled request was dropped after %v", waited)
	}

	big, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer big.Close()
	fmt.Fprintf(big, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n", strings.Repeat("a", 2*maxHeaderBytes))
	res, err := http.ReadResponse(bufio.NewReader(big), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("a %d-byte header got %s, want 431", 2*maxHeaderBytes, res.Status)
	}
}

func TestServerTimeoutsAreSet(t *testing.T) {
	srv := newServer(http.NotFoundHandler(), serverTimeouts)
	if srv.ReadHeaderTimeout <= 0 || srv.ReadTimeout <= 0 || srv.IdleTimeout <= 0 || srv.MaxHeaderBytes <= 0 {
		t.Errorf("server without limits: %+v", srv)
	}
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{"127.0.0.1:80": true, "[::1]:80": true, "0.0.0.0:80": false, "192.168.1.4:80": false} {
		a, err := net.ResolveTCPAddr("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := isLoopback(a); got != want {
			t.Errorf("isLoopback(%s) = %v, want %v", addr, got, want)
		}
	}
}
