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
	limitMemory()
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
	f, err := os.Open(in)
	if err != nil {
		return fmt.Errorf("cannot open %s: %w", in, err)
	}
	defer f.Close()
	// Streamed, one pass at a time, into a file that appears at -o only
	// once whole: a failed or killed import leaves nothing that looks like
	// a run in progress.
	var w *runfile.Writer
	var arch *collector.Architecture
	passes := 0
	err = seedjson.Decode(f, func(a *collector.Architecture) error {
		arch = a
		w, err = runfile.Create(*out, a, runfile.Options{Precision: prec, Force: *force, Whole: true})
		return err
	}, func(p *collector.Pass) error {
		passes++
		return w.Append(p)
	})
	if err != nil {
		if w != nil {
			w.Abort()
		}
		return fmt.Errorf("%s: %w", in, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	fmt.Fprintf(stderr, "mlpviz: %s: %d passes (model %s, dataset %s) -> %s (%d bytes)\n", in, passes, orUnknown(arch.Model), orUnknown(arch.Dataset), *out, w.Bytes())
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
	limitMemory()
	fs := newFlags("export")
	out := fs.String("o", "", "`file` to write (default: standard output)")
	format := fs.String("format", "json", "output `format`: json (the PyTorch tool's collection format)")
	force := fs.Bool("force", false, "overwrite an existing output file")
	skip := fs.Bool("skip-damaged", false, "leave out damaged passes, saying which, instead of refusing a damaged run")
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
	if err := checkDamage(r, *skip, stderr); err != nil {
		return err
	}
	write := collectionWriter(r)
	if *out == "" {
		err = write(stdout)
	} else {
		err = writeAtomic(*out, write)
	}
	if err != nil {
		return fmt.Errorf("export %s: %w", in, err)
	}
	if *out != "" {
		fmt.Fprintf(stderr, "mlpviz: %s: %d passes -> %s\n", in, r.Len(), *out)
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
	return r.Len(), writeAtomic(path, collectionWriter(r))
}

// collectionWriter writes the passes of r in the PyTorch tool's format,
// decoding one at a time, so that a run of any length exports in the
// memory of one pass.
func collectionWriter(r *runfile.Reader) func(io.Writer) error {
	return func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<20)
		sw, err := seedjson.NewWriter(bw, r.Architecture())
		if err != nil {
			return err
		}
		for i := range r.Len() {
			p, err := r.Pass(i)
			if err != nil {
				return err
			}
			if err := sw.Pass(p); err != nil {
				return err
			}
		}
		return errors.Join(sw.Close(), bw.Flush())
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
