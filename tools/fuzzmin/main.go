// Command fuzzmin trims a fuzz target's committed corpus to the inputs that
// add coverage: it runs the target's seeds (the f.Add calls) and each file
// of testdata/fuzz/TARGET alone under a coverage build of the package, then
// keeps the fewest files that, with the seeds, cover every block that all
// the files covered (greedy set cover, larger gains first, smaller files on
// ties). A dropped input covers nothing new, so `go test -fuzz` finds its
// like again from the kept ones.
//
//	go run ./tools/fuzzmin [-w] ./engine/checkpoint FuzzPTHPickle
//
// Without -w it only reports what it would remove.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

func main() {
	write := flag.Bool("w", false, "remove the files that add no coverage")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: fuzzmin [-w] PACKAGE_DIR FUZZ_TARGET")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 2 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(flag.Arg(0), flag.Arg(1), *write); err != nil {
		log.Fatal(err)
	}
}

func run(pkgDir, target string, write bool) error {
	corpus := filepath.Join(pkgDir, "testdata", "fuzz", target)
	entries, err := os.ReadDir(corpus)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "fuzzmin-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "pkg.test")
	build := exec.Command("go", "test", "-c", "-cover", "-o", bin, ".")
	build.Dir, build.Stderr = pkgDir, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building the coverage test binary: %w", err)
	}
	// covered runs the test binary on the inputs matching sub and returns
	// the coverage blocks they reached.
	covered := func(sub string) (map[string]bool, error) {
		profile := filepath.Join(tmp, "cover.out")
		cmd := exec.Command(bin, "-test.run", "^"+target+"$/^"+sub+"$", "-test.coverprofile", profile)
		cmd.Dir = pkgDir
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("%s/%s: %v\n%s", target, sub, err, out)
		}
		return readProfile(profile)
	}
	base, err := covered("seed#[0-9]+")
	if err != nil {
		return err
	}
	type input struct {
		name   string
		size   int64
		blocks map[string]bool
	}
	var inputs []input
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			return err
		}
		blocks, err := covered(e.Name())
		if err != nil {
			return err
		}
		for b := range base {
			delete(blocks, b)
		}
		inputs = append(inputs, input{e.Name(), info.Size(), blocks})
	}
	want := map[string]bool{}
	for _, in := range inputs {
		for b := range in.blocks {
			want[b] = true
		}
	}
	kept := map[string]bool{}
	for len(want) > 0 {
		best, bestGain := -1, 0
		for i, in := range inputs {
			gain := 0
			for b := range in.blocks {
				if want[b] {
					gain++
				}
			}
			if gain > bestGain || gain == bestGain && gain > 0 && in.size < inputs[best].size {
				best, bestGain = i, gain
			}
		}
		if best < 0 {
			return errors.New("set cover found no input for the remaining blocks")
		}
		kept[inputs[best].name] = true
		for b := range inputs[best].blocks {
			delete(want, b)
		}
	}
	var drop []string
	for _, in := range inputs {
		if !kept[in.name] {
			drop = append(drop, in.name)
		}
	}
	slices.Sort(drop)
	fmt.Printf("%s: %d files; %d add coverage beyond the seeds and each other, %d do not\n", target, len(inputs), len(kept), len(drop))
	if !write {
		return nil
	}
	for _, name := range drop {
		if err := os.Remove(filepath.Join(corpus, name)); err != nil {
			return err
		}
	}
	return nil
}

// readProfile returns the blocks a coverage profile counts as run.
func readProfile(path string) (map[string]bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	blocks := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "mode:") {
			continue
		}
		// file:startLine.startCol,endLine.endCol numStatements count
		fields := strings.Fields(line)
		if len(fields) == 3 && fields[2] != "0" {
			blocks[fields[0]] = true
		}
	}
	return blocks, sc.Err()
}
