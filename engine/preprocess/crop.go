package preprocess

import (
	"fmt"
	"image"
	"math"
)

// CropImage returns the s.Crop x s.Crop image that Tensor made t from:
// the resized, cropped picture the network saw, before scaling and
// normalization, for showing results over it. Each value is mapped back
// to the nearest 8-bit level, which for a tensor of Tensor is the level it
// came from.
func CropImage(t []float32, s Spec) (*image.NRGBA, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	if len(t) != s.Len() {
		return nil, fmt.Errorf("preprocess: a tensor of %d values, want %dx%dx3 = %d", len(t), s.Crop, s.Crop, s.Len())
	}
	img := image.NewNRGBA(image.Rect(0, 0, s.Crop, s.Crop))
	for p := range s.Crop * s.Crop {
		px := img.Pix[4*p : 4*p+4]
		for c := range 3 {
			v := math.Round((float64(t[3*p+c])*float64(s.Std[c]) + float64(s.Mean[c])) * 255)
			px[c] = uint8(max(0, min(255, v)))
		}
		px[3] = 255
	}
	return img, nil
}
