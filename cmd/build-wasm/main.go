// Command build-wasm builds the browser app into one directory and can
// serve it:
//
//	go run ./cmd/build-wasm [-out dist] [-serve 127.0.0.1:8080]
//
// The directory holds two builds of the Go engine for GOOS=js GOARCH=wasm
// (resnet-simd.wasm with GOEXPERIMENT=simd, resnet.wasm without; the page
// picks one by feature detection), Go's wasm_exec.js, the site, the weights
// files present in -weights with a manifest.json for the page, and an
// assets.json mapping each file to its content-hashed name. Hashed files may
// be cached forever; index.html, manifest.json and assets.json never are.
// Wasm, JavaScript, CSS, HTML and JSON files get .gz and .br siblings that
// -serve sends to browsers that accept them.
//
// With -serve the command prints "serving http://HOST:PORT/" once the
// directory is served (port 0 picks a free port).
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

func main() {
	out := flag.String("out", "dist", "directory to build into (replaced)")
	weightsDir := flag.String("weights", "", "directory holding the weights files (default: the module's weights/)")
	serve := flag.String("serve", "", "after building, serve the directory on this address, e.g. 127.0.0.1:8080")
	public := flag.Bool("public", false, "allow -serve on an address other hosts can reach (a development server: see the warning)")
	flag.Parse()
	if err := run(*out, *weightsDir, *serve, *public); err != nil {
		fmt.Fprintln(os.Stderr, "build-wasm:", err)
		os.Exit(1)
	}
}

func run(out, weightsDir, addr string, public bool) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	if weightsDir == "" {
		weightsDir = filepath.Join(root, "weights")
	}
	files, err := build(root, weightsDir, out)
	if err != nil {
		return err
	}
	printSizes(os.Stdout, files)
	if addr == "" {
		return nil
	}
	handler, err := newHandler(out)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if !isLoopback(ln.Addr()) {
		if !public {
			ln.Close()
			return fmt.Errorf("-serve %s is reachable from other hosts; this is a development server: use 127.0.0.1 or localhost, or add -public", addr)
		}
		fmt.Fprintln(os.Stderr, "build-wasm: warning: serving to other hosts; this is a development server, not hardened for the internet")
	}
	fmt.Printf("serving http://%s/\n", ln.Addr())
	return newServer(handler, serverTimeouts).Serve(ln)
}

// isLoopback reports whether a listener's address is reachable only from
// this machine.
func isLoopback(a net.Addr) bool {
	tcp, ok := a.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// moduleRoot is the directory of the go.mod governing the working directory.
func moduleRoot() (string, error) {
	gomod, err := goEnv("GOMOD")
	if err != nil {
		return "", err
	}
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("run inside the module (go env GOMOD is empty)")
	}
	return filepath.Dir(gomod), nil
}

func goEnv(name string) (string, error) {
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		return "", fmt.Errorf("go env %s: %w", name, err)
	}
	return strings.TrimSpace(string(out)), nil
}
