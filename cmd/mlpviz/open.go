package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/mlpviz/mlpviz/collector"
	"github.com/mlpviz/mlpviz/collector/runfile"
	"github.com/mlpviz/mlpviz/collector/seedjson"
)

// openRun opens what a command was given to read: a run file, or a
// PyTorch-tool JSON collection, which is imported in memory (saying so on
// stderr) so that view, inspect, render and export take either.
func openRun(path string, stderr io.Writer) (*runfile.Reader, error) {
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
	arch, passes, err := readCollection(path)
	if err != nil {
		return nil, err
	}
	data, err := runfile.Encode(arch, passes, runfile.Options{Precision: runfile.F32})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	fmt.Fprintf(stderr, "mlpviz: %s is a PyTorch-tool collection: imported in memory (%d passes); \"mlpviz import\" keeps it as a run file\n", path, len(passes))
	return runfile.OpenBytes(path, data)
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

// readCollection reads a PyTorch-tool JSON collection.
func readCollection(path string) (*collector.Architecture, []*collector.Pass, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	arch, passes, err := seedjson.Read(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return arch, passes, nil
}

// readPasses decodes every whole pass of r.
func readPasses(r *runfile.Reader) ([]*collector.Pass, error) {
	passes := make([]*collector.Pass, 0, r.Len())
	for i := range r.Len() {
		p, err := r.Pass(i)
		if err != nil {
			return nil, err
		}
		passes = append(passes, p)
	}
	return passes, nil
}
