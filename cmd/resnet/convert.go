package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/inbrowser/resnet/engine/checkpoint"
)

func init() {
	commands["convert"] = command{
		usage: "IN.pth|IN.safetensors OUT.safetensors [-dtype f32|f16|int8]",
		run:   runConvert,
	}
}

// runConvert turns a torch.save .pth (or a safetensors file) into the
// safetensors file the browser app fetches, optionally halving it to F16
// or quartering it to int8 (conv and fc weights as I8 with a scale per
// output channel). The input is fully validated on the way, so a file that
// converts loads.
func runConvert(args []string, stdout, _ io.Writer) error {
	fs := newFlagSet("convert")
	dtypeFlag := fs.String("dtype", "f32", "element type to store: f32, f16 for half the download, or int8 for a quarter (conv and fc weights per output channel, the rest f32)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return fmt.Errorf("%w: want an input and an output file, got %d arguments", errUsage, len(pos))
	}
	dtype, err := parseDType(*dtypeFlag)
	if err != nil {
		return err
	}
	in, out := pos[0], pos[1]
	b, err := readLimited(in, maxWeightsBytes, checkpoint.HeadBytes, checkpoint.Sniff)
	if err != nil {
		return err
	}
	c, err := checkpoint.Read(b)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	size, err := writeFileAtomic(out, func(w io.Writer) error {
		return checkpoint.WriteSafetensors(w, c, dtype)
	})
	if err != nil {
		return err
	}
	values, quantized := 0, 0
	for _, t := range c.Tensors {
		values += t.Len()
		if len(t.Shape) >= 2 {
			quantized += t.Len()
		}
	}
	if dtype == checkpoint.I8 {
		_, err = fmt.Fprintf(stdout, "wrote %s: %d tensors, %d values (%d as I8 with a scale per output channel, %d as F32), %d bytes\n",
			out, len(c.Names), values, quantized, values-quantized, size)
		return err
	}
	_, err = fmt.Fprintf(stdout, "wrote %s: %d tensors, %d values as %s, %d bytes\n", out, len(c.Names), values, dtype, size)
	return err
}

// countWriter counts bytes on their way to a writer.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// writeFileAtomic writes path through a temporary file in the same
// directory, renamed into place only once complete and synced, so that an
// interrupted or failed conversion never leaves a truncated weights file
// where the app (or a later make step) would pick it up. The temporary file
// is removed on any error. It returns the bytes written.
func writeFileAtomic(path string, write func(io.Writer) error) (n int64, err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return 0, err
	}
	tmp, closed := f.Name(), false
	defer func() {
		if err != nil {
			if !closed {
				f.Close()
			}
			os.Remove(tmp)
		}
	}()
	cw := &countWriter{w: f}
	bw := bufio.NewWriterSize(cw, 1<<20)
	if err := write(bw); err != nil {
		return 0, fmt.Errorf("write %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return 0, fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return 0, err
	}
	closed = true
	if err := f.Close(); err != nil {
		return 0, err
	}
	// CreateTemp makes the file private; weights are meant to be served.
	if err := os.Chmod(tmp, 0o644); err != nil {
		return 0, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return 0, err
	}
	return cw.n, nil
}

// parseDType reads a -dtype flag: f32, f16 or int8 (also i8).
func parseDType(s string) (checkpoint.DType, error) {
	switch strings.ToLower(s) {
	case "f32":
		return checkpoint.F32, nil
	case "f16":
		return checkpoint.F16, nil
	case "int8", "i8":
		return checkpoint.I8, nil
	}
	return "", fmt.Errorf("%w: -dtype %q (want f32, f16 or int8)", errUsage, s)
}
