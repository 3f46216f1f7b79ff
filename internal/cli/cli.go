// Package cli gives the project's commands the conventions a user expects
// of a command line: -h prints the usage and exits 0, -version prints the
// version, and a bad flag is reported once, by the caller.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// Parse parses args into fs, after adding -version. done is true when the
// command has nothing more to do: the usage (for -h) or the version was
// printed to stdout. A bad flag is returned, not printed.
func Parse(fs *flag.FlagSet, args []string, version, usage string, stdout io.Writer) (done bool, err error) {
	showVersion := fs.Bool("version", false, "print the version and exit")
	fs.SetOutput(io.Discard)
	err = fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		PrintUsage(fs, usage, stdout)
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("%w (-h lists the flags)", err)
	}
	if *showVersion {
		fmt.Fprintln(stdout, version)
		return true, nil
	}
	return false, nil
}

// PrintUsage prints the usage line and the flags with their defaults.
func PrintUsage(fs *flag.FlagSet, usage string, w io.Writer) {
	fmt.Fprintln(w, usage)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}
