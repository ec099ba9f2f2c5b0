package main

import (
	"fmt"
	"image"

	"golang.org/x/image/draw"
)

// y4mFrame returns a one-frame Y4M video (4:2:0) of w x h pixels showing the
// gray picture scaled to h x h in the middle of a black frame, the way the
// dataset shows clothing on black.
func y4mFrame(pic *image.Gray, w, h int) []byte {
	frame := image.NewGray(image.Rect(0, 0, w, h))
	left := (w - h) / 2
	draw.BiLinear.Scale(frame, image.Rect(left, 0, left+h, h), pic, pic.Bounds(), draw.Src, nil)

	out := fmt.Appendf(nil, "YUV4MPEG2 W%d H%d F30:1 Ip A1:1 C420jpeg\nFRAME\n", w, h)
	for _, v := range frame.Pix {
		out = append(out, limitedRangeLuma(v))
	}
	// Gray has no colour: both chroma planes (quarter size) sit at neutral 128.
	for range 2 * (w / 2) * (h / 2) {
		out = append(out, 128)
	}
	return out
}

// limitedRangeLuma maps a full-range gray level to BT.601 studio-range luma
// (16..235), which is how Chromium reads Y4M frames.
func limitedRangeLuma(v uint8) byte {
	return byte(16 + (int(v)*219+127)/255)
}
