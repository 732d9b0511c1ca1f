// Command mlpviz trains a small CNN and shows what happens inside its MLP
// classification head while it learns.
//
//	mlpviz train --headless [flags]   train in the terminal
//
// Run "mlpviz help" for the sub-commands and "mlpviz help train" for flags.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"
)

// usageError is a mistake in the command line: reported with a pointer to
// the command's help and exit status 2, as the flag package does.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// exitError carries a specific exit status (130 for an interrupt).
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }

func main() {
	if code, ok := supervise(os.Args[1:]); ok {
		os.Exit(code)
	}
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
	name, err := dispatch(args, stdout, stderr)
	if err == nil || errors.Is(err, errHelpShown) {
		return 0
	}
	fmt.Fprintln(stderr, "mlpviz:", clipMessage(err.Error()))
	var ue usageError
	var ee exitError
	switch {
	case errors.As(err, &ue):
		if name == "" || name == "help" {
			fmt.Fprintln(stderr, "see mlpviz help")
		} else {
			fmt.Fprintf(stderr, "see mlpviz %s --help\n", name)
		}
		return 2
	case errors.As(err, &ee):
		return ee.code
	}
	return 1
}

// clipMessage shortens each overlong line of an error message: errors
// quote what the user gave, and a 50 MB value must not come back whole.
func clipMessage(msg string) string {
	const keepHead, keepTail = 300, 100
	lines := strings.Split(msg, "\n")
	for i, l := range lines {
		if len(l) > keepHead+keepTail+100 {
			lines[i] = fmt.Sprintf("%s … (%d bytes left out) … %s", strings.ToValidUTF8(l[:keepHead], ""), len(l)-keepHead-keepTail, strings.ToValidUTF8(l[len(l)-keepTail:], ""))
		}
	}
	return strings.Join(lines, "\n")
}

// dispatch runs the command args name and says which command that was
// ("" when none was found).
func dispatch(args []string, stdout, stderr io.Writer) (string, error) {
	if len(args) == 0 {
		return "train", runTrain(nil, stdout, stderr)
	}
	switch args[0] {
	case "-h", "-help", "--help":
		topUsage(stdout)
		return "", nil
	}
	if strings.HasPrefix(args[0], "-") {
		// Flags with no sub-command mean "train", as the seed's main.py.
		return "train", runTrain(args, stdout, stderr)
	}
	c := lookupCommand(args[0])
	if c == nil {
		return "", unknownCommand(args[0])
	}
	return c.name, c.run(args[1:], stdout, stderr)
}
