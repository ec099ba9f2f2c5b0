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

// Region is a rectangle in a picture's pixel coordinates, which need not
// be whole: X, Y is its top-left corner, W x H its size.
type Region struct {
	X, Y, W, H float64
}

// CropRegion returns where the square Tensor takes from a w x h picture
// lies in that picture: the resize scales each axis by the resized size
// over the original one, so the crop's edges in the resized image map
// back linearly. It may reach past the picture where Tensor pads (a crop
// larger than the resized image), and it is not quite square when the
// resized length was truncated. Pages use it to place what the network
// saw, such as a class activation map, over the original picture.
func (s Spec) CropRegion(w, h int) Region {
	rw, rh := resizedSize(w, h, s.Resize)
	sx, sy := float64(w)/float64(rw), float64(h)/float64(rh)
	return Region{
		X: float64(cropOffset(rw, s.Crop)) * sx, Y: float64(cropOffset(rh, s.Crop)) * sy,
		W: float64(s.Crop) * sx, H: float64(s.Crop) * sy,
	}
}
