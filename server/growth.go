package server

import (
	"context"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// maxWait bounds how long a request for bytes a run does not have yet is
// held, well below the server's read timeout (which would end it anyway).
const maxWait = 5 * time.Second

// lookEvery is how often a run that requests wait on is looked at.
const lookEvery = 50 * time.Millisecond

// growth holds requests for the bytes after the end of a run until the
// run grows (a long poll), so that a viewer tailing it asks once per new
// pass rather than ten times a second. While any request waits on a run,
// one goroutine looks at its size and wakes them all when it changes: many
// viewers of one run cost one look.
type growth struct {
	root  *os.Root
	mu    sync.Mutex
	files map[string]*watch // by name
}

type watch struct {
	waiting int
	changed chan struct{} // closed, and replaced, when the size changes
}

func newGrowth(root *os.Root) *growth {
	return &growth{root: root, files: map[string]*watch{}}
}

// wait returns once f is longer than from, after d at most, or when ctx
// ends.
func (g *growth) wait(ctx context.Context, name string, f *os.File, from int64, d time.Duration) {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	g.mu.Lock()
	w := g.files[name]
	if w == nil {
		w = &watch{changed: make(chan struct{})}
		g.files[name] = w
		go g.look(name, w)
	}
	w.waiting++
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		w.waiting--
		g.mu.Unlock()
	}()
	for {
		g.mu.Lock()
		changed := w.changed
		g.mu.Unlock()
		if st, err := f.Stat(); err != nil || st.Size() > from {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// look watches the size of the run at name until no request waits on it.
func (g *growth) look(name string, w *watch) {
	size := func() int64 {
		if st, err := g.root.Stat(name); err == nil {
			return st.Size()
		}
		return -1 // gone: wake the waiters, who find out
	}
	last := size()
	for {
		time.Sleep(lookEvery)
		now := size()
		g.mu.Lock()
		if now != last {
			last = now
			close(w.changed)
			w.changed = make(chan struct{})
		}
		if w.waiting == 0 {
			delete(g.files, name)
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
	}
}

// waitAsked is how long the client of a request for bytes from `from` on
// would have it held for them ("Prefer: wait=N", RFC 7240), capped at
// maxWait; 0 when it asks for no wait or for a range that is not a tail.
func waitAsked(r *http.Request) (from int64, d time.Duration) {
	spec, ok := strings.CutPrefix(r.Header.Get("Range"), "bytes=")
	first, _, dash := strings.Cut(spec, "-")
	from, err := strconv.ParseInt(first, 10, 64)
	if !ok || !dash || err != nil {
		return 0, 0
	}
	for _, pref := range strings.Split(r.Header.Get("Prefer"), ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(pref), "wait="); ok {
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				return from, min(time.Duration(n)*time.Second, maxWait)
			}
		}
	}
	return 0, 0
}
