package main

import (
	"bytes"
	"image"
	"testing"
)

func TestY4MFrame(t *testing.T) {
	pic := image.NewGray(image.Rect(0, 0, 28, 28))
	for i := range pic.Pix {
		pic.Pix[i] = 255
	}
	const w, h = 320, 240
	out := y4mFrame(pic, w, h)
	header := "YUV4MPEG2 W320 H240 F30:1 Ip A1:1 C420jpeg\nFRAME\n"
	if !bytes.HasPrefix(out, []byte(header)) {
		t.Fatalf("header %q", out[:min(len(out), len(header))])
	}
	planes := out[len(header):]
	if len(planes) != w*h*3/2 {
		t.Fatalf("%d bytes of planes, want %d (4:2:0)", len(planes), w*h*3/2)
	}
	luma := func(x, y int) byte { return planes[y*w+x] }
	// White picture scaled to 240x240 in the middle; black bars left and right.
	if luma(w/2, h/2) != 235 || luma(40+5, 5) != 235 || luma(5, h/2) != 16 || luma(w-5, h/2) != 16 {
		t.Errorf("luma centre %d, inside corner %d, bars %d %d; want 235, 235, 16, 16",
			luma(w/2, h/2), luma(45, 5), luma(5, h/2), luma(w-5, h/2))
	}
	for i, v := range planes[w*h:] {
		if v != 128 {
			t.Fatalf("chroma byte %d is %d, want 128 (gray)", i, v)
		}
	}
}
