package arch

import "testing"

func TestParamCounts(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want int
	}{
		{Standard(18), 11689512},
		{Standard(34), 21797672},
		{Standard(50), 25557032},
		{Config{Depth: 50, Variant: V1, BaseWidth: 64, NumClasses: 1000}, 25557032},
		{Standard(101), 44549160},
		{Standard(152), 60192808},
	} {
		n, err := tc.cfg.Build()
		if err != nil {
			t.Fatal(err)
		}
		if got := n.Params(); got != tc.want {
			t.Errorf("%s %s: %d params, want %d", tc.cfg.Name(), tc.cfg.Variant, got, tc.want)
		}
	}
}

func TestParseName(t *testing.T) {
	if c, err := ParseName("ResNet50"); err != nil || c.Depth != 50 {
		t.Errorf("ParseName(ResNet50) = %v, %v", c, err)
	}
	for _, bad := range []string{"resnet19", "resnet", "vgg16", "resnet50x"} {
		if _, err := ParseName(bad); err == nil {
			t.Errorf("ParseName(%q) accepted", bad)
		}
	}
}
