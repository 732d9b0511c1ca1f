package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/mlpviz/mlpviz/collector"
	"github.com/mlpviz/mlpviz/collector/runfile"
	"github.com/mlpviz/mlpviz/collector/seedjson"
)

// runImport converts one of the seed tool's JSON collections to a run file.
func runImport(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mlpviz import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "run file to write (required)")
	force := fs.Bool("force", false, "overwrite an existing output file")
	var prec runfile.Precision
	fs.Var(&prec, "precision", "f16 or f32")
	in, err := parseWithFile(fs, args)
	if err != nil {
		return err
	}
	if *out == "" {
		return usageError{"mlpviz import needs -o FILE.mlpv"}
	}
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	arch, passes, err := seedjson.Read(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	w, err := runfile.Create(*out, arch, runfile.Options{Precision: prec, Force: *force})
	if err != nil {
		return err
	}
	for _, p := range passes {
		if err := w.Append(p); err != nil {
			w.Close()
			return fmt.Errorf("%s: %w", *out, err)
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "mlpviz: %s: %d passes (model %s, dataset %s) -> %s (%d bytes)\n", in, len(passes), orUnknown(arch.Model), orUnknown(arch.Dataset), *out, w.Bytes())
	return nil
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// runExport writes a run file back in the seed's JSON format.
func runExport(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mlpviz export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "file to write (default: standard output)")
	format := fs.String("format", "json", "output format: json (the seed's collection format)")
	in, err := parseWithFile(fs, args)
	if err != nil {
		return err
	}
	if *format != "json" {
		return usageError{fmt.Sprintf("unknown --format %q (valid: json)", *format)}
	}
	r, err := runfile.Open(in)
	if err != nil {
		return err
	}
	defer r.Close()
	passes := make([]*collector.Pass, 0, r.Len())
	for i := range r.Len() {
		p, err := r.Pass(i)
		if err != nil {
			return err
		}
		passes = append(passes, p)
	}
	if d := r.Damage(); d != nil {
		fmt.Fprintf(stderr, "mlpviz: %s is damaged at byte %d (%s): exporting its %d whole passes\n", in, d.Offset, d.Reason, len(passes))
	}
	var w io.Writer = stdout
	var file *os.File
	if *out != "" {
		if file, err = os.Create(*out); err != nil {
			return err
		}
		w = file
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	err = seedjson.Write(bw, r.Architecture(), passes)
	err = errors.Join(err, bw.Flush())
	if file != nil {
		err = errors.Join(err, file.Close())
	}
	if err != nil {
		return fmt.Errorf("export %s: %w", in, err)
	}
	return nil
}
