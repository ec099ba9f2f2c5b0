// Package fashionmnist reads Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017)
// from its IDX files, gzip-compressed as Debian's dataset-fashion-mnist
// package installs them under Dir.
//
//	images, err := fashionmnist.Load(fashionmnist.TestImages, fashionmnist.TestLabels)
//
// Each image is 28x28 8-bit gray, white clothing on a black background,
// with a label indexing Classes.
package fashionmnist

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
)

// Dir is where Debian's dataset-fashion-mnist package puts the files.
const Dir = "/usr/share/datasets/fashion-mnist"

// The test set (10,000 images) and training set (60,000 images) in Dir.
var (
	TestImages  = filepath.Join(Dir, "t10k-images-idx3-ubyte.gz")
	TestLabels  = filepath.Join(Dir, "t10k-labels-idx1-ubyte.gz")
	TrainImages = filepath.Join(Dir, "train-images-idx3-ubyte.gz")
	TrainLabels = filepath.Join(Dir, "train-labels-idx1-ubyte.gz")
)

// Side is the width and height of every image.
const Side = 28

// Classes names the labels in index order, as the dataset defines them.
var Classes = [10]string{
	"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
	"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
}

// Image is one labelled picture.
type Image struct {
	Pixels [Side * Side]uint8 // row-major; 0 is the black background
	Label  int                // index into Classes
}

// Gray returns the pixels as an image (sharing nothing with im).
func (im *Image) Gray() *image.Gray {
	g := image.NewGray(image.Rect(0, 0, Side, Side))
	copy(g.Pix, im.Pixels[:])
	return g
}

// Load reads an images file and its labels file (gzip-compressed IDX) and
// returns the images in file order. It reads both files whole: the test
// set takes about 8 MB, the training set about 47 MB.
func Load(imagesGz, labelsGz string) ([]Image, error) {
	pix, err := readIDX(imagesGz, 3)
	if err != nil {
		return nil, err
	}
	labels, err := readIDX(labelsGz, 1)
	if err != nil {
		return nil, err
	}
	if pix.dims[1] != Side || pix.dims[2] != Side {
		return nil, fmt.Errorf("%s: images are %dx%d, want %dx%d", imagesGz, pix.dims[2], pix.dims[1], Side, Side)
	}
	if pix.dims[0] != labels.dims[0] {
		return nil, fmt.Errorf("%d images but %d labels", pix.dims[0], labels.dims[0])
	}
	out := make([]Image, pix.dims[0])
	for i := range out {
		copy(out[i].Pixels[:], pix.data[i*Side*Side:])
		out[i].Label = int(labels.data[i])
		if out[i].Label >= len(Classes) {
			return nil, fmt.Errorf("%s: label %d of item %d is out of range", labelsGz, out[i].Label, i)
		}
	}
	return out, nil
}

// idx is the content of an IDX file of unsigned bytes.
type idx struct {
	dims []int
	data []byte
}

// idxUbyte is the IDX type code of unsigned 8-bit elements, the only type
// Fashion-MNIST uses.
const idxUbyte = 0x08

// readIDX reads a gzip-compressed IDX file of unsigned bytes with ndim
// dimensions: magic 0x00 0x00 type ndim, big-endian uint32 sizes, data.
func readIDX(path string, ndim int) (*idx, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	head := 4 + 4*ndim
	if len(raw) < head || !bytes.Equal(raw[:3], []byte{0, 0, idxUbyte}) || int(raw[3]) != ndim {
		return nil, fmt.Errorf("%s: not an IDX file of %d-dimensional unsigned bytes", path, ndim)
	}
	out := &idx{data: raw[head:]}
	n := 1
	for d := range ndim {
		size := int(binary.BigEndian.Uint32(raw[4+4*d:]))
		// Checked before multiplying so that a corrupt header cannot overflow n.
		if size != 0 && n > len(out.data)/size {
			return nil, fmt.Errorf("%s: header promises more data than the file holds", path)
		}
		out.dims = append(out.dims, size)
		n *= size
	}
	if len(out.data) != n {
		return nil, fmt.Errorf("%s: header promises %d bytes of data, file has %d", path, n, len(out.data))
	}
	return out, nil
}
