package classifier

import (
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/inbrowser/resnet/engine"
	"github.com/inbrowser/resnet/engine/arch"
	"github.com/inbrowser/resnet/engine/preprocess"
)

// newTiny returns a classifier on a narrow random ResNet-18 with 32x32
// inputs: enough to exercise the whole path quickly.
func newTiny(t *testing.T, labels int) (*Classifier, error) {
	t.Helper()
	cfg := arch.Config{Depth: 18, BaseWidth: 8, NumClasses: 4}
	ckpt, err := engine.RandomCheckpoint(cfg, 3)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, labels)
	for i := range names {
		names[i] = fmt.Sprintf("class %d", i)
	}
	spec := preprocess.Spec{Resize: 36, Crop: 32, Mean: [3]float32{0.5, 0.5, 0.5}, Std: [3]float32{0.25, 0.25, 0.25}}
	return New(Options{Config: cfg, Spec: spec, Labels: names}, ckpt)
}

func TestClassifyBytes(t *testing.T) {
	clf, err := newTiny(t, 4)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join("..", "preprocess", "testdata", "chelsea.png"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := clf.ClassifyBytes(data, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Top) != 3 {
		t.Fatalf("got %d classes, want 3", len(r.Top))
	}
	var sum float32
	for i, c := range r.Top {
		if c.Label != fmt.Sprintf("class %d", c.Index) {
			t.Errorf("class %d is labelled %q", c.Index, c.Label)
		}
		if i > 0 && c.Prob > r.Top[i-1].Prob {
			t.Errorf("top classes not in order: %+v", r.Top)
		}
		sum += c.Prob
	}
	if sum <= 0 || sum > 1.0001 {
		t.Errorf("top-3 probabilities sum to %g", sum)
	}
	if r.Decode <= 0 || r.Inference <= 0 {
		t.Errorf("timings not measured: %+v", r)
	}
	// chelsea.png is 451x300: the crop the network saw, in its pixels.
	if want := clf.Options().Spec.CropRegion(451, 300); r.Size != image.Pt(451, 300) || r.Crop != want {
		t.Errorf("size %v, crop %+v; want 451x300, %+v", r.Size, r.Crop, want)
	}
	// The same image again gives the same answer (the session is reused).
	again, err := clf.ClassifyBytes(data, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i := range r.Top {
		if again.Top[i] != r.Top[i] {
			t.Fatalf("second run differs: %+v vs %+v", again.Top, r.Top)
		}
	}
}

func TestClassifyErrors(t *testing.T) {
	if _, err := newTiny(t, 3); err == nil {
		t.Error("New accepted 3 labels for 4 classes")
	}
	clf, err := newTiny(t, 4)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := clf.ClassifyBytes([]byte("not an image at all"), 5); !errors.Is(err, preprocess.ErrUnsupported) {
		t.Errorf("non-image bytes: got %v, want ErrUnsupported", err)
	}
}

// fakeAccelerator answers with fixed logits, or fails from the nth call.
type fakeAccelerator struct {
	logits []float32
	failAt int
	calls  int
	closed bool
}

func (f *fakeAccelerator) Run([]float32) ([]float32, error) {
	f.calls++
	if f.calls >= f.failAt {
		return nil, errors.New("device lost")
	}
	return f.logits, nil
}
func (f *fakeAccelerator) Name() string { return "fake GPU" }
func (f *fakeAccelerator) Close()       { f.closed = true }

// TestAcceleratorFallback checks that an accelerator's answer is used, and
// that when it fails the CPU engine answers the same call and takes over.
func TestAcceleratorFallback(t *testing.T) {
	clf, err := newTiny(t, 4)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join("..", "preprocess", "testdata", "chelsea.png"))
	if err != nil {
		t.Fatal(err)
	}
	cpu, err := clf.ClassifyBytes(data, 1)
	if err != nil {
		t.Fatal(err)
	}
	fake := &fakeAccelerator{logits: []float32{0, 0, 9, 0}, failAt: 2}
	clf.SetAccelerator(fake)
	r, err := clf.ClassifyBytes(data, 1)
	if err != nil {
		t.Fatal(err)
	}
	if r.Backend != "fake GPU" || r.Top[0].Index != 2 || r.Fallback != "" {
		t.Fatalf("accelerated result = %+v, want class 2 from the fake GPU", r)
	}
	r, err = clf.ClassifyBytes(data, 1)
	if err != nil {
		t.Fatal(err)
	}
	if r.Fallback == "" || r.Backend == "fake GPU" || r.Top[0] != cpu.Top[0] || !fake.closed {
		t.Fatalf("after the accelerator failed: %+v (closed %v), want the CPU's %+v with a fallback note", r, fake.closed, cpu.Top[0])
	}
	if clf.Backend() == "fake GPU" {
		t.Fatal("the failed accelerator is still in use")
	}
}

// featureAccelerator is a fakeAccelerator that also returns a fixed
// feature map.
type featureAccelerator struct {
	fakeAccelerator
	fm engine.FeatureMap
}

func (f *featureAccelerator) RunFeatureMap(in []float32) ([]float32, engine.FeatureMap, error) {
	logits, err := f.Run(in)
	return logits, f.fm, err
}

// TestClassifyFeatureMap: Extras.FeatureMap returns the CPU session's last
// block output and the input, copies owned by the result; an accelerator
// that cannot return it leaves that call to the CPU engine and stays; one
// that can answers it.
func TestClassifyFeatureMap(t *testing.T) {
	clf, err := newTiny(t, 4)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join("..", "preprocess", "testdata", "chelsea.png"))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := clf.ClassifyBytes(data, 1)
	if err != nil {
		t.Fatal(err)
	}
	if plain.FeatureMap != nil || plain.Input != nil {
		t.Error("the feature map came without being asked for")
	}
	r, err := clf.ClassifyBytesWith(data, 1, Extras{FeatureMap: true})
	if err != nil {
		t.Fatal(err)
	}
	fm := r.FeatureMap
	if fm == nil || fm.H != 1 || fm.W != 1 || fm.C != 64 || len(fm.Values) != 64 || len(r.Input) != 32*32*3 {
		t.Fatalf("feature map %+v, input of %d values; want 1x1x64 and 32x32x3", fm, len(r.Input))
	}
	if r.Top[0] != plain.Top[0] || r.Decode <= 0 {
		t.Errorf("with the feature map: %+v, without: %+v", r, plain)
	}
	saved := append([]float32(nil), fm.Values...)
	other, err := newTiny(t, 4)
	if err != nil {
		t.Fatal(err)
	}
	img, err := preprocess.Decode(data, preprocess.DefaultMaxPixels)
	if err != nil {
		t.Fatal(err)
	}
	want, err := preprocess.Tensor(img, other.Options().Spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if r.Input[i] != want[i] {
			t.Fatalf("input value %d is %g, the preprocessed image's %g", i, r.Input[i], want[i])
		}
	}

	fake := &fakeAccelerator{logits: []float32{0, 0, 9, 0}, failAt: 100}
	clf.SetAccelerator(fake)
	r, err = clf.ClassifyWith(img, 1, Extras{FeatureMap: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.Backend == "fake GPU" || fake.calls != 0 || fake.closed || r.Fallback != "" || r.Top[0] != plain.Top[0] {
		t.Fatalf("an accelerator without feature maps: %+v (calls %d, closed %v), want the CPU's answer", r, fake.calls, fake.closed)
	}
	for i, v := range r.FeatureMap.Values {
		if v != saved[i] {
			t.Fatalf("feature %d: %g, before %g", i, v, saved[i])
		}
	}
	if r, err := clf.ClassifyWith(img, 1, Extras{}); err != nil || r.Backend != "fake GPU" {
		t.Fatalf("the accelerator was dropped: %+v, %v", r, err)
	}
	mapper := &featureAccelerator{fakeAccelerator{logits: []float32{0, 9, 0, 0}, failAt: 100}, engine.FeatureMap{H: 1, W: 1, C: 2, Values: []float32{3, 4}}}
	clf.SetAccelerator(mapper)
	r, err = clf.ClassifyWith(img, 1, Extras{FeatureMap: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.Backend != "fake GPU" || r.Top[0].Index != 1 || r.FeatureMap.C != 2 || &r.FeatureMap.Values[0] == &mapper.fm.Values[0] {
		t.Fatalf("an accelerator with feature maps: %+v, map %+v (its own copy wanted)", r, r.FeatureMap)
	}
}

// pipelinedAccelerator answers each input with logits made from its first
// value (class 0 for a bright picture, 1 for a dark one) once released, or
// fails; it reports each submit.
type pipelinedAccelerator struct {
	featureAccelerator
	submitted chan float32 // each submitted input's first value
	release   chan struct{}
	fail      bool
}

func (p *pipelinedAccelerator) Submit(input []float32, featureMap bool) (func() ([]float32, engine.FeatureMap, error), error) {
	v := input[0]
	p.submitted <- v
	return func() ([]float32, engine.FeatureMap, error) {
		<-p.release
		if p.fail {
			return nil, engine.FeatureMap{}, errors.New("device lost")
		}
		return []float32{v, -v, 0, 0}, p.fm.Clone(), nil
	}, nil
}

// TestPipelinedAccelerator: while one image waits for its result, the next
// is prepared and submitted (the classifier is not held), and each result
// is its own image's; a failed wait falls back to the CPU engine.
func TestPipelinedAccelerator(t *testing.T) {
	clf, err := newTiny(t, 4)
	if err != nil {
		t.Fatal(err)
	}
	uniform := func(v uint8) image.Image {
		img := image.NewGray(image.Rect(0, 0, 40, 40))
		for i := range img.Pix {
			img.Pix[i] = v
		}
		return img
	}
	bright, dark := uniform(250), uniform(10)
	fake := &pipelinedAccelerator{
		featureAccelerator: featureAccelerator{fm: engine.FeatureMap{H: 1, W: 1, C: 2, Values: []float32{3, 4}}},
		submitted:          make(chan float32, 2), release: make(chan struct{}),
	}
	clf.SetAccelerator(fake)
	classify := func(img image.Image, x Extras) chan *Result {
		done := make(chan *Result, 1)
		go func() {
			r, err := clf.ClassifyWith(img, 1, x)
			if err != nil {
				t.Error(err)
			}
			done <- r
		}()
		return done
	}
	first := classify(bright, Extras{})
	<-fake.submitted
	second := classify(dark, Extras{FeatureMap: true})
	select {
	case <-fake.submitted:
	case <-time.After(10 * time.Second):
		t.Fatal("the second image was not submitted while the first waited for its result")
	}
	close(fake.release)
	a, b := <-first, <-second
	if a == nil || b == nil {
		t.FailNow()
	}
	if a.Backend != "fake GPU" || a.Top[0].Index != 0 || b.Top[0].Index != 1 || a.FeatureMap != nil {
		t.Errorf("bright picture: %+v, dark: %+v; want classes 0 and 1 from the fake GPU", a, b)
	}
	if b.FeatureMap == nil || b.FeatureMap.C != 2 || len(b.Input) != 32*32*3 || b.Input[0] >= 0 {
		t.Errorf("the dark picture's feature map %+v and input (%d values) are not its own", b.FeatureMap, len(b.Input))
	}

	cpu := &pipelinedAccelerator{submitted: make(chan float32, 2), release: make(chan struct{}), fail: true}
	close(cpu.release)
	clf.SetAccelerator(nil)
	want, err := clf.ClassifyWith(dark, 1, Extras{})
	if err != nil {
		t.Fatal(err)
	}
	clf.SetAccelerator(cpu)
	r, err := clf.ClassifyWith(dark, 1, Extras{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Fallback == "" || r.Backend != want.Backend || r.Top[0] != want.Top[0] || !cpu.closed || clf.Backend() == "fake GPU" {
		t.Errorf("after a failed run: %+v (closed %v), want the CPU engine's %+v with a fallback note", r, cpu.closed, want.Top[0])
	}
}
