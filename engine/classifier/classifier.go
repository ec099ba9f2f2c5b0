// Package classifier joins the pieces one image goes through: decode,
// preprocess, run the network, and name the top classes. The command-line
// tool and the browser app both classify through it.
package classifier

import (
	"fmt"
	"image"
	"sync"
	"time"

	"github.com/inbrowser/resnet/engine"
	"github.com/inbrowser/resnet/engine/arch"
	"github.com/inbrowser/resnet/engine/checkpoint"
	"github.com/inbrowser/resnet/engine/kernel"
	"github.com/inbrowser/resnet/engine/preprocess"
)

// Options describe a model: its architecture, the preprocessing it was
// trained with, and its class names (index order).
type Options struct {
	Config    arch.Config
	Spec      preprocess.Spec
	Labels    []string
	MaxPixels int // decoded-size budget; 0 means preprocess.DefaultMaxPixels
}

// Classifier classifies images with one loaded model. It is safe for
// concurrent use; calls run one at a time on a shared session so memory
// stays at one set of activation buffers.
type Classifier struct {
	opts  Options
	model *engine.Model

	mu      sync.Mutex
	session *engine.Session
	accel   Accelerator // nil: the CPU engine runs every image
	input   []float32
}

// Accelerator runs the network on other hardware than the CPU engine, such
// as WebGPU, for inputs of the classifier's crop size.
type Accelerator interface {
	Run(input []float32) ([]float32, error)
	Name() string
	Close()
}

// FeatureMapAccelerator is an Accelerator that can also return the last
// block's output. A classification asked for the feature map runs on the
// CPU engine when the accelerator is not one.
type FeatureMapAccelerator interface {
	Accelerator
	// RunFeatureMap is Run that also returns the feature map; both may be
	// overwritten by the next call.
	RunFeatureMap(input []float32) ([]float32, engine.FeatureMap, error)
}

// PipelinedAccelerator is a FeatureMapAccelerator that takes the next input
// before an earlier one's result is back. The classifier then holds its
// lock only while it prepares and submits an image, so the next image is
// prepared and submitted while this one's result is read back
// (consecutive webcam frames on a GPU).
type PipelinedAccelerator interface {
	FeatureMapAccelerator
	// Submit starts a run of input, which it no longer reads once it
	// returns, and returns what waits for that run's result: the logits
	// and, with featureMap, the feature map, both the caller's.
	Submit(input []float32, featureMap bool) (wait func() ([]float32, engine.FeatureMap, error), err error)
}

// Extras selects what a classification returns beyond the top classes and
// the logits; nothing is computed or copied for what is not asked.
type Extras struct {
	// FeatureMap fills Result.FeatureMap with the last block's output and
	// Result.Input with the tensor the network ran on, from which package
	// cam makes any class's activation map and preprocess.CropImage the
	// picture to show it over.
	FeatureMap bool
}

// Class is one predicted class.
type Class struct {
	Index int     `json:"index"`
	Label string  `json:"label"`
	Prob  float32 `json:"prob"`
}

// Result is the outcome of one classification with where the time went.
type Result struct {
	Top        []Class       `json:"top"`
	Logits     []float32     `json:"logits"`     // the network's output, one per class
	Decode     time.Duration `json:"decode"`     // zero when given an image
	Preprocess time.Duration `json:"preprocess"` // resize, crop, normalize
	Inference  time.Duration `json:"inference"`  // the network and softmax
	Backend    string        `json:"backend"`    // what ran the network
	// Fallback says why the accelerator was dropped during this call, after
	// which the CPU engine ran it; empty otherwise.
	Fallback string `json:"fallback,omitempty"`
	// With Extras.FeatureMap: the last block's output, and the normalized
	// Crop x Crop x 3 input it came from (both the result's own).
	FeatureMap *engine.FeatureMap `json:"-"`
	Input      []float32          `json:"-"`
	// Size is the picture's size (after EXIF orientation) and Crop the
	// square the network saw in its pixels (preprocess.Spec.CropRegion),
	// for placing a map of the crop over the picture.
	Size image.Point       `json:"-"`
	Crop preprocess.Region `json:"-"`
}

// New builds a classifier from weights already read into ckpt.
func New(opts Options, ckpt *checkpoint.Checkpoint) (*Classifier, error) {
	if len(opts.Labels) != opts.Config.NumClasses {
		return nil, fmt.Errorf("%d labels for %d classes", len(opts.Labels), opts.Config.NumClasses)
	}
	if opts.MaxPixels == 0 {
		opts.MaxPixels = preprocess.DefaultMaxPixels
	}
	// Every image is cropped to Spec.Crop, the one size the model runs at.
	m, err := engine.New(opts.Config, ckpt, engine.OnlyInputSize(opts.Spec.Crop))
	if err != nil {
		return nil, err
	}
	return &Classifier{opts: opts, model: m, session: m.NewSession()}, nil
}

// Model is the classifier's network on the CPU engine, which also runs
// every image when there is no accelerator.
func (c *Classifier) Model() *engine.Model { return c.model }

// Options returns what the classifier was built with.
func (c *Classifier) Options() Options { return c.opts }

// ClassifyBytes decodes an encoded image (JPEG, PNG, GIF, BMP, TIFF, WebP)
// and classifies it, refusing images over the pixel budget before decoding.
func (c *Classifier) ClassifyBytes(data []byte, k int) (*Result, error) {
	return c.ClassifyBytesWith(data, k, Extras{})
}

// ClassifyBytesWith is ClassifyBytes returning the extras asked for.
func (c *Classifier) ClassifyBytesWith(data []byte, k int, x Extras) (*Result, error) {
	start := time.Now()
	img, err := preprocess.Decode(data, c.opts.MaxPixels)
	if err != nil {
		return nil, err
	}
	decoded := time.Since(start)
	r, err := c.ClassifyWith(img, k, x)
	if err != nil {
		return nil, err
	}
	r.Decode = decoded
	return r, nil
}

// Classify returns the k most probable classes of img.
func (c *Classifier) Classify(img image.Image, k int) (*Result, error) {
	return c.ClassifyWith(img, k, Extras{})
}

// ClassifyWith is Classify returning the extras asked for.
func (c *Classifier) ClassifyWith(img image.Image, k int, x Extras) (*Result, error) {
	r, fallback, err := c.classifyPipelined(img, k, x)
	if r != nil || err != nil {
		return r, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	start := time.Now()
	c.input, err = preprocess.Tensor(img, c.opts.Spec, c.input)
	if err != nil {
		return nil, err
	}
	prepared := time.Now()
	logits, fm, backend, dropped, err := c.run(x.FeatureMap)
	if err != nil {
		return nil, err
	}
	if fallback == "" {
		fallback = dropped
	}
	var input []float32
	if x.FeatureMap {
		input = append([]float32(nil), c.input...)
	}
	return c.result(img, k, x, logits, fm, input, prepared.Sub(start), time.Since(prepared), backend, fallback), nil
}

// classifyPipelined classifies img on a PipelinedAccelerator, holding the
// classifier only while it prepares and submits the image. It returns no
// result and no error when there is no such accelerator, or when the
// accelerator failed, with why it was dropped: the caller then classifies
// img again as without one.
func (c *Classifier) classifyPipelined(img image.Image, k int, x Extras) (*Result, string, error) {
	c.mu.Lock()
	pa, ok := c.accel.(PipelinedAccelerator)
	if !ok {
		c.mu.Unlock()
		return nil, "", nil
	}
	start := time.Now()
	var err error
	c.input, err = preprocess.Tensor(img, c.opts.Spec, c.input)
	if err != nil {
		c.mu.Unlock()
		return nil, "", err
	}
	prepared := time.Now()
	var input []float32
	if x.FeatureMap {
		input = append([]float32(nil), c.input...)
	}
	wait, err := pa.Submit(c.input, x.FeatureMap)
	c.mu.Unlock()
	var logits []float32
	var fm engine.FeatureMap
	if err == nil {
		logits, fm, err = wait()
	}
	if err != nil {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.accel != pa { // replaced meanwhile: not this one's failure to report
			return nil, "", nil
		}
		return nil, c.dropAccelerator(err), nil
	}
	return c.result(img, k, x, logits, fm, input, prepared.Sub(start), time.Since(prepared), pa.Name(), ""), "", nil
}

// result makes the Result of img's classification from the network's
// output; with x.FeatureMap, fm and input are the result's own copies.
func (c *Classifier) result(img image.Image, k int, x Extras, logits []float32, fm engine.FeatureMap, input []float32,
	preprocessed, inference time.Duration, backend, fallback string) *Result {
	b := img.Bounds()
	r := &Result{Preprocess: preprocessed, Inference: inference, Backend: backend, Fallback: fallback,
		Logits: append([]float32(nil), logits...), Size: b.Size(), Crop: c.opts.Spec.CropRegion(b.Dx(), b.Dy())}
	if x.FeatureMap {
		fm = fm.Clone()
		r.FeatureMap, r.Input = &fm, input
	}
	for _, p := range engine.TopK(logits, k) {
		r.Top = append(r.Top, Class{Index: p.Index, Label: c.opts.Labels[p.Index], Prob: p.Prob})
	}
	return r
}

// dropAccelerator closes and drops the accelerator after it failed with
// err, and says so for the result; c.mu is held.
func (c *Classifier) dropAccelerator(err error) string {
	fallback := fmt.Sprintf("%s failed (%v); classifying with %s instead.", c.accel.Name(), err, kernel.Backend())
	c.accel.Close()
	c.accel = nil
	return fallback
}

// run runs the network on c.input, with the feature map if features: on
// the accelerator if there is one (and it can return the feature map when
// asked), and on the CPU engine otherwise or if it fails, in which case
// the accelerator is closed and dropped (a lost GPU does not come back by
// itself; the caller may set a new one).
func (c *Classifier) run(features bool) (logits []float32, fm engine.FeatureMap, backend, fallback string, err error) {
	if c.accel != nil {
		fa, canMap := c.accel.(FeatureMapAccelerator)
		switch {
		case !features:
			logits, err = c.accel.Run(c.input)
		case canMap:
			logits, fm, err = fa.RunFeatureMap(c.input)
		}
		if err == nil && logits != nil {
			return logits, fm, c.accel.Name(), "", nil
		}
		if err != nil {
			fallback = c.dropAccelerator(err)
		}
	}
	size := c.opts.Spec.Crop
	logits, err = c.session.Run(c.input, size, size)
	return logits, c.session.FeatureMap(), kernel.Backend(), fallback, err
}

// SetAccelerator makes a run on other hardware; nil returns to the CPU
// engine. The classifier closes the accelerator it replaces or drops.
func (c *Classifier) SetAccelerator(a Accelerator) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.accel != nil {
		c.accel.Close()
	}
	c.accel = a
}

// Backend names what runs the network now.
func (c *Classifier) Backend() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.accel != nil {
		return c.accel.Name()
	}
	return kernel.Backend()
}
