package cam

import (
	"image"
	"image/color"
	"slices"
	"testing"

	"github.com/inbrowser/resnet/engine"
)

func TestCompute(t *testing.T) {
	// 1x2 positions, 3 channels: M = w·F at each position.
	f := engine.FeatureMap{H: 1, W: 2, C: 3, Values: []float32{1, 2, 3, 0, -1, 4}}
	m, err := Compute(f, []float32{0.5, 1, -1})
	if err != nil {
		t.Fatal(err)
	}
	if want := []float32{0.5 + 2 - 3, 0 - 1 - 4}; m.H != 1 || m.W != 2 || !slices.Equal(m.Values, want) {
		t.Errorf("got %+v, want 1x2 %v", m, want)
	}
	if _, err := Compute(f, []float32{1, 2}); err == nil {
		t.Error("2 weights for 3 channels accepted")
	}
	if _, err := Compute(engine.FeatureMap{H: 2, W: 2, C: 3, Values: f.Values}, []float32{1, 2, 3}); err == nil {
		t.Error("a 2x2x3 map of 6 values accepted")
	}
	if _, err := Compute(engine.FeatureMap{}, nil); err == nil {
		t.Error("an empty feature map (no Run yet) accepted")
	}
}

func TestNormalized(t *testing.T) {
	m := Map{H: 1, W: 4, Values: []float32{-2, 0, 2, 6}}
	if got, want := m.Normalized().Values, []float32{0, 0.25, 0.5, 1}; !slices.Equal(got, want) {
		t.Errorf("Normalized() = %v, want %v", got, want)
	}
	if got := (Map{H: 1, W: 3, Values: []float32{7, 7, 7}}).Normalized().Values; !slices.Equal(got, []float32{0, 0, 0}) {
		t.Errorf("a constant map normalized to %v, want zeros", got)
	}
	if m.Values[0] != -2 {
		t.Error("Normalized changed its map")
	}
}

// TestResize: PyTorch's interpolate(bilinear, align_corners=False) of
// [1, 2] to 4 is [1, 1.25, 1.75, 2] (the goldens check it against PyTorch
// at 80x48 and 224x224); the same size is the identity; a 1x1 map is
// constant.
func TestResize(t *testing.T) {
	row := Map{H: 1, W: 2, Values: []float32{1, 2}}
	if got, want := row.Resize(1, 4).Values, []float32{1, 1.25, 1.75, 2}; !slices.Equal(got, want) {
		t.Errorf("[1 2] to 4 wide: %v, want %v", got, want)
	}
	col := Map{H: 2, W: 1, Values: []float32{1, 2}}
	if got, want := col.Resize(4, 2).Values, []float32{1, 1, 1.25, 1.25, 1.75, 1.75, 2, 2}; !slices.Equal(got, want) {
		t.Errorf("[1 2] to 4x2: %v, want %v", got, want)
	}
	m := Map{H: 2, W: 3, Values: []float32{1, 2, 3, 4, 5, 6}}
	if got := m.Resize(2, 3); !slices.Equal(got.Values, m.Values) {
		t.Errorf("same size: %v, want %v", got.Values, m.Values)
	}
	if got := (Map{H: 1, W: 1, Values: []float32{3}}).Resize(2, 3).Values; !slices.Equal(got, []float32{3, 3, 3, 3, 3, 3}) {
		t.Errorf("1x1 to 2x3: %v", got)
	}
}

func TestColor(t *testing.T) {
	for _, tc := range []struct {
		v    float32
		want [3]uint8
	}{{0, Viridis[0]}, {-1, Viridis[0]}, {1, Viridis[255]}, {2, Viridis[255]}, {0.5, Viridis[128]}} {
		if got := Color(tc.v); got != (color.NRGBA{tc.want[0], tc.want[1], tc.want[2], 255}) {
			t.Errorf("Color(%g) = %v, want %v", tc.v, got, tc.want)
		}
	}
	// Viridis: lightness (here the luma) rises along the map, by more
	// than 8-bit rounding can undo over 4 entries.
	luma := func(c [3]uint8) float64 { return 0.299*float64(c[0]) + 0.587*float64(c[1]) + 0.114*float64(c[2]) }
	for i := 4; i < 256; i++ {
		if luma(Viridis[i]) <= luma(Viridis[i-4]) {
			t.Fatalf("Viridis[%d] %v is not lighter than [%d] %v", i, Viridis[i], i-4, Viridis[i-4])
		}
	}
}

func TestOverlay(t *testing.T) {
	img := image.NewNRGBA(image.Rect(10, 20, 14, 22)) // 4x2, not at the origin
	for i := range img.Pix {
		img.Pix[i] = 200
	}
	m := Map{H: 1, W: 2, Values: []float32{-5, 5}} // low on the left, high on the right
	bare := Overlay(img, m, 0)
	if bare.Bounds() != image.Rect(0, 0, 4, 2) {
		t.Fatalf("bounds %v, want 4x2 at the origin", bare.Bounds())
	}
	for i := 0; i < len(bare.Pix); i += 4 {
		if got := [4]uint8(bare.Pix[i : i+4]); got != [4]uint8{200, 200, 200, 255} {
			t.Fatalf("alpha 0: pixel %d is %v, want the image's", i/4, got)
		}
	}
	heat := Overlay(img, m, 1)
	at := func(x, y int) color.NRGBA { return heat.NRGBAAt(x, y) }
	if at(0, 0) != Color(0) || at(3, 1) != Color(1) || at(1, 0) != Color(0.25) || at(2, 1) != Color(0.75) {
		t.Errorf("alpha 1: row %v %v %v %v, want the map's colours at 0, 0.25, 0.75, 1", at(0, 0), at(1, 0), at(2, 0), at(3, 0))
	}
	half := Overlay(img, m, 0.5).NRGBAAt(3, 0)
	top := Viridis[255]
	if want := (color.NRGBA{uint8((200 + int(top[0]) + 1) / 2), uint8((200 + int(top[1]) + 1) / 2), uint8((200 + int(top[2]) + 1) / 2), 255}); half != want {
		t.Errorf("alpha 0.5: %v, want %v", half, want)
	}
}
