package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/mlpviz/mlpviz/collector"
	"github.com/mlpviz/mlpviz/collector/runfile"
	"github.com/mlpviz/mlpviz/collector/seedjson"
)

// openRun opens what a command was given to read: a run file, a
// PyTorch-tool JSON collection, which is imported in memory (saying so on
// stderr), or the URL of a run file that "mlpviz serve" serves (its token
// in the URL as ?token=, or in MLPVIZ_TOKEN), so that view, inspect,
// render and export take any of them.
func openRun(path string, stderr io.Writer) (*runfile.Reader, error) {
	if runfile.IsURL(path) {
		r, err := runfile.OpenURL(path, runfile.URLOptions{Token: os.Getenv("MLPVIZ_TOKEN")})
		if errors.Is(err, runfile.ErrUnauthorized) {
			err = fmt.Errorf("%w; give the token its mlpviz serve was started with, as ?token=T in the URL or in MLPVIZ_TOKEN", err)
		}
		return r, err
	}
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: no such file", path)
	}
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s is a directory, not a run file", path)
	}
	isJSON, err := looksLikeJSON(path)
	if err != nil {
		return nil, err
	}
	if !isJSON {
		return runfile.Open(path)
	}
	data, n, err := encodeCollection(path)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "mlpviz: %s is a PyTorch-tool collection: imported in memory (%d passes); \"mlpviz import\" keeps it as a run file\n", path, n)
	return runfile.OpenBytes(path, data)
}

// encodeCollection reads a PyTorch-tool collection one pass at a time into
// a run file in memory (f32, compressed) and says how many passes it has.
func encodeCollection(path string) ([]byte, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	var w *runfile.Writer
	n := 0
	err = seedjson.Decode(f, func(a *collector.Architecture) error {
		w, err = runfile.NewEncoder(a, runfile.Options{Precision: runfile.F32})
		return err
	}, func(p *collector.Pass) error {
		n++
		return w.Append(p)
	})
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", path, err)
	}
	return w.Encoded(), n, nil
}

// looksLikeJSON reports whether the file starts, after white space, with
// '{': a collection, where a run file starts with its magic.
func looksLikeJSON(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	head := make([]byte, 512)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return false, err
	}
	head = bytes.TrimPrefix(head[:n], []byte("\xef\xbb\xbf")) // a BOM some editors write
	head = bytes.TrimLeft(head, " \t\r\n")
	return len(head) > 0 && head[0] == '{', nil
}

// checkDamage is how export and render meet a damaged run: with skip, the
// damaged passes are left out and named on stderr; without, any damage
// but a last record cut short (a writer that stopped mid-write, after
// which every earlier pass is whole) stops them with a pointer to
// --skip-damaged. Every pass is decoded either way, one at a time.
func checkDamage(r *runfile.Reader, skip bool, stderr io.Writer) error {
	before := r.Len()
	skipped := r.SkipDamaged()
	var serious []runfile.Damage
	for _, d := range r.Damages() {
		if d.Partial {
			fmt.Fprintf(stderr, "mlpviz: %s ends in a record cut short at byte %d (its writer stopped mid-write); the %d passes before it are whole\n", r.Name(), d.Offset, r.Len())
		} else {
			serious = append(serious, d)
		}
	}
	if len(serious) == 0 {
		return nil
	}
	if !skip {
		return fmt.Errorf("%s is damaged at byte %d (%s): %d of its %d passes are whole; add --skip-damaged to leave the damaged ones out",
			r.Name(), serious[0].Offset, serious[0].Reason, r.Len(), max(before, r.Expected()))
	}
	what := fmt.Sprintf("%d damaged place(s), the first at byte %d (%s)", len(serious), serious[0].Offset, serious[0].Reason)
	if len(skipped) > 0 {
		what += "; left out passes " + passList(skipped)
	}
	fmt.Fprintf(stderr, "mlpviz: %s: %s; using its %d whole passes\n", r.Name(), what, r.Len())
	return nil
}

// passList names passes as the user counts them, from 1, shortened when
// long.
func passList(ix []int) string {
	var parts []string
	for i, x := range ix {
		if i == 10 {
			parts = append(parts, fmt.Sprintf("and %d more", len(ix)-10))
			break
		}
		parts = append(parts, fmt.Sprint(x+1))
	}
	return strings.Join(parts, ", ")
}
