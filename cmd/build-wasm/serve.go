package main

import (
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path"
	"regexp"
	"strings"
	"time"
)

// timeouts bound how long a client may hold a connection without making
// progress, so that slow or idle clients cannot pile up connections.
type timeouts struct {
	header, read, idle time.Duration
}

// serverTimeouts are the dev server's: requests are small GETs, so a
// request's header and body must arrive within seconds. Responses (weights
// of up to a few hundred MB to a slow browser) have no time limit.
var serverTimeouts = timeouts{header: 10 * time.Second, read: 30 * time.Second, idle: 2 * time.Minute}

// maxHeaderBytes bounds a request's header; the app's requests need about 1 KiB.
const maxHeaderBytes = 64 << 10

// newServer is the http.Server that serves handler with these limits.
func newServer(handler http.Handler, t timeouts) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: t.header,
		ReadTimeout:       t.read,
		IdleTimeout:       t.idle,
		MaxHeaderBytes:    maxHeaderBytes,
	}
}

// contentTypes are the types of the files a build holds; anything else is
// served as bytes.
var contentTypes = map[string]string{
	".html":        "text/html; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".json":        "application/json",
	".wasm":        "application/wasm",
	".svg":         "image/svg+xml",
	".png":         "image/png",
	".safetensors": "application/octet-stream",
}

// hashedFile matches the names addHashed gives: they never change content.
var hashedFile = regexp.MustCompile(`\.[0-9a-f]{10}\.[A-Za-z0-9]+$`)

// encodings are the precompressed variants, best first.
var encodings = []struct{ token, ext string }{{"br", ".br"}, {"gzip", ".gz"}}

// newHandler serves the build in dir: hashed files as immutable, the rest
// revalidated on every use, precompressed variants where the client
// accepts them, and the cross-origin isolation headers on every response
// (they allow SharedArrayBuffer, for a multi-threaded engine later).
func newHandler(dir string) (http.Handler, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Embedder-Policy", "require-corp")
		h.Set("X-Content-Type-Options", "nosniff")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name, ok := fileName(r.URL.Path)
		if !ok {
			http.Error(w, "bad path", http.StatusBadRequest)
			return
		}
		serveFile(w, r, root, name)
	}), nil
}

// fileName maps a URL path to a file name inside the build, refusing any
// path that could leave it (.., backslashes, NUL, empty segments) or names
// the build's folder itself (".").
func fileName(urlPath string) (string, bool) {
	if !strings.HasPrefix(urlPath, "/") {
		return "", false
	}
	name := urlPath[1:]
	if name == "" {
		return "index.html", true
	}
	if strings.ContainsAny(name, `\`+"\x00") || !fs.ValidPath(name) || name == "." {
		return "", false
	}
	return name, true
}

func serveFile(w http.ResponseWriter, r *http.Request, root *os.Root, name string) {
	h := w.Header()
	ctype, ok := contentTypes[path.Ext(name)]
	if !ok {
		ctype = "application/octet-stream"
	}
	h.Set("Content-Type", ctype)
	if hashedFile.MatchString(name) {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	f, info, encoding, err := openVariant(root, name, r.Header.Get("Accept-Encoding"))
	if err != nil {
		h.Del("Cache-Control")
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	defer f.Close()
	if compressible[path.Ext(name)] {
		h.Set("Vary", "Accept-Encoding")
	}
	if encoding != "" {
		h.Set("Content-Encoding", encoding)
	}
	http.ServeContent(w, r, "", info.ModTime(), f)
}

// openVariant opens the best precompressed variant of name the client
// accepts, else name itself. Directories are not served.
func openVariant(root *os.Root, name, acceptEncoding string) (*os.File, fs.FileInfo, string, error) {
	for _, e := range encodings {
		if !accepts(acceptEncoding, e.token) {
			continue
		}
		if f, info, err := openRegular(root, name+e.ext); err == nil {
			return f, info, e.token, nil
		}
	}
	f, info, err := openRegular(root, name)
	return f, info, "", err
}

func openRegular(root *os.Root, name string) (*os.File, fs.FileInfo, error) {
	f, err := root.Open(name)
	if err != nil {
		return nil, nil, err
	}
	info, err := f.Stat()
	if err == nil && !info.Mode().IsRegular() {
		err = errors.New("not a regular file")
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, info, nil
}

// accepts reports whether an Accept-Encoding header admits token with a
// non-zero quality.
func accepts(header, token string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), token) {
			continue
		}
		q, found := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q=")
		return !found || strings.Trim(q, "0.") != ""
	}
	return false
}
