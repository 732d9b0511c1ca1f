package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/mlpviz/mlpviz/internal/suggest"
)

// command is one sub-command: how it is called, what it does, and its code.
type command struct {
	name    string
	args    string // after the flags in the usage line: "FILE"
	summary string // one line, for "mlpviz help" and the command's own help
	run     func(args []string, stdout, stderr io.Writer) error
}

// commands lists the sub-commands in the order "mlpviz help" shows them.
// It is filled in init because the help command's run reads it.
var commands []command

func init() {
	commands = []command{
		{"train", "", "train a model and watch its head learn (--headless: in the terminal only)", runTrain},
		{"view", "FILE [FILE2]", "replay a run file, also one still being written, or a PyTorch-tool collection (.json); two runs side by side or as B − A", runView},
		{"render", "FILE -o OUT.mp4", "turn a run into a video with no interaction", runRender},
		{"inspect", "FILE", "summarise a run file: passes, steps, head, loss, size, damage (--json for scripts)", runInspect},
		{"import", "COLLECTION.json -o FILE.mlpv", "convert a PyTorch-tool JSON collection to a run file", runImport},
		{"export", "FILE [-o OUT.json]", "write a run in the PyTorch tool's JSON collection format", runExport},
		{"serve", "[DIR]", "serve the run files in DIR (default runs/) read-only over HTTP, to view them from another machine", runServe},
		{"help", "[COMMAND]", "show this text, or a command's flags", runHelp},
	}
}

func lookupCommand(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

func commandNames() []string {
	names := make([]string, len(commands))
	for i, c := range commands {
		names[i] = c.name
	}
	return names
}

// topUsage is "mlpviz help": every command on one line each.
func topUsage(w io.Writer) {
	fmt.Fprintf(w, "mlpviz: watch the MLP head of a CNN learn\n\nusage: mlpviz COMMAND [flags] [arguments]\n\ncommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\n\"mlpviz\" alone trains cnn on MNIST in a window (offline). Run \"mlpviz help COMMAND\"\nor \"mlpviz COMMAND --help\" for a command's flags.\n")
}

func runHelp(args []string, stdout, stderr io.Writer) error {
	switch len(args) {
	case 0:
		topUsage(stdout)
		return nil
	case 1:
		c := lookupCommand(args[0])
		if c == nil {
			return unknownCommand(args[0])
		}
		if c.name == "help" {
			topUsage(stdout)
			return nil
		}
		return c.run([]string{"--help"}, stdout, stderr)
	}
	return usageError{fmt.Sprintf("help takes one command, got %d arguments", len(args))}
}

func unknownCommand(name string) error {
	return usageError{fmt.Sprintf("unknown command %q%s (commands: %s)", name,
		suggest.DidYouMean(name, commandNames(), ""), strings.Join(commandNames(), ", "))}
}

// newFlags returns the flag set of a command. It prints nothing itself:
// parseFlags writes help to stdout and turns mistakes into one-line errors.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// errHelpShown ends a command whose help was asked for: exit status 0.
var errHelpShown = errors.New("help shown")

// parseFlags parses args; with files it also collects the arguments that are
// not flags, wherever they stand. --help prints the command's usage on
// stdout and returns errHelpShown.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) (files []string, err error) {
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				printUsage(stdout, fs)
				return nil, errHelpShown
			}
			return nil, usageError{flagError(fs, err)}
		}
		if fs.NArg() == 0 {
			return files, nil
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// parseWithFile parses flags around exactly one file argument.
func parseWithFile(fs *flag.FlagSet, args []string, stdout io.Writer) (string, error) {
	files, err := parseFlags(fs, args, stdout)
	if err != nil {
		return "", err
	}
	c := lookupCommand(fs.Name())
	switch {
	case len(files) == 0:
		return "", usageError{fmt.Sprintf("%s needs a file: mlpviz %s [flags] %s", fs.Name(), fs.Name(), c.args)}
	case len(files) > 1:
		return "", usageError{fmt.Sprintf("%s takes one file, got %d: %s", fs.Name(), len(files), strings.Join(files, " "))}
	}
	return files[0], nil
}

// flagError rewords the flag package's errors in the command line's own
// spelling (--epochs, not -epochs), with a suggestion for a misspelt flag.
func flagError(fs *flag.FlagSet, err error) string {
	msg := err.Error()
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		name = strings.TrimLeft(name, "-")
		s := ""
		if c := suggest.Closest(name, names, ""); c != "" {
			s = fmt.Sprintf(" (did you mean --%s?)", c)
		}
		return fmt.Sprintf("unknown flag %s%s%s", dashes(name), name, s)
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		return fmt.Sprintf("--%s needs a value", strings.TrimLeft(name, "-"))
	}
	// invalid value "two" for flag -epochs: parse error
	if i := strings.Index(msg, " for flag -"); i >= 0 && strings.HasPrefix(msg, "invalid ") {
		rest := msg[i+len(" for flag -"):]
		name, why, _ := strings.Cut(rest, ": ")
		if f := fs.Lookup(name); f != nil && (why == "parse error" || why == "value out of range") {
			why = "want " + valueWords(f.Value)
		}
		return fmt.Sprintf("%s for --%s: %s", msg[:i], name, why)
	}
	return msg
}

// dashes is how help spells a flag: -o, but --epochs.
func dashes(name string) string {
	if len(name) == 1 {
		return "-"
	}
	return "--"
}

// valueWords says what a flag's value must be, from its type.
func valueWords(v flag.Value) string {
	switch t := fmt.Sprintf("%T", v); {
	case strings.Contains(t, "int"):
		return "a whole number"
	case strings.Contains(t, "float"):
		return "a number"
	case strings.Contains(t, "bool"):
		return "true or false"
	case strings.Contains(t, "duration"):
		return "a duration such as 500ms"
	}
	return "a valid value"
}

// printUsage is a command's help: its usage line, what it does, and its
// flags with their defaults.
func printUsage(w io.Writer, fs *flag.FlagSet) {
	c := lookupCommand(fs.Name())
	args := "[flags]"
	if c.args != "" {
		args += " " + c.args
	}
	fmt.Fprintf(w, "usage: mlpviz %s %s\n\n%s.\n\nflags:\n", c.name, args, upperFirst(c.summary))
	type row struct{ left, right string }
	var rows []row
	width := 0
	fs.VisitAll(func(f *flag.Flag) {
		kind, usage := flag.UnquoteUsage(f)
		left := dashes(f.Name) + f.Name
		if kind != "" {
			left += " " + strings.ToUpper(kind)
		}
		if d := f.DefValue; d != "" && d != "0" && d != "false" && !strings.Contains(usage, "default") {
			usage += fmt.Sprintf(" (default %s)", d)
		}
		rows = append(rows, row{left, usage})
		width = max(width, len(left))
	})
	sort.SliceStable(rows, func(i, j int) bool {
		return strings.TrimLeft(rows[i].left, "-") < strings.TrimLeft(rows[j].left, "-")
	})
	for _, r := range rows {
		fmt.Fprintf(w, "  %-*s  %s\n", width, r.left, r.right)
	}
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
