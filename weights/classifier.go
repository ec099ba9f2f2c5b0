package weights

import (
	"fmt"

	"github.com/inbrowser/resnet/engine/checkpoint"
	"github.com/inbrowser/resnet/engine/classifier"
	"github.com/inbrowser/resnet/engine/preprocess"
)

// Classifier builds the classifier the entry describes from the bytes of
// its weights file, which must match the entry's size and SHA-256.
func (md *Model) Classifier(data []byte) (*classifier.Classifier, error) {
	if err := md.Check(data); err != nil {
		return nil, err
	}
	opts, err := md.Options()
	if err != nil {
		return nil, err
	}
	ckpt, err := checkpoint.Read(data)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", md.Name, err)
	}
	return classifier.New(opts, ckpt)
}

// Options turns the entry into classifier options, with the class names of
// its labels file.
func (md *Model) Options() (classifier.Options, error) {
	labels, err := md.Labels()
	if err != nil {
		return classifier.Options{}, err
	}
	return md.options(labels)
}

// options turns the entry into classifier options with the given class
// names, one per class.
func (md *Model) options(labels []string) (classifier.Options, error) {
	cfg, err := md.Config()
	if err != nil {
		return classifier.Options{}, fmt.Errorf("model %s: %w", md.Name, err)
	}
	if len(labels) != md.Classes {
		return classifier.Options{}, fmt.Errorf("model %s: %d class names for %d classes", md.Name, len(labels), md.Classes)
	}
	if len(md.Mean) != 3 || len(md.Std) != 3 {
		return classifier.Options{}, fmt.Errorf("model %s: mean and std need 3 values each", md.Name)
	}
	spec := preprocess.Spec{Resize: md.Resize, Crop: md.Crop}
	copy(spec.Mean[:], md.Mean)
	copy(spec.Std[:], md.Std)
	return classifier.Options{Config: cfg, Spec: spec, Labels: labels}, nil
}
