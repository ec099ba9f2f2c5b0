package weights

import (
	"fmt"
	"strings"

	"github.com/inbrowser/resnet/engine/preprocess"
)

// Official is one of torchvision's published ImageNet-1K ResNet
// checkpoints. The CLI's `weights fetch` downloads them; the page
// recognises them when a person adds one (the build publishes this table in
// dist/manifest.json).
type Official struct {
	Name    string  `json:"name"`    // what `resnet weights fetch` takes: "resnet50", "resnet50-v2"
	Arch    string  `json:"arch"`    // torchvision function name: "resnet50"
	Weights string  `json:"weights"` // torchvision's weights enum value: "IMAGENET1K_V1"
	File    string  `json:"file"`    // NAME-HASHPREFIX.pth
	URL     string  `json:"url"`     // where torchvision downloads it from
	Acc1    float64 `json:"acc1"`    // torchvision's published ImageNet-1K acc@1, percent
	Acc5    float64 `json:"acc5"`
	Resize  int     `json:"resize"` // the weights' transforms: resize the shorter side,
	Crop    int     `json:"crop"`   // then crop the center
	// Bytes is the published file's size where it is known here (two
	// independent public records of the file agree on it and on its full
	// SHA-256); 0 where it is not, and -max-bytes bounds the download.
	Bytes int64 `json:"bytes,omitempty"`
}

// torchvisionBase is where torchvision downloads its weights from.
const torchvisionBase = "https://download.pytorch.org/models/"

func official(name, arch, weights, file string, acc1, acc5 float64, resize int) Official {
	return Official{Name: name, Arch: arch, Weights: weights, File: file, URL: torchvisionBase + file, Acc1: acc1, Acc5: acc5, Resize: resize, Crop: 224}
}

func withBytes(o Official, n int64) Official {
	o.Bytes = n
	return o
}

// Officials lists torchvision 0.14's ImageNet-1K ResNet weights
// (torchvision/models/resnet.py): V1 for every depth, V2 (a newer training
// recipe, evaluated at resize 232) for 50, 101 and 152.
var Officials = []Official{
	withBytes(official("resnet18", "resnet18", "IMAGENET1K_V1", "resnet18-f37072fd.pth", 69.758, 89.078, 256), 46830571),
	official("resnet34", "resnet34", "IMAGENET1K_V1", "resnet34-b627a593.pth", 73.314, 91.420, 256),
	withBytes(official("resnet50", "resnet50", "IMAGENET1K_V1", "resnet50-0676ba61.pth", 76.130, 92.862, 256), 102530333),
	official("resnet50-v2", "resnet50", "IMAGENET1K_V2", "resnet50-11ad3fa6.pth", 80.858, 95.434, 232),
	official("resnet101", "resnet101", "IMAGENET1K_V1", "resnet101-63fe2227.pth", 77.374, 93.546, 256),
	official("resnet101-v2", "resnet101", "IMAGENET1K_V2", "resnet101-cd907fc2.pth", 81.886, 95.780, 232),
	official("resnet152", "resnet152", "IMAGENET1K_V1", "resnet152-394f9c45.pth", 78.312, 94.046, 256),
	official("resnet152-v2", "resnet152", "IMAGENET1K_V2", "resnet152-f82ba261.pth", 82.284, 96.002, 232),
}

// HashPrefix is the start of the file's SHA-256 that its name carries, as
// torch.hub's check_hash reads it: "resnet18-f37072fd.pth" -> "f37072fd";
// "" when the name has none.
func (o Official) HashPrefix() string { return HashPrefix(o.File) }

// HashPrefix reads the hash prefix in a checkpoint's file name as torch.hub
// does with its HASH_REGEX, -([a-f0-9]*)\. : the hex digits between the
// first "-" followed by them and a ".". (Plain string parsing, not a
// regexp: the browser's worker would compile one at every start.)
func HashPrefix(file string) string {
	for i := 0; i < len(file); i++ {
		if file[i] != '-' {
			continue
		}
		j := i + 1
		for j < len(file) && strings.IndexByte("0123456789abcdef", file[j]) >= 0 {
			j++
		}
		if j < len(file) && file[j] == '.' {
			return file[i+1 : j]
		}
	}
	return ""
}

// Title names the weights for people: "torchvision ResNet-50,
// IMAGENET1K_V2, 80.9% top-1".
func (o Official) Title() string {
	return fmt.Sprintf("torchvision %s, %s, %.1f%% top-1", strings.Replace(o.Arch, "resnet", "ResNet-", 1), o.Weights, o.Acc1)
}

// Spec is the weights' own preprocessing: their resize and crop, with
// ImageNet's normalisation.
func (o Official) Spec() preprocess.Spec {
	s := preprocess.ImageNet
	s.Resize, s.Crop = o.Resize, o.Crop
	return s
}

// MatchOfficial returns the entry of table whose hash prefix starts
// sha256Hex and whose architecture is archName, or nil. A file is
// recognised by its content, never by its name.
func MatchOfficial(table []Official, sha256Hex, archName string) *Official {
	for i := range table {
		o := &table[i]
		if p := o.HashPrefix(); p != "" && o.Arch == archName && strings.HasPrefix(sha256Hex, p) {
			return o
		}
	}
	return nil
}
