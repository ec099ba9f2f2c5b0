package weights

import (
	"encoding/json"
	"fmt"

	"github.com/inbrowser/resnet/engine/classifier"
)

// PageModel is a model as the page and its worker see it: an entry of the
// build's dist/manifest.json (cmd/build-wasm), or of a model added in the
// browser (wasm/add.go). It is the weights manifest's entry with the class
// names inlined in place of the labels file's name, and the URL of the
// weights file.
type PageModel struct {
	Model
	ClassNames []string `json:"labels"`        // one a class; as a JSON field it takes the place of Model.LabelsFile
	URL        string   `json:"url,omitempty"` // relative to dist/manifest.json; none for an added model, which only the browser's cache holds
	// Added is what the worker records about a model added in the browser
	// (docs/app.md); carried along, not read in Go.
	Added json.RawMessage `json:"added,omitempty"`
}

// ParsePageModel decodes and checks one PageModel. Unknown fields are an
// error, as in Parse, so that the page, the build and the worker cannot
// drift apart silently.
func ParsePageModel(data []byte) (*PageModel, error) {
	var p PageModel
	if err := decodeStrict(data, &p); err != nil {
		return nil, fmt.Errorf("model entry: %w", err)
	}
	if err := p.validateModel(); err != nil {
		if p.Name != "" {
			return nil, fmt.Errorf("model %q: %w", p.Name, err)
		}
		return nil, fmt.Errorf("model entry: %w", err)
	}
	if len(p.ClassNames) != p.Classes {
		return nil, fmt.Errorf("model %q: %d labels for %d classes", p.Name, len(p.ClassNames), p.Classes)
	}
	return &p, nil
}

// Options turns the entry into classifier options, with its inlined class
// names.
func (p *PageModel) Options() (classifier.Options, error) { return p.options(p.ClassNames) }
