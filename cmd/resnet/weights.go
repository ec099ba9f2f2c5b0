package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/inbrowser/resnet/engine/arch"
	"github.com/inbrowser/resnet/engine/checkpoint"
	"github.com/inbrowser/resnet/weights"
)

func init() {
	commands["weights"] = command{
		usage: "fetch resnet18|resnet34|resnet50|resnet50-v2|resnet101[-v2]|resnet152[-v2] [-base URL] [-dtype f16|f32] [-dir weights] [-timeout 30m] [-max-bytes N] | list [-dir weights]",
		run:   runWeights,
	}
}

// officials is what fetch knows, by name; tests replace it to serve their
// own files under names carrying those files' hash prefixes.
var officials = officialsByName(weights.Officials)

func officialsByName(table []weights.Official) map[string]weights.Official {
	m := make(map[string]weights.Official, len(table))
	for _, o := range table {
		m[o.Name] = o
	}
	return m
}

// defaultBase is where torchvision itself downloads its weights from.
const defaultBase = "https://download.pytorch.org/models/"

// baseEnv names a mirror to fetch from instead, when -base is not given.
const baseEnv = "RESNET_WEIGHTS_BASE"

var (
	// httpClient fetches checkpoints; the overall deadline comes from the
	// request's context (-timeout).
	httpClient = &http.Client{}
	// progressOut receives the progress bar; tests capture it.
	progressOut io.Writer = os.Stderr
	// createTemp makes the temporary files fetch writes in -dir; tests
	// replace it to simulate a full disk.
	createTemp = func(dir, pattern string) (tempFile, error) { return os.CreateTemp(dir, pattern) }
	// writeManifest is the last step of a fetch; tests make it fail.
	writeManifest = (*weights.Manifest).WriteFile
)

// tempFile is what fetch needs of an *os.File.
type tempFile interface {
	io.Writer
	Sync() error
	Close() error
	Name() string
}

func runWeights(args []string, stdout, _ io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: want fetch or list", errUsage)
	}
	switch args[0] {
	case "fetch":
		return runFetch(args[1:], stdout)
	case "list":
		return runList(args[1:], stdout)
	}
	return fmt.Errorf("%w: unknown subcommand %q (want fetch or list)", errUsage, args[0])
}

func officialNames() string {
	var ns []string
	for n := range officials {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return strings.Join(ns, ", ")
}

// runFetch downloads one of torchvision's official checkpoints, checks and
// converts it to safetensors in -dir and adds it to -dir's manifest. On any
// failure dir is left exactly as it was.
func runFetch(args []string, stdout io.Writer) error {
	fs := newFlagSet("weights fetch")
	base := fs.String("base", "", "URL of the folder holding torchvision's .pth files (default $"+baseEnv+", else "+defaultBase+")")
	dtypeFlag := fs.String("dtype", "f16", "element type to store: f16 (half the download for the app) or f32")
	dir := fs.String("dir", "weights", "folder holding manifest.json and the weight files")
	timeout := fs.Duration("timeout", 30*time.Minute, "give up when the whole fetch takes longer")
	maxBytes := fs.Int64("max-bytes", 1<<30, "refuse a download larger than this (torchvision's largest ResNet file is 241 MB)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: want one model (%s), got %d arguments", errUsage, officialNames(), len(pos))
	}
	off, ok := officials[pos[0]]
	if !ok {
		return fmt.Errorf("%w: unknown model %q (want %s)", errUsage, pos[0], officialNames())
	}
	dtype, err := parseDType(*dtypeFlag)
	if err != nil {
		return err
	}
	if dtype == checkpoint.I8 {
		// The manifest would give torchvision's float accuracy for it.
		return fmt.Errorf("%w: -dtype int8 is not offered here (torchvision's accuracy is the float weights'); fetch as f32 and use resnet convert -dtype int8", errUsage)
	}
	if *base == "" {
		*base = os.Getenv(baseEnv)
	}
	if *base == "" {
		*base = defaultBase
	}
	u, err := url.Parse(*base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: base URL %q is not an http(s) URL", errUsage, *base)
	}
	src := strings.TrimRight(*base, "/") + "/" + off.File

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	md, err := fetch(ctx, off, src, *dir, dtype, *maxBytes, stdout)
	if err != nil {
		// Say why the context ended rather than a bare "context canceled".
		if ctx.Err() == context.DeadlineExceeded {
			return fmt.Errorf("%s: gave up after -timeout %s: %v", modelName(off), *timeout, err)
		} else if ctx.Err() != nil {
			return fmt.Errorf("%s: interrupted: %v", modelName(off), err)
		}
		return fmt.Errorf("%s: %w", modelName(off), err)
	}
	_, err = fmt.Fprintf(stdout, "added %s to %s (%s, %s, %d bytes)\n", md.Name, filepath.Join(*dir, weights.ManifestFile), md.File, md.DType, md.Bytes)
	return err
}

// fetch does the work of runFetch. Every file it creates in dir is removed
// again on failure, and the manifest is written last.
func fetch(ctx context.Context, off weights.Official, src, dir string, dtype checkpoint.DType, maxBytes int64, stdout io.Writer) (md *weights.Model, err error) {
	prefix := off.HashPrefix()
	if prefix == "" {
		return nil, fmt.Errorf("%s has no hash prefix in its name to check the download against", off.File)
	}
	cfg, err := arch.ParseName(off.Arch) // v1.5, 1000 classes: torchvision's
	if err != nil {
		return nil, err
	}
	network, err := cfg.Build()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(dir); err != nil {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		defer func() {
			if err != nil {
				os.Remove(dir) // the folder this call made, empty again
			}
		}()
	}
	// Read the manifest first: a damaged one fails before a long download.
	manifest, err := weights.LoadDirForUpdate(dir)
	if err != nil {
		return nil, err
	}

	removeStale(dir, off.File)
	pth, err := download(ctx, src, dir, off.File, prefix, maxBytes, off.Bytes)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(pth)
	os.Remove(pth) // converted in memory from here on
	if err != nil {
		return nil, err
	}
	c, err := checkpoint.Read(data)
	if err != nil {
		return nil, fmt.Errorf("converting %s: %w", off.File, err)
	}
	if err := c.Check(network.Tensors()); err != nil {
		return nil, fmt.Errorf("%s is not a torchvision %s with 1000 classes: %w", off.File, off.Arch, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	md = &weights.Model{
		Name: modelName(off), Arch: off.Arch, Variant: arch.V1_5.String(), Classes: cfg.NumClasses,
		InputSize: off.Crop, Resize: off.Resize, Crop: off.Crop,
		Mean:       []float32{0.485, 0.456, 0.406}, // torchvision's ImageNet normalization
		Std:        []float32{0.229, 0.224, 0.225},
		LabelsFile: weights.ImageNetLabelsFile,
		DType:      string(dtype),
		File:       modelName(off) + ".safetensors",
		Accuracy:   math.Round(off.Acc1*1000) / 100000, // 0.80858, not 0.8085800000000001
		Source: fmt.Sprintf("torchvision's official %s weights (%s_Weights.%s), fetched from %s and converted to %s by `resnet weights fetch`. "+
			"The accuracy is torchvision's published ImageNet-1K acc@1 (%g%%) from %s, not measured here.",
			off.Arch, strings.Replace(off.Arch, "resnet", "ResNet", 1), off.Weights, src, dtype, off.Acc1,
			"https://pytorch.org/vision/0.14/models/generated/torchvision.models."+off.Arch+".html"),
	}
	st, size, sum, err := writeTemp(dir, md.File, func(w io.Writer) error {
		return checkpoint.WriteSafetensors(w, c, dtype)
	})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.Remove(st)
		}
	}()
	md.Bytes, md.SHA256 = size, sum
	manifest.Put(*md)
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	// Commit: move the new weights into place, keeping any previous file
	// aside until the manifest that describes the new one is written.
	final := md.Path(dir)
	old := ""
	if _, err := os.Lstat(final); err == nil {
		old = st + ".old"
		if err := os.Rename(final, old); err != nil {
			return nil, err
		}
	}
	restore := func() {
		if old != "" {
			os.Rename(old, final)
		} else {
			os.Remove(final)
		}
	}
	if err := os.Rename(st, final); err != nil {
		restore()
		return nil, err
	}
	if err := writeManifest(manifest, filepath.Join(dir, weights.ManifestFile)); err != nil {
		restore()
		return nil, fmt.Errorf("updating the manifest: %w", err)
	}
	if old != "" {
		os.Remove(old)
	}
	fmt.Fprintf(stdout, "wrote %s: %s, %d bytes, sha256 %s\n", final, dtype, size, sum)
	return md, nil
}

// modelName is the manifest name a fetched official checkpoint gets.
func modelName(off weights.Official) string { return "imagenet-" + off.Name }

// download streams src into a temporary file in dir, checking the length
// against Content-Length and, when known (size > 0), the published size,
// and the SHA-256 against prefix, and returns the file's path. It reads at
// most the published size, else maxBytes, plus one byte. On error the file
// is removed.
func download(ctx context.Context, src, dir, name, prefix string, maxBytes, size int64) (_ string, err error) {
	limit, what := maxBytes, fmt.Sprintf("-max-bytes %d", maxBytes)
	if size > 0 {
		if size > maxBytes {
			return "", fmt.Errorf("download: %s is published at %d bytes, over -max-bytes %d", name, size, maxBytes)
		}
		limit, what = size, fmt.Sprintf("the published size of %s, %d bytes", name, size)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return "", err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("download: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("download: server answered %s for %s", resp.Status, src)
	}
	if resp.ContentLength > limit {
		return "", fmt.Errorf("download: %s is %d bytes, over %s", src, resp.ContentLength, what)
	}
	f, err := createTemp(dir, "."+name+".download-*")
	if err != nil {
		return "", err
	}
	tmp := f.Name() // not the result: a failing return sets that to ""
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	h := sha256.New()
	fw := &errWriter{w: f}
	bar := newProgress(progressOut, name, resp.ContentLength)
	n, err := io.Copy(io.MultiWriter(fw, h, bar), io.LimitReader(resp.Body, limit+1))
	bar.done(n)
	if n > limit {
		return "", fmt.Errorf("download of %s went past %s: not the published checkpoint", src, what)
	}
	if fw.err != nil {
		return "", fmt.Errorf("saving the download in %s: %w", dir, fw.err)
	}
	if err != nil {
		return "", fmt.Errorf("download of %s broke off after %d of %s bytes: %w", src, n, lengthText(resp.ContentLength), err)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return "", fmt.Errorf("download of %s truncated: got %d of %d bytes", src, n, resp.ContentLength)
	}
	if size > 0 && n != size {
		return "", fmt.Errorf("download of %s has %d bytes, not the published %d", src, n, size)
	}
	if err := f.Sync(); err != nil {
		return "", fmt.Errorf("saving the download in %s: %w", dir, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("saving the download in %s: %w", dir, err)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); !strings.HasPrefix(sum, prefix) {
		return "", fmt.Errorf("%s has SHA-256 %s, which does not start with %s as its name says: corrupted download or wrong file from %s", name, sum, prefix, src)
	}
	return tmp, nil
}

// staleAge is how old a fetch's temporary file must be to count as left
// behind by a run that was killed (a running fetch writes to its own
// continually).
const staleAge = time.Hour

// removeStale deletes the temporary files that killed fetches of name left
// in dir.
func removeStale(dir, name string) {
	for _, pattern := range []string{"." + name + ".download-*", "." + name + ".tmp-*"} {
		matches, _ := filepath.Glob(filepath.Join(dir, pattern))
		for _, m := range matches {
			if fi, err := os.Lstat(m); err == nil && fi.Mode().IsRegular() && time.Since(fi.ModTime()) > staleAge {
				os.Remove(m)
			}
		}
	}
}

func lengthText(n int64) string {
	if n < 0 {
		return "unknown"
	}
	return fmt.Sprint(n)
}

// errWriter remembers a write error, telling a full disk apart from a
// broken connection once io.Copy returns.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	n, err := e.w.Write(p)
	if err != nil && e.err == nil {
		e.err = err
	}
	return n, err
}

// writeTemp writes a complete, synced temporary file for name in dir and
// returns its path, size and SHA-256; the caller renames it into place. On
// error the file is removed.
func writeTemp(dir, name string, write func(io.Writer) error) (_ string, size int64, sum string, err error) {
	f, err := createTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return "", 0, "", err
	}
	tmp := f.Name() // not the result: a failing return sets that to ""
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(f, h)}
	bw := bufio.NewWriterSize(cw, 1<<20)
	if err := write(bw); err != nil {
		return "", 0, "", fmt.Errorf("writing %s: %w", filepath.Join(dir, name), err)
	}
	if err := bw.Flush(); err != nil {
		return "", 0, "", fmt.Errorf("writing %s: %w", filepath.Join(dir, name), err)
	}
	if err := f.Sync(); err != nil {
		return "", 0, "", fmt.Errorf("writing %s: %w", filepath.Join(dir, name), err)
	}
	if err := f.Close(); err != nil {
		return "", 0, "", fmt.Errorf("writing %s: %w", filepath.Join(dir, name), err)
	}
	// CreateTemp makes the file private; weights are meant to be served.
	if err := os.Chmod(tmp, 0o644); err != nil {
		return "", 0, "", err
	}
	return tmp, cw.n, hex.EncodeToString(h.Sum(nil)), nil
}

// A progress draws a download's progress on a terminal with \r at most
// ten times a second, or writes a plain line every few seconds elsewhere.
type progress struct {
	w     io.Writer
	name  string
	total int64 // -1 when unknown
	tty   bool
	start time.Time
	last  time.Time
	n     int64
}

func newProgress(w io.Writer, name string, total int64) *progress {
	p := &progress{w: w, name: name, total: total, start: time.Now()}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) Write(b []byte) (int, error) {
	p.n += int64(len(b))
	every := 5 * time.Second
	if p.tty {
		every = 100 * time.Millisecond
	}
	if now := time.Now(); now.Sub(p.last) >= every {
		p.last = now
		p.draw(false)
	}
	return len(b), nil
}

// done draws the final state and ends the line.
func (p *progress) done(n int64) {
	p.n = n
	p.draw(true)
}

func (p *progress) draw(final bool) {
	s := p.name + "  " + mib(p.n)
	if p.total > 0 {
		pct := float64(p.n) / float64(p.total)
		const width = 24
		fill := min(int(pct*width), width)
		s += fmt.Sprintf(" / %s  %3.0f%%  [%s%s]", mib(p.total), 100*pct, strings.Repeat("=", fill), strings.Repeat(" ", width-fill))
	}
	if secs := time.Since(p.start).Seconds(); secs > 0 {
		s += fmt.Sprintf("  %s/s", mib(int64(float64(p.n)/secs)))
	}
	switch {
	case p.tty && final:
		fmt.Fprintf(p.w, "\r%s\x1b[K\n", s)
	case p.tty:
		fmt.Fprintf(p.w, "\r%s\x1b[K", s) // \x1b[K clears what a longer line left
	default:
		fmt.Fprintln(p.w, s)
	}
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// runList prints the models of the manifest in -dir.
func runList(args []string, stdout io.Writer) error {
	fs := newFlagSet("weights list")
	dir := fs.String("dir", "weights", "folder holding manifest.json and the weight files")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return fmt.Errorf("%w: list takes no arguments", errUsage)
	}
	m, err := weights.LoadDir(*dir)
	if err != nil {
		return err
	}
	def := m.Default()
	for i := range m.Models {
		md := &m.Models[i]
		state := ""
		if fi, err := os.Stat(md.Path(*dir)); err != nil {
			state = "  (file missing)"
		} else if fi.Size() != md.Bytes {
			state = fmt.Sprintf("  (file has %d bytes, want %d)", fi.Size(), md.Bytes)
		}
		if md == def {
			state += "  (default)"
		}
		fmt.Fprintf(stdout, "%s  %s %s, %d classes, %dpx  %s %s  top-1 %.2f%%%s\n    %s\n",
			md.Name, md.Arch, md.Variant, md.Classes, md.InputSize, md.DType, mib(md.Bytes), 100*md.Accuracy, state, md.Source)
	}
	return nil
}
