package weights

import (
	"strings"
	"testing"
)

func TestOfficials(t *testing.T) {
	seen := map[string]bool{}
	for _, o := range Officials {
		if seen[o.Name] {
			t.Errorf("%s listed twice", o.Name)
		}
		seen[o.Name] = true
		if len(o.HashPrefix()) != 8 || o.URL != torchvisionBase+o.File || !strings.HasPrefix(o.File, o.Arch+"-") || o.Crop != 224 {
			t.Errorf("%+v: want an 8-digit hash prefix, torchvision's URL and crop 224", o)
		}
		if want := 256; strings.HasSuffix(o.Weights, "V2") {
			if o.Resize != 232 {
				t.Errorf("%s: V2 weights are evaluated at resize 232, not %d", o.Name, o.Resize)
			}
		} else if o.Resize != want {
			t.Errorf("%s: resize %d, want %d", o.Name, o.Resize, want)
		}
	}
	for _, depth := range []string{"18", "34", "50", "101", "152"} {
		if !seen["resnet"+depth] {
			t.Errorf("no V1 weights for ResNet-%s", depth)
		}
	}
	if got := Officials[3].Title(); got != "torchvision ResNet-50, IMAGENET1K_V2, 80.9% top-1" {
		t.Errorf("Title = %q", got)
	}
}

func TestHashPrefix(t *testing.T) {
	for name, want := range map[string]string{
		"resnet18-f37072fd.pth": "f37072fd", "resnet50-11ad3fa6.pth": "11ad3fa6", "x.pth": "", "a-b-0a.tar.gz": "0a", "resnet-XYZ.pth": "",
		"a-.pth": "", "x-1-ab.pth": "ab", "x-1z-ab.pth": "ab", "x-AB.pth": "", "x-ab": "",
	} {
		if got := HashPrefix(name); got != want {
			t.Errorf("HashPrefix(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestMatchOfficial: a file is official when its SHA-256 starts with the
// prefix and the architecture agrees; the name plays no part.
func TestMatchOfficial(t *testing.T) {
	sum := "0676ba61" + strings.Repeat("0", 56)
	if o := MatchOfficial(Officials, sum, "resnet50"); o == nil || o.Weights != "IMAGENET1K_V1" {
		t.Errorf("resnet50 with hash %s: got %+v, want IMAGENET1K_V1", sum[:8], o)
	}
	if o := MatchOfficial(Officials, sum, "resnet18"); o != nil {
		t.Errorf("a ResNet-18 with ResNet-50's hash matched %s", o.Name)
	}
	if o := MatchOfficial(Officials, "1"+sum[1:], "resnet50"); o != nil {
		t.Errorf("another hash matched %s", o.Name)
	}
	if s := Officials[3].Spec(); s.Resize != 232 || s.Crop != 224 || s.Mean[0] != 0.485 {
		t.Errorf("Spec = %+v", s)
	}
}
