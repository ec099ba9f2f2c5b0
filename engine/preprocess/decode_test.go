package preprocess

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/png"
	"path/filepath"
	"strings"
	"testing"
)

// pngHeaderOnly is a PNG whose header claims w x h pixels and that has no
// image data at all: decoding it can only fail.
func pngHeaderOnly(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		b.WriteString(typ)
		b.Write(data)
		crc := crc32.NewIEEE()
		crc.Write([]byte(typ))
		crc.Write(data)
		binary.Write(&b, binary.BigEndian, crc.Sum32())
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	chunk("IHDR", ihdr)
	chunk("IEND", nil)
	return b.Bytes()
}

func TestDecodeRefusesOverBudgetBeforeDecoding(t *testing.T) {
	data := pngHeaderOnly(30000, 30000)
	_, err := Decode(data, 0)
	var tl *TooLargeError
	if !errors.As(err, &tl) || !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want a *TooLargeError", err)
	}
	const want = "image is 30000x30000 (900 megapixels), over the 50 megapixel limit"
	if err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
	if tl.Width != 30000 || tl.Height != 30000 || tl.MaxPixels != DefaultMaxPixels {
		t.Errorf("err = %+v", tl)
	}

	// The same kind of file within the budget reaches the decoder, which
	// fails: the budget error above came before any decoding.
	_, err = Decode(pngHeaderOnly(3000, 3000), 0)
	if err == nil || errors.Is(err, ErrTooLarge) || errors.Is(err, ErrUnsupported) {
		t.Fatalf("within budget: err = %v, want a decoding error", err)
	}
	if !strings.Contains(err.Error(), "decoding the png image") {
		t.Errorf("within budget: err = %q", err)
	}

	// The budget applies to every format, and an explicit budget is used.
	_, err = Decode(decodeFile(t, "tiny.jpg"), 200) // 20x14 = 280 pixels
	if !errors.Is(err, ErrTooLarge) || err.Error() != "image is 20x14 (280 pixels), over the 200 pixel limit" {
		t.Errorf("tiny.jpg over 200 pixels: err = %v", err)
	}
	if _, err := Decode(decodeFile(t, "tiny.jpg"), 280); err != nil {
		t.Errorf("tiny.jpg at exactly its pixel count: %v", err)
	}
}

func TestPixelCount(t *testing.T) {
	for n, want := range map[int64]string{
		900_000_000: "900 megapixels", 50_000_000: "50 megapixels", 52_500_000: "52.5 megapixels",
		83_810_205: "83.8 megapixels", 300_000: "0.3 megapixels", 99_999: "99999 pixels", 1: "1 pixel",
	} {
		if got := pixelCount(n, "s"); got != want {
			t.Errorf("pixelCount(%d) = %q, want %q", n, got, want)
		}
	}
	if got := pixelCount(50_000_000, ""); got != "50 megapixel" {
		t.Errorf("pixelCount(50_000_000, \"\") = %q", got)
	}
}

func TestDecodeNotAnImage(t *testing.T) {
	for _, data := range [][]byte{
		nil,
		[]byte("hello, world"),
		[]byte("<svg xmlns='http://www.w3.org/2000/svg'/>"),
		[]byte("%PDF-1.4\n"),
	} {
		_, err := Decode(data, 0)
		if !errors.Is(err, ErrUnsupported) {
			t.Errorf("Decode(%q) err = %v, want ErrUnsupported", data, err)
			continue
		}
		if !strings.Contains(err.Error(), "not a supported image (JPEG, PNG, GIF, BMP, TIFF, WebP)") {
			t.Errorf("Decode(%q) err = %q", data, err)
		}
	}
	// A known format cut short is a decoding error, not "unsupported".
	jpg := decodeFile(t, "rocket.jpg")
	_, err := Decode(jpg[:len(jpg)/2], 0)
	if err == nil || errors.Is(err, ErrUnsupported) {
		t.Errorf("truncated JPEG: err = %v", err)
	}
}

// rgbPixels returns img's pixels as RGB bytes, read as Tensor reads them.
func rgbPixels(img image.Image) []uint8 {
	b := img.Bounds()
	out := make([]uint8, b.Dx()*b.Dy()*3)
	read := newRowReader(img)
	for y := range b.Dy() {
		read(out[y*b.Dx()*3:(y+1)*b.Dx()*3], y, 0, b.Dx())
	}
	return out
}

func pixelDiff(a, b []uint8) (mean float64, maxAbs int) {
	for i := range a {
		d := int(a[i]) - int(b[i])
		d = max(d, -d)
		mean += float64(d)
		maxAbs = max(maxAbs, d)
	}
	return mean / float64(len(a)), maxAbs
}

func mustDecode(t *testing.T, file string) image.Image {
	t.Helper()
	img, err := Decode(decodeFile(t, file), 0)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return img
}

func TestDecodeFormats(t *testing.T) {
	want := rgbPixels(mustDecode(t, "tiny.png"))
	wantGIF := rgbPixels(mustDecode(t, "tiny_gif.png"))
	for _, tc := range []struct {
		file    string
		want    []uint8
		maxMean float64 // 0: lossless, must be identical
	}{
		{"tiny.png", want, 0},
		{"tiny.bmp", want, 0},
		{"tiny.tif", want, 0},
		{"tiny.webp", want, 0}, // lossless WebP
		{"tiny.gif", wantGIF, 0},
		{"tiny.jpg", want, 4},
		{"tiny_lossy.webp", want, 6},
	} {
		img := mustDecode(t, tc.file)
		if got := img.Bounds().Size(); got != image.Pt(20, 14) {
			t.Errorf("%s: size %v, want 20x14", tc.file, got)
			continue
		}
		mean, maxAbs := pixelDiff(rgbPixels(img), tc.want)
		t.Logf("%-16s %-16T mean diff %.3f, max %d", tc.file, img, mean, maxAbs)
		if tc.maxMean == 0 && maxAbs != 0 || mean > tc.maxMean {
			t.Errorf("%s: mean diff %.3f (max %d), want <= %g", tc.file, mean, maxAbs, tc.maxMean)
		}
	}
}

// TestDecodeLikePIL compares the decoding of small odd-sized lossy files
// with PIL's. For JPEG (libjpeg-turbo), with the same chroma upsampling and
// color conversion only the IDCTs differ, by a level here and there; for
// lossy WebP (libwebp), the conversion of webp.go must be exact.
func TestDecodeLikePIL(t *testing.T) {
	for _, tc := range []struct {
		name    string
		maxMean float64
		maxAbs  int
	}{
		// JPEG budgets: about 1.5x the mean and max level differences
		// measured with Go 1.27, with and without GOEXPERIMENT=simd (in
		// the comments). Cb one level off on every 16th pixel (a chroma
		// rounding slip, simulated) adds about 0.03 to the mean: under the
		// old 0.1 budget, over these.
		{"jpeg420_odd.jpg", 0.07, 4},     // measured mean 0.0471, max 3
		{"jpeg422_odd.jpg", 0.055, 3},    // measured mean 0.0363, max 2
		{"jpeg420_narrow.jpg", 0.042, 1}, // measured mean 0.0278, max 1
		{"jpeg422_narrow.jpg", 0.042, 1}, // measured mean 0.0278, max 1
		{"webp_odd.webp", 0, 0},
		{"webp_odd_alpha.webp", 0, 0},
	} {
		got := mustDecode(t, tc.name)
		ref := strings.TrimSuffix(tc.name, filepath.Ext(tc.name)) + ".pil.png"
		pil, err := png.Decode(bytes.NewReader(decodeFile(t, ref)))
		if err != nil {
			t.Fatal(err)
		}
		if got.Bounds() != pil.Bounds() {
			t.Fatalf("%s: bounds %v, PIL %v", tc.name, got.Bounds(), pil.Bounds())
		}
		mean, maxAbs := pixelDiff(rgbPixels(got), rgbPixels(pil))
		t.Logf("%-20s %-14T mean diff %.4f, max %d", tc.name, got, mean, maxAbs)
		if mean > tc.maxMean || maxAbs > tc.maxAbs {
			t.Errorf("%s: mean diff %.4f, max %d from PIL", tc.name, mean, maxAbs)
		}
		if p, ok := pil.(*image.NRGBA); ok {
			g := got.(*image.NRGBA)
			for i := 3; i < len(p.Pix); i += 4 {
				if g.Pix[i] != p.Pix[i] {
					t.Errorf("%s: alpha differs from PIL at byte %d", tc.name, i)
					break
				}
			}
		}
	}
}

// TestDecodeOrientation decodes the eight EXIF orientations of one picture
// (made with PIL, checked there with ImageOps.exif_transpose): each must
// come out upright, like orientation 1.
func TestDecodeOrientation(t *testing.T) {
	upright := mustDecode(t, "orient_1.jpg")
	want := rgbPixels(upright)
	for o := 1; o <= 8; o++ {
		file := "orient_" + string(rune('0'+o)) + ".jpg"
		data := decodeFile(t, file)
		if got := jpegOrientation(data); got != o {
			t.Errorf("%s: orientation %d, want %d", file, got, o)
		}
		img := mustDecode(t, file)
		if img.Bounds() != upright.Bounds() {
			t.Errorf("%s: bounds %v, want %v", file, img.Bounds(), upright.Bounds())
			continue
		}
		if mean, maxAbs := pixelDiff(rgbPixels(img), want); maxAbs > 8 {
			t.Errorf("%s: differs from upright: mean %.2f, max %d", file, mean, maxAbs)
		}
	}
	// The photo stored rotated with orientation 6 comes out landscape
	// (its pixels are checked against torchvision in TestMatchesTorchvision).
	if got := mustDecode(t, "astronaut_exif6.jpg").Bounds().Size(); got != image.Pt(512, 384) {
		t.Errorf("astronaut_exif6.jpg: size %v, want 512x384", got)
	}
}

func TestOrientMapping(t *testing.T) {
	// A 3x2 image whose pixel (x, y) has red x and green y.
	src := image.NewNRGBA(image.Rect(0, 0, 3, 2))
	for y := range 2 {
		for x := range 3 {
			copy(src.Pix[src.PixOffset(x, y):], []uint8{uint8(x), uint8(y), 9, 255})
		}
	}
	// For each orientation, the stored (x, y) expected at upright pixel
	// (0,0), (1,0) and (0,1): the corners name the transform.
	for o, want := range map[int][3][2]uint8{
		1: {{0, 0}, {1, 0}, {0, 1}},
		2: {{2, 0}, {1, 0}, {2, 1}},
		3: {{2, 1}, {1, 1}, {2, 0}},
		4: {{0, 1}, {1, 1}, {0, 0}},
		5: {{0, 0}, {0, 1}, {1, 0}},
		6: {{0, 1}, {0, 0}, {1, 1}},
		7: {{2, 1}, {2, 0}, {1, 1}},
		8: {{2, 0}, {2, 1}, {1, 0}},
	} {
		img := orient(src, o).(*image.NRGBA)
		size := img.Bounds().Size()
		if (o >= 5) != (size == image.Pt(2, 3)) {
			t.Errorf("orientation %d: size %v", o, size)
		}
		for i, p := range []image.Point{{0, 0}, {1, 0}, {0, 1}} {
			c := img.NRGBAAt(p.X, p.Y)
			if [2]uint8{c.R, c.G} != want[i] || c.B != 9 || c.A != 255 {
				t.Errorf("orientation %d: pixel %v is stored %v, want %v", o, p, [2]uint8{c.R, c.G}, want[i])
			}
		}
	}
}
