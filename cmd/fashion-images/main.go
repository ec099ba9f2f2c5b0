// Command fashion-images writes chosen Fashion-MNIST test images as PNG files
// and, for webcam tests, as Y4M videos, plus an images.json that lists them
// with their true labels:
//
//	go run ./cmd/fashion-images -out /tmp/fixtures -index 0,1,2 -video 320x240
//
// Chromium plays a Y4M file as a fake camera
// (--use-file-for-fake-video-capture=FILE.y4m).
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/inbrowser/resnet/tools/fashionmnist"
)

// Written is one entry of images.json.
type Written struct {
	Index int    `json:"index"` // position in the test set
	Label int    `json:"label"`
	Class string `json:"class"`
	PNG   string `json:"png"`
	Y4M   string `json:"y4m,omitempty"`
}

func main() {
	out := flag.String("out", "", "directory to write into (created if missing)")
	indices := flag.String("index", "0", "comma-separated test-set indices")
	video := flag.String("video", "", "also write a one-frame Y4M video of this size, e.g. 320x240")
	flag.Parse()
	if err := run(*out, *indices, *video); err != nil {
		fmt.Fprintln(os.Stderr, "fashion-images:", err)
		os.Exit(1)
	}
}

func run(out, indexList, video string) error {
	if out == "" {
		return errors.New("-out is required")
	}
	var w, h int
	if video != "" {
		if _, err := fmt.Sscanf(video, "%dx%d", &w, &h); err != nil || w < h || h < fashionmnist.Side || w%2 != 0 || h%2 != 0 {
			return fmt.Errorf("-video %q: want WIDTHxHEIGHT, even, at least 28 high and not taller than wide", video)
		}
	}
	images, err := fashionmnist.Load(fashionmnist.TestImages, fashionmnist.TestLabels)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	var written []Written
	for _, s := range strings.Split(indexList, ",") {
		i, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || i < 0 || i >= len(images) {
			return fmt.Errorf("-index: %q is not a test-set index (0..%d)", s, len(images)-1)
		}
		im := &images[i]
		entry := Written{Index: i, Label: im.Label, Class: fashionmnist.Classes[im.Label], PNG: filepath.Join(out, fmt.Sprintf("%d.png", i))}
		if err := writePNG(entry.PNG, im); err != nil {
			return err
		}
		if video != "" {
			entry.Y4M = filepath.Join(out, fmt.Sprintf("%d.y4m", i))
			if err := os.WriteFile(entry.Y4M, y4mFrame(im.Gray(), w, h), 0o644); err != nil {
				return err
			}
		}
		written = append(written, entry)
	}
	list, err := json.MarshalIndent(written, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "images.json"), append(list, '\n'), 0o644)
}

func writePNG(path string, im *fashionmnist.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, im.Gray()); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
