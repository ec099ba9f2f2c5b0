// Command resnet classifies images, prints architecture summaries and
// converts and fetches weights, all on the same engine the browser app uses.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// A command is one subcommand. Each lives in its own file and registers
// itself in init, so subcommands stay independent of each other. A
// command may write notes for the person on stderr; its error, if any,
// becomes the last line there (see run).
type command struct {
	usage string // one line: arguments and flags
	run   func(args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{}

// errUsage marks an error whose message already says what to type.
var errUsage = errors.New("usage")

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one subcommand and returns the process exit status; every
// failure is one line on stderr.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "help" || args[0] == "--help" {
		printUsage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "resnet: unknown command %q (want %s)\n", args[0], strings.Join(names(), ", "))
		return 2
	}
	if err := cmd.run(args[1:], stdout, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "resnet %s: %v\n", args[0], err)
		if errors.Is(err, errUsage) {
			fmt.Fprintf(stderr, "usage: resnet %s %s\n", args[0], cmd.usage)
			return 2
		}
		return 1
	}
	return 0
}

func names() []string {
	var ns []string
	for n := range commands {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return ns
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: resnet COMMAND [flags] [args]")
	for _, n := range names() {
		fmt.Fprintf(w, "  resnet %s %s\n", n, commands[n].usage)
	}
}

// newFlagSet returns a flag set that reports errors instead of exiting and
// prints nothing itself: run prints the one error line.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses args, accepting flags before and after positional
// arguments (resnet classify photo.jpg -k 3), and returns the positionals.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
