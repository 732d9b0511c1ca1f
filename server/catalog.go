package server

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mlpviz/mlpviz/collector/runfile"
)

// RunInfo describes one run file of the folder, as GET /runs lists it.
type RunInfo struct {
	Name     string    `json:"name"`
	Size     int64     `json:"size"`
	Passes   int       `json:"passes"`  // whole pass records found
	Head     []int     `json:"head"`    // layer widths, the input first
	Writing  bool      `json:"writing"` // a trainer holds it open
	Closed   bool      `json:"closed"`  // finished cleanly
	Modified time.Time `json:"modified"`
	Error    string    `json:"error,omitempty"` // why it cannot be read as a run
}

// catalog keeps what is known of each run file, so that listing the folder
// again reads only what was appended since: a run being written stays
// open and is refreshed, a finished one is read once.
type catalog struct {
	dir  string
	root *os.Root
	mu   sync.Mutex
	runs map[string]*entry
}

type entry struct {
	info RunInfo
	st   os.FileInfo
	r    *runfile.Reader // kept open while a trainer writes the file
}

func newCatalog(dir string, root *os.Root) *catalog {
	return &catalog{dir: dir, root: root, runs: map[string]*entry{}}
}

// list describes the run files of the folder, sorted by name.
func (c *catalog) list() ([]RunInfo, error) {
	d, err := c.root.Open(".")
	if err != nil {
		return nil, err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	seen := map[string]bool{}
	out := []RunInfo{}
	for _, name := range names {
		if !runName(name) {
			continue
		}
		st, err := c.root.Stat(name) // refuses links that leave the folder
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		seen[name] = true
		out = append(out, c.look(name, st))
	}
	for name, e := range c.runs {
		if !seen[name] {
			e.release()
			delete(c.runs, name)
		}
	}
	slices.SortFunc(out, func(a, b RunInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// look brings the entry of one file up to date. The caller holds mu.
func (c *catalog) look(name string, st os.FileInfo) RunInfo {
	path := filepath.Join(c.dir, name)
	e := c.runs[name]
	switch {
	case e != nil && os.SameFile(e.st, st) && e.st.Size() == st.Size() && e.st.ModTime().Equal(st.ModTime()):
		// unchanged
	case e != nil && e.r != nil && os.SameFile(e.st, st):
		if _, err := e.r.Refresh(); err != nil {
			e.release()
			e = c.open(path, name, st)
		}
	default:
		e.release()
		e = c.open(path, name, st)
	}
	e.st = st
	e.info.Size, e.info.Modified = st.Size(), st.ModTime().UTC()
	if e.r != nil {
		e.info.Passes, e.info.Closed = e.r.Len(), e.r.Closed()
	}
	e.info.Writing = !e.info.Closed && e.info.Error == "" && runfile.WriterPID(path) != 0
	if !e.info.Writing {
		e.release() // nothing more will come: keep the figures, not the file
	}
	c.runs[name] = e
	return e.info
}

// open reads a run file afresh.
func (c *catalog) open(path, name string, st os.FileInfo) *entry {
	e := &entry{info: RunInfo{Name: name}, st: st}
	// The path is opened, not the root's file: it must be the file the
	// root vouched for, not one a link put there meanwhile.
	if now, err := os.Stat(path); err != nil || !os.SameFile(now, st) {
		e.info.Error = "changed while being read"
		return e
	}
	r, err := runfile.Open(path)
	if err != nil {
		e.info.Error = strings.ReplaceAll(err.Error(), path, name) // the server's paths are its own
		return e
	}
	e.r = r
	a := r.Architecture()
	for i, l := range a.Head {
		if i == 0 {
			e.info.Head = append(e.info.Head, l.In)
		}
		e.info.Head = append(e.info.Head, l.Out)
	}
	return e
}

// release closes the entry's reader, if any; e may be nil.
func (e *entry) release() {
	if e != nil && e.r != nil {
		e.r.Close()
		e.r = nil
	}
}

// close releases every reader kept open.
func (c *catalog) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.runs {
		e.release()
	}
}
