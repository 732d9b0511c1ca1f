package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/mlpviz/mlpviz/collector"
	"github.com/mlpviz/mlpviz/collector/runfile"
	"github.com/mlpviz/mlpviz/collector/seedjson"
)

// runImport converts one of the seed tool's JSON collections to a run file.
func runImport(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("import")
	out := fs.String("o", "", "run `file` to write (required)")
	force := fs.Bool("force", false, "overwrite an existing output file")
	var prec runfile.Precision
	fs.Var(&prec, "precision", "float `precision`: f16 or f32")
	in, err := parseWithFile(fs, args, stdout)
	if err != nil {
		return err
	}
	if *out == "" {
		return usageError{"import needs -o FILE.mlpv, the run file to write"}
	}
	if err := checkOutput(*out, "-o", *force); err != nil {
		return err
	}
	arch, passes, err := readCollection(in)
	if err != nil {
		return err
	}
	// Built in memory and renamed into place whole: a failed or killed
	// import leaves no file that looks like a run in progress.
	data, err := runfile.Encode(arch, passes, runfile.Options{Precision: prec})
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	if err := writeAtomic(*out, func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	fmt.Fprintf(stderr, "mlpviz: %s: %d passes (model %s, dataset %s) -> %s (%d bytes)\n", in, len(passes), orUnknown(arch.Model), orUnknown(arch.Dataset), *out, len(data))
	return nil
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// runExport writes a run file back in the PyTorch tool's JSON format.
func runExport(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("export")
	out := fs.String("o", "", "`file` to write (default: standard output)")
	format := fs.String("format", "json", "output `format`: json (the PyTorch tool's collection format)")
	force := fs.Bool("force", false, "overwrite an existing output file")
	in, err := parseWithFile(fs, args, stdout)
	if err != nil {
		return err
	}
	if *format != "json" {
		return usageError{fmt.Sprintf("unknown --format %q (valid: json)", *format)}
	}
	if *out != "" {
		if err := checkOutput(*out, "-o", *force); err != nil {
			return err
		}
		if same, _ := sameFile(in, *out); same {
			return usageError{fmt.Sprintf("-o %s is the file being exported", *out)}
		}
	}
	r, err := openRun(in, stderr)
	if err != nil {
		return err
	}
	defer r.Close()
	passes, err := readPasses(r)
	if err != nil {
		return err
	}
	if d := r.Damage(); d != nil {
		fmt.Fprintf(stderr, "mlpviz: %s is damaged at byte %d (%s): exporting its %d whole passes\n", in, d.Offset, d.Reason, len(passes))
	}
	write := collectionWriter(r.Architecture(), passes)
	if *out == "" {
		err = write(stdout)
	} else {
		err = writeAtomic(*out, write)
	}
	if err != nil {
		return fmt.Errorf("export %s: %w", in, err)
	}
	if *out != "" {
		fmt.Fprintf(stderr, "mlpviz: %s: %d passes -> %s\n", in, len(passes), *out)
	}
	return nil
}

// writeCollection writes the run file at run as a PyTorch-tool collection
// at path and returns its number of passes.
func writeCollection(run, path string) (int, error) {
	r, err := runfile.Open(run)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	passes, err := readPasses(r)
	if err != nil {
		return 0, err
	}
	return len(passes), writeAtomic(path, collectionWriter(r.Architecture(), passes))
}

// collectionWriter writes arch and passes in the PyTorch tool's format.
func collectionWriter(arch *collector.Architecture, passes []*collector.Pass) func(io.Writer) error {
	return func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<20)
		return errors.Join(seedjson.Write(bw, arch, passes), bw.Flush())
	}
}

// sameFile reports whether two paths name one existing file.
func sameFile(a, b string) (bool, error) {
	sa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	sb, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(sa, sb), nil
}
