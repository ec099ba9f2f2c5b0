package preprocess

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"strconv"
	"strings"

	// Decoders for image.Decode and image.DecodeConfig.
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"

	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/tiff"
	_ "golang.org/x/image/webp"
)

// DefaultMaxPixels is the pixel budget Decode uses when given maxPixels <= 0.
//
// 50 megapixels admits the full-resolution photos of current phone and
// consumer cameras (48 MP is 8000x6000, a 50 MP sensor is 8160x6120) while
// bounding what one decode takes from a WebAssembly heap (4 GiB at most,
// often less in a browser tab). At 50 MP: 75 MB for a baseline 4:2:0 JPEG
// (the usual camera file), 200 MB for RGBA (PNG, WebP, or a JPEG that EXIF
// rotates, which adds that to its planes), up to about 1 GB in the rare
// worst case of a rotated progressive 4:4:4 JPEG, whose coefficients Go
// keeps as int32 while decoding. The model sees 224x224 pixels anyway.
const DefaultMaxPixels = 50_000_000

// ErrUnsupported is returned (wrapped) by Decode for data that is not an
// image in one of the supported formats.
var ErrUnsupported = errors.New("not a supported image (JPEG, PNG, GIF, BMP, TIFF, WebP)")

// ErrTooLarge is matched (with errors.Is) by the *TooLargeError that Decode
// returns for an image over the pixel budget.
var ErrTooLarge = errors.New("image over the pixel budget")

// TooLargeError reports an image whose header declares more pixels than the
// budget given to Decode. It is returned before any pixel is decoded.
type TooLargeError struct {
	Width, Height int // from the image header
	MaxPixels     int // the budget
}

// Error describes the image and the budget, as in "image is 30000x30000
// (900 megapixels), over the 50 megapixel limit".
func (e *TooLargeError) Error() string {
	n := int64(e.Width) * int64(e.Height)
	return fmt.Sprintf("image is %dx%d (%s), over the %s limit",
		e.Width, e.Height, pixelCount(n, "s"), pixelCount(int64(e.MaxPixels), ""))
}

// Is makes errors.Is(err, ErrTooLarge) true.
func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

// pixelCount writes n in megapixels with at most one decimal ("900
// megapixels", "52.5 megapixels"), or in pixels below 0.1 megapixel;
// plural is appended to the unit ("s", or "" for "the 50 megapixel
// limit").
func pixelCount(n int64, plural string) string {
	if n == 1 {
		plural = ""
	}
	if n < 100_000 {
		return strconv.FormatInt(n, 10) + " pixel" + plural
	}
	s := strconv.FormatFloat(float64(n)/1e6, 'f', 1, 64)
	s = strings.TrimSuffix(s, ".0")
	return s + " megapixel" + plural
}

// SniffBytes is how much of a file Sniff needs: the longest magic number
// of the formats Decode reads (WebP's "RIFF????WEBPVP8").
const SniffBytes = 16

// Sniff tells from a file's first SniffBytes bytes whether it is in a
// format Decode reads, so that a reader of a stream of unknown length
// (/dev/zero) can stop before reading the rest.
func Sniff(head []byte) error {
	if _, _, err := image.DecodeConfig(bytes.NewReader(head)); errors.Is(err, image.ErrFormat) {
		return fmt.Errorf("preprocess: %w", ErrUnsupported)
	}
	return nil
}

// Decode decodes a JPEG, PNG, GIF (first frame), BMP, TIFF or WebP image.
//
// It reads the header first and refuses, with a *TooLargeError, an image
// declaring more than maxPixels pixels, before decoding any of them (and
// so before allocating for them); maxPixels <= 0 means DefaultMaxPixels.
// Data in no supported format gives an error wrapping ErrUnsupported.
//
// A JPEG's EXIF orientation (1-8) is applied, so the result is upright as a
// browser shows it; such a rotated or mirrored JPEG is returned as
// *image.NRGBA. A lossy WebP is returned as *image.NRGBA too, converted from
// its limited-range YUV as libwebp does (see webp.go). Every other image is
// returned as its decoder made it.
func Decode(data []byte, maxPixels int) (image.Image, error) {
	if maxPixels <= 0 {
		maxPixels = DefaultMaxPixels
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if errors.Is(err, image.ErrFormat) {
		return nil, fmt.Errorf("preprocess: %w", ErrUnsupported)
	}
	if err != nil {
		return nil, &DecodeError{Format: format, Err: err}
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("preprocess: %s image has no pixels (%dx%d)", format, cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > int64(maxPixels) {
		return nil, &TooLargeError{Width: cfg.Width, Height: cfg.Height, MaxPixels: maxPixels}
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, &DecodeError{Format: format, Err: err}
	}
	switch format {
	case "jpeg":
		img = orient(img, jpegOrientation(data))
	case "webp":
		switch m := img.(type) {
		case *image.YCbCr:
			img = webpToNRGBA(m, nil)
		case *image.NYCbCrA:
			img = webpToNRGBA(&m.YCbCr, m)
		}
	}
	return img, nil
}

// DecodeError is a file in a supported format that its decoder refused:
// damaged, or cut off.
type DecodeError struct {
	Format string // as image.Decode names it: "png", "jpeg", ...
	Err    error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("preprocess: decoding the %s image: %v", e.Format, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// orient returns img turned upright according to the EXIF orientation o:
// the pixels are converted to RGB first, as PIL's exif_transpose works on
// decoded pixels, then moved.
func orient(img image.Image, o int) image.Image {
	if o < 2 || o > 8 {
		return img
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	ow, oh := w, h
	if o >= 5 {
		ow, oh = h, w
	}
	out := image.NewNRGBA(image.Rect(0, 0, ow, oh))
	read := newRowReader(img)
	row := make([]uint8, w*3)
	// Where stored pixel (x, y) goes in the upright image.
	pos := func(x, y int) (int, int) {
		switch o {
		case 2: // mirrored left-right
			return w - 1 - x, y
		case 3: // rotated 180
			return w - 1 - x, h - 1 - y
		case 4: // mirrored top-bottom
			return x, h - 1 - y
		case 5: // transposed
			return y, x
		case 6: // needs 90 degrees clockwise
			return h - 1 - y, x
		case 7: // transversed
			return h - 1 - y, w - 1 - x
		default: // 8: needs 90 degrees counterclockwise
			return y, w - 1 - x
		}
	}
	for y := range h {
		read(row, y, 0, w)
		// The mapping is affine: one step along a stored row is a fixed
		// step in out.Pix.
		i := out.PixOffset(pos(0, y))
		step := out.PixOffset(pos(1, y)) - i
		for x := range w {
			p := out.Pix[i : i+4]
			p[0], p[1], p[2], p[3] = row[x*3], row[x*3+1], row[x*3+2], 0xff
			i += step
		}
	}
	return out
}
