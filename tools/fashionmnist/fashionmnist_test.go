package fashionmnist

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeGz writes data gzip-compressed to a new file in dir.
func writeGz(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(data)
	zw.Close()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadSmallFiles(t *testing.T) {
	dir := t.TempDir()
	img := []byte{0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28}
	for i := range 2 * Side * Side {
		img = append(img, byte(i))
	}
	images := writeGz(t, dir, "images.gz", img)
	labels := writeGz(t, dir, "labels.gz", []byte{0, 0, 8, 1, 0, 0, 0, 2, 9, 3})

	got, err := Load(images, labels)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Label != 9 || got[1].Label != 3 {
		t.Fatalf("got %d images with labels %v, %v; want 2 with 9, 3", len(got), got[0].Label, got[1].Label)
	}
	// Pixel values are the running byte counter of the data, wrapping at 256.
	first := byte(Side * Side % 256)
	if got[1].Pixels[0] != first || got[1].Gray().GrayAt(1, 0).Y != first+1 {
		t.Errorf("second image starts with %v; want %v", got[1].Pixels[:2], []byte{first, first + 1})
	}
}

func TestLoadRejectsBadFiles(t *testing.T) {
	dir := t.TempDir()
	labels := writeGz(t, dir, "labels.gz", []byte{0, 0, 8, 1, 0, 0, 0, 1, 0})
	for name, data := range map[string][]byte{
		"not idx":         []byte("hello world, this is no IDX file"),
		"too short":       {0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2, 3},
		"wrong side":      {0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 7},
		"huge dimensions": {0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1},
	} {
		images := writeGz(t, dir, strings.ReplaceAll(name, " ", "-")+".gz", data)
		if _, err := Load(images, labels); err == nil {
			t.Errorf("%s: Load succeeded", name)
		}
	}
}

func TestLoadTestSet(t *testing.T) {
	if _, err := os.Stat(TestImages); err != nil {
		t.Skipf("Fashion-MNIST not installed (apt-get install dataset-fashion-mnist): %v", err)
	}
	images, err := Load(TestImages, TestLabels)
	if err != nil {
		t.Fatal(err)
	}
	if len(images) != 10000 {
		t.Fatalf("test set has %d images, want 10000", len(images))
	}
	// The first test image is an ankle boot, the second a pullover.
	if images[0].Label != 9 || images[1].Label != 2 {
		t.Errorf("first labels %d, %d; want 9 (Ankle boot), 2 (Pullover)", images[0].Label, images[1].Label)
	}
	perClass := make([]int, len(Classes))
	for _, im := range images {
		perClass[im.Label]++
	}
	for c, n := range perClass {
		if n != 1000 {
			t.Errorf("class %s has %d test images, want 1000", Classes[c], n)
		}
	}
}
