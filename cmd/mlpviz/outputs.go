package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/mlpviz/mlpviz/internal/tempfile"
)

// checkOutput refuses, before any work starts, an output path that cannot
// be written: a directory, a path under a regular file, or (without force)
// an existing file. flagName names the flag that set it, as the user wrote
// it.
func checkOutput(path, flagName string, force bool) error {
	st, err := os.Stat(path)
	switch {
	case err == nil && st.IsDir():
		return usageError{fmt.Sprintf("%s %s is a directory; give a file path inside it", flagName, path)}
	case err == nil && !force:
		return usageError{fmt.Sprintf("%s already exists: add --force to overwrite it, or choose another %s", path, flagName)}
	case err == nil:
		return nil
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s %s: %w", flagName, path, err)
	}
	for dir := filepath.Dir(path); ; dir = filepath.Dir(dir) {
		st, err := os.Stat(dir)
		if err == nil {
			if !st.IsDir() {
				return usageError{fmt.Sprintf("%s %s: %s is a file, not a directory", flagName, path, dir)}
			}
			return nil
		}
		if !errors.Is(err, fs.ErrNotExist) || filepath.Dir(dir) == dir {
			return fmt.Errorf("%s %s: %w", flagName, path, err)
		}
	}
}

// streamingMemory is the soft memory limit of the commands that hold one
// pass at a time (inspect, export, import): the largest pass a run file
// may hold decodes to about 140 MB with its encoding, and without a limit
// the collector lets the heap grow to twice that between passes.
const streamingMemory = 150 << 20

func limitMemory() { debug.SetMemoryLimit(streamingMemory) }

// writeAtomic writes a file through a temporary one beside it, renamed
// into place only once write has succeeded, so a failure or a kill never
// leaves a half-written file under the final name.
func writeAtomic(path string, write func(io.Writer) error) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := tempfile.Create(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	err = write(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	err = errors.Join(err, tmp.Close())
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}
