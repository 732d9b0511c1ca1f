// Command mlpviz trains a small CNN and shows what happens inside its MLP
// classification head while it learns.
//
//	mlpviz train --headless [flags]   train in the terminal
//
// Run "mlpviz help" for the sub-commands and "mlpviz train -h" for flags.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
)

// usageError is a mistake in the command line: reported with a hint and
// exit status 2, as the flag package does.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// exitError carries a specific exit status (130 for an interrupt).
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }

const topUsage = `mlpviz: watch the MLP head of a CNN learn

usage:
  mlpviz train [flags]     train a model (add --headless for the terminal only)
  mlpviz view FILE         replay a run file (also one still being written)
  mlpviz render FILE -o out.mp4   a run file to video, no interaction (--size, --fps, --seconds-per-pass)
  mlpviz inspect FILE      summarise a run file (--json for scripts)
  mlpviz import SEED.json -o FILE.mlpv   convert the seed tool's JSON collection
  mlpviz export FILE --format json -o out.json   write the seed's JSON format
  mlpviz help              this text

Run "mlpviz train -h" for the training flags.
`

func main() {
	// MLPVIZ_CPUPROFILE=file writes a CPU profile of the whole run, for
	// "go tool pprof".
	if path := os.Getenv("MLPVIZ_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			if pprof.StartCPUProfile(f) == nil {
				code := run(os.Args[1:], os.Stdout, os.Stderr)
				pprof.StopCPUProfile()
				f.Close()
				os.Exit(code)
			}
		}
	}
	code := run(os.Args[1:], os.Stdout, os.Stderr)
	// MLPVIZ_MEMPROFILE=file writes where the run allocated, for
	// "go tool pprof -sample_index=alloc_objects".
	if path := os.Getenv("MLPVIZ_MEMPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			pprof.Lookup("allocs").WriteTo(f, 0)
			f.Close()
		}
	}
	os.Exit(code)
}

// run executes one command line and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	err := dispatch(args, stdout, stderr)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintln(stderr, "mlpviz:", err)
	var ue usageError
	var ee exitError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, `run "mlpviz help" or "mlpviz <command> -h" for usage`)
		return 2
	case errors.As(err, &ee):
		return ee.code
	}
	return 1
}

func dispatch(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return runTrain(nil, stdout, stderr)
	}
	switch args[0] {
	case "train":
		return runTrain(args[1:], stdout, stderr)
	case "view":
		return runView(args[1:], stdout, stderr)
	case "render":
		return runRender(args[1:], stdout, stderr)
	case "import":
		return runImport(args[1:], stdout, stderr)
	case "export":
		return runExport(args[1:], stdout, stderr)
	case "inspect":
		return runInspect(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, topUsage)
		return nil
	}
	if len(args[0]) > 0 && args[0][0] == '-' {
		// Flags with no sub-command mean "train", as the seed's main.py.
		return runTrain(args, stdout, stderr)
	}
	return usageError{fmt.Sprintf("unknown command %q", args[0])}
}
