package server

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/mlpviz/mlpviz/collector/runfile"
)

// runMagic opens every run file (see package runfile): a file without it
// is not served, whatever its name.
const runMagic = "MLPV"

// runName reports whether name may be a run file in the folder itself: one
// element, no "..", not hidden (a trainer's temporary file is), ending in
// .mlpv.
func runName(name string) bool {
	return filepath.IsLocal(name) && !strings.ContainsAny(name, `/\`) && !strings.HasPrefix(name, ".") &&
		strings.HasSuffix(name, ".mlpv") && len(name) > len(".mlpv")
}

// serveRun serves one run file with Range support. Its size is taken when
// the request comes, so a file still being written is served as far as it
// is written then, and the next request gets more; a request for the bytes
// after its end may ask to be held until they come ("Prefer: wait=N").
func (s *Server) serveRun(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !runName(name) {
		http.Error(w, "not the name of a run file in this folder (NAME.mlpv)", http.StatusNotFound)
		return
	}
	f, st, status, msg := s.openRun(name)
	if f == nil {
		http.Error(w, msg, status)
		return
	}
	defer f.Close()
	if from, d := waitAsked(r); d > 0 && st.Size() <= from {
		s.growth.wait(r.Context(), name, f, from, d)
		var err error
		if st, err = f.Stat(); err != nil {
			http.Error(w, "cannot read it", http.StatusInternalServerError)
			return
		}
	}
	if id := fileID(st); id != "" {
		w.Header().Set(runfile.FileIDHeader, id)
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Cache-Control", "no-store") // it may grow
	http.ServeContent(w, r, name, st.ModTime(), io.NewSectionReader(f, 0, st.Size()))
}

// openRun opens a run file of the folder, or says why not: the root
// refuses a link that leads out of the folder, and anything but a regular
// file that starts as a run file does is refused. It is opened
// non-blocking, so that a named pipe is refused rather than waited on.
func (s *Server) openRun(name string) (*os.File, os.FileInfo, int, string) {
	f, err := s.root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil, http.StatusNotFound, "no such run"
	case err != nil:
		return nil, nil, http.StatusForbidden, "not served: it is outside the served folder, or cannot be opened"
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, nil, http.StatusForbidden, "not served: not a regular file"
	}
	head := make([]byte, len(runMagic))
	if _, err := f.ReadAt(head, 0); err != nil || !bytes.Equal(head, []byte(runMagic)) {
		f.Close()
		return nil, nil, http.StatusForbidden, "not served: not a run file"
	}
	return f, st, 0, ""
}
