package main

import (
	"fmt"
	"io"

	"github.com/inbrowser/resnet/engine/arch"
)

func init() {
	commands["summary"] = command{
		usage: "resnet18|resnet34|resnet50|resnet101|resnet152 [-v1] [-batch 64] [-input 224] [-classes 1000] [-tree=true]",
		run:   runSummary,
	}
}

// Flag limits that keep every count of the summary well inside 64 bits.
const (
	maxSummaryBatch = 1 << 16
	maxSummaryInput = 8192
)

// runSummary prints torchsummary's table for an architecture, then, unless
// -tree=false, PyTorch's print(model) module tree, exactly as the two Python
// calls summary(model, (3, input, input), batch_size=batch) and print(model)
// would print them one after the other.
func runSummary(args []string, stdout, _ io.Writer) error {
	fs := newFlagSet("summary")
	v1 := fs.Bool("v1", false, "put a Bottleneck's stride on its first 1x1 conv (the paper's v1) instead of the 3x3 (torchvision's v1.5)")
	batch := fs.Int("batch", 64, "batch size shown in the shapes; -1 as torchsummary's default")
	input := fs.Int("input", 224, "input height and width in pixels")
	classes := fs.Int("classes", 1000, "outputs of the final fully connected layer")
	tree := fs.Bool("tree", true, "also print the module tree")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: want exactly one architecture, got %d arguments", errUsage, len(pos))
	}
	cfg, err := arch.ParseName(pos[0])
	if err != nil {
		return fmt.Errorf("%w: unknown architecture %q (want resnet18, resnet34, resnet50, resnet101 or resnet152)", errUsage, pos[0])
	}
	if *v1 {
		cfg.Variant = arch.V1
	}
	cfg.NumClasses = *classes
	if *batch != -1 && (*batch < 1 || *batch > maxSummaryBatch) {
		return fmt.Errorf("%w: -batch %d out of range (want -1 or 1 to %d)", errUsage, *batch, maxSummaryBatch)
	}
	if *input < 1 || *input > maxSummaryInput {
		return fmt.Errorf("%w: -input %d out of range (want 1 to %d)", errUsage, *input, maxSummaryInput)
	}
	n, err := cfg.Build()
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if _, err := io.WriteString(stdout, n.Summary(*batch, *input)); err != nil {
		return err
	}
	if *tree {
		if _, err := io.WriteString(stdout, n.ModuleTree()); err != nil {
			return err
		}
	}
	return nil
}
