package main

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// printSizes lists the built files with their compressed sizes.
func printSizes(w io.Writer, files []*builtFile) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "bytes\tgzip\tbrotli\t\tfile")
	for _, f := range files {
		gz, br := "-", "-"
		if f.gz > 0 {
			gz, br = fmt.Sprint(f.gz), fmt.Sprint(f.br)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t\t%s\n", f.size, gz, br, f.name)
	}
	tw.Flush()
}
