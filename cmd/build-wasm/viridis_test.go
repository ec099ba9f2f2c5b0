package main

import (
	"regexp"
	"strconv"
	"testing"

	"github.com/inbrowser/resnet/engine/cam"
)

// TestViridisModule: viridis.js holds engine/cam's 256 colours, in order.
func TestViridisModule(t *testing.T) {
	src := string(viridisModule())
	body := regexp.MustCompile(`(?s)export const VIRIDIS = new Uint8Array\(\[(.*)\]\);\n$`).FindStringSubmatch(src)
	if body == nil {
		t.Fatalf("viridis.js does not export VIRIDIS as one Uint8Array:\n%s", src)
	}
	numbers := regexp.MustCompile(`\d+`).FindAllString(body[1], -1)
	if len(numbers) != 3*len(cam.Viridis) {
		t.Fatalf("%d numbers, want %d", len(numbers), 3*len(cam.Viridis))
	}
	for i, s := range numbers {
		n, _ := strconv.Atoi(s)
		if want := int(cam.Viridis[i/3][i%3]); n != want {
			t.Fatalf("value %d (colour %d, channel %d) is %d, want %d", i, i/3, i%3, n, want)
		}
	}
}
