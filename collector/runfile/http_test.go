package runfile

import (
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mlpviz/mlpviz/collector"
)

// The HTTP reader is tested against net/http's own file server, which
// honours Range requests and takes the file's size at each request: any
// such server serves, not only mlpviz serve (tested in package server).

// liveRun is a run file being written in a folder served over HTTP.
type liveRun struct {
	path, url string
	w         *Writer
	ps        []*collector.Pass
}

// startRun writes the first `first` of n passes to a new run file and
// returns it with its URL on srv's folder.
func startRun(t *testing.T, dir, base string, n, first int) *liveRun {
	t.Helper()
	rng := rand.New(rand.NewPCG(41, 42))
	arch := mnistArch()
	lr := &liveRun{path: filepath.Join(dir, "run.mlpv"), url: base + "/run.mlpv", ps: passes(rng, arch, n, true)}
	w, err := Create(lr.path, arch, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { abandon(w) })
	lr.w = w
	lr.append(t, first)
	return lr
}

// append writes passes until the file holds upto of them.
func (lr *liveRun) append(t *testing.T, upto int) {
	t.Helper()
	for i := lr.w.Passes(); i < upto; i++ {
		if err := lr.w.Append(lr.ps[i]); err != nil {
			t.Fatal(err)
		}
	}
}

// mustOpenURL opens url, closing the Reader when the test ends.
func mustOpenURL(t *testing.T, url string, opt URLOptions) *Reader {
	t.Helper()
	r, err := OpenURL(url, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// follow refreshes r until it holds n passes, failing on any damage: over
// HTTP new passes arrive a moment after Refresh asks for them. It returns
// how many Refresh calls reported the server unreachable.
func follow(t *testing.T, r *Reader, n int) (outages int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for r.Len() < n {
		if time.Now().After(deadline) {
			t.Fatalf("after 20 s the reader holds %d of %d passes", r.Len(), n)
		}
		_, err := r.Refresh()
		switch {
		case errors.Is(err, ErrUnreachable):
			outages++
		case err != nil:
			t.Fatal(err)
		}
		if d := r.Damages(); len(d) > 0 {
			t.Fatalf("damage while following: %v", d)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return outages
}

// samePasses checks every pass of r against what was written.
func samePasses(t *testing.T, r *Reader, ps []*collector.Pass) {
	t.Helper()
	if r.Len() != len(ps) || r.Expected() != len(ps) {
		t.Fatalf("reader holds %d passes (expected %d), want %d", r.Len(), r.Expected(), len(ps))
	}
	for i, want := range ps {
		got, err := r.Pass(i)
		if err != nil {
			t.Fatal(err)
		}
		sameF16(t, i, want, got)
	}
}

// TestURLFollowsGrowingRun reads a run over HTTP while it is written, to
// its close, as Refresh follows a local file.
func TestURLFollowsGrowingRun(t *testing.T) {
	dir := t.TempDir()
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()
	lr := startRun(t, dir, srv.URL, 30, 3)
	r := mustOpenURL(t, lr.url, URLOptions{})
	if r.Len() != 3 || r.Closed() || r.Name() != lr.url {
		t.Fatalf("opened: %d passes, closed %v, name %q", r.Len(), r.Closed(), r.Name())
	}
	for _, upto := range []int{4, 10, 30} {
		lr.append(t, upto)
		follow(t, r, upto)
	}
	if err := lr.w.Close(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); !r.Closed(); time.Sleep(5 * time.Millisecond) {
		if _, err := r.Refresh(); err != nil || time.Now().After(deadline) {
			t.Fatalf("the reader did not see the close: %v", err)
		}
	}
	samePasses(t, r, lr.ps)
}

// cutter serves the file server's answers cut at half their body when
// the body is longer than 16 bytes: the connection closes mid-record.
type cutter struct {
	next http.Handler
	cuts atomic.Int64
}

func (c *cutter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.next.ServeHTTP(&cutWriter{ResponseWriter: w, c: c, left: -1}, r)
}

type cutWriter struct {
	http.ResponseWriter
	c    *cutter
	left int // body bytes still let through; -1 before the header
}

var errCut = errors.New("cut by the test")

func (w *cutWriter) WriteHeader(code int) {
	if n := w.Header().Get("Content-Length"); code/100 == 2 && len(n) > 0 {
		var size int
		for _, d := range n {
			size = 10*size + int(d-'0')
		}
		if size > 16 {
			w.left = size / 2
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *cutWriter) Write(b []byte) (int, error) {
	if w.left < 0 {
		return w.ResponseWriter.Write(b)
	}
	if len(b) <= w.left {
		w.left -= len(b)
		return w.ResponseWriter.Write(b)
	}
	n, _ := w.ResponseWriter.Write(b[:w.left])
	w.left = 0
	w.c.cuts.Add(1)
	return n, errCut
}

// TestURLResponsesCutMidRecord: every response is cut at half its body,
// in the middle of a record. The reader waits for the rest as for a record
// a local writer has not finished: no damage, no pass lost.
func TestURLResponsesCutMidRecord(t *testing.T) {
	dir := t.TempDir()
	c := &cutter{next: http.FileServer(http.Dir(dir))}
	srv := httptest.NewServer(c)
	defer srv.Close()
	lr := startRun(t, dir, srv.URL, 20, 5)
	r := mustOpenURL(t, lr.url, URLOptions{})
	if r.Len() != 5 || len(r.Damages()) > 0 {
		t.Fatalf("opened through cut responses: %d passes, damage %v", r.Len(), r.Damages())
	}
	for _, upto := range []int{6, 13, 20} {
		lr.append(t, upto)
		follow(t, r, upto)
	}
	samePasses(t, r, lr.ps)
	if c.cuts.Load() < 5 {
		t.Fatalf("only %d responses were cut", c.cuts.Load())
	}
	t.Logf("%d responses cut", c.cuts.Load())
}

// restartable is a file server that can be stopped and started again on
// the same address, as a server process killed and restarted.
type restartable struct {
	addr string
	h    http.Handler
	srv  *http.Server
}

func (s *restartable) start(t *testing.T) {
	t.Helper()
	if s.addr == "" {
		s.addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	s.srv = &http.Server{Handler: s.h}
	go s.srv.Serve(ln)
}

// TestURLServerRestart stops the server while the run grows and starts it
// again: Refresh says the server does not answer meanwhile, then goes on
// where it stopped, no pass lost or read twice. A read that waits longer
// than its patience fails as unreachable, not as damage.
func TestURLServerRestart(t *testing.T) {
	dir := t.TempDir()
	s := &restartable{h: http.FileServer(http.Dir(dir))}
	s.start(t)
	defer func() { s.srv.Close() }()
	lr := startRun(t, dir, "http://"+s.addr, 40, 4)
	r := mustOpenURL(t, lr.url, URLOptions{Patience: 300 * time.Millisecond, CacheBytes: 1})
	lr.append(t, 20)
	follow(t, r, 20)

	s.srv.Close()
	lr.append(t, 30)
	outages := 0
	for deadline := time.Now().Add(10 * time.Second); outages < 3 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, err := r.Refresh(); errors.Is(err, ErrUnreachable) {
			outages++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if outages < 3 || r.Len() != 20 {
		t.Fatalf("with the server down: %d outages reported, %d passes", outages, r.Len())
	}
	// The cache holds 4 blocks: pass 5, in the second, is long gone from
	// it (the first, with the header, is read at every Refresh).
	if r.f.(*httpSource).cache.read(make([]byte, 1), r.offsets[5]) != 0 {
		t.Fatal("pass 5 is still cached: write more passes before the outage")
	}
	if _, err := r.Pass(5); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("reading an evicted pass with the server down: %v, want ErrUnreachable", err)
	}

	s.start(t)
	follow(t, r, 30)
	lr.append(t, 40)
	follow(t, r, 40)
	samePasses(t, r, lr.ps)
	if d := r.Damages(); len(d) > 0 {
		t.Fatalf("damage after the restart: %v", d)
	}
}

// TestURLReadsEachBlockOnce reads every pass of a finished run twice and
// counts the bytes the server sent: each block once.
func TestURLReadsEachBlockOnce(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	ps := passes(rng, mnistArch(), 30, true)
	path, _, _ := writeRun(t, mnistArch(), F16, ps, true)
	var sent atomic.Int64
	fileServer := http.FileServer(http.Dir(filepath.Dir(path)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fileServer.ServeHTTP(&countWriter{ResponseWriter: w, n: &sent}, r)
	}))
	defer srv.Close()
	r := mustOpenURL(t, srv.URL+"/run.mlpv", URLOptions{})
	samePasses(t, r, ps)
	samePasses(t, r, ps)
	st, _ := os.Stat(path)
	if sent.Load() > st.Size() {
		t.Fatalf("the server sent %d bytes for a file of %d read twice", sent.Load(), st.Size())
	}
	t.Logf("file %d bytes, %d sent", st.Size(), sent.Load())
}

type countWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (w *countWriter) Write(b []byte) (int, error) {
	n, err := w.ResponseWriter.Write(b)
	w.n.Add(int64(n))
	return n, err
}

// TestURLRefusals: what cannot work says so in one line at open.
func TestURLRefusals(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "text.mlpv"), []byte("not a run"), 0o644)
	files := http.FileServer(http.Dir(dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer right-token" && !strings.HasPrefix(r.URL.Path, "/open/") {
			http.Error(w, "token please", http.StatusUnauthorized)
			return
		}
		http.StripPrefix("/open", files).ServeHTTP(w, r)
	}))
	defer srv.Close()
	down, _ := net.Listen("tcp", "127.0.0.1:0")
	downURL := "http://" + down.Addr().String() + "/run.mlpv"
	down.Close()
	cases := []struct {
		url, token, want string
		is               error
	}{
		{srv.URL + "/x.mlpv", "", "the server wants a token (401 Unauthorized)", ErrUnauthorized},
		{srv.URL + "/x.mlpv?token=wrong-token", "", "the server refused the token (401 Unauthorized)", ErrUnauthorized},
		{srv.URL + "/x.mlpv", "wrong-token", "the server refused the token (401 Unauthorized)", ErrUnauthorized},
		{srv.URL + "/open/missing.mlpv", "", "no such run on the server (404 Not Found", nil},
		{srv.URL + "/open/text.mlpv", "", "is not an mlpv run file", nil},
		{downURL, "", "the server does not answer (connection refused)", ErrUnreachable},
		{"http://", "", "is not an http:// URL of a run file", nil},
	}
	for _, c := range cases {
		r, err := OpenURL(c.url, URLOptions{Token: c.token})
		if err == nil {
			r.Close()
			t.Errorf("%s: opened", c.url)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, c.want) || strings.Contains(msg, "\n") || strings.Contains(msg, "wrong-token") {
			t.Errorf("%s: %q, want one line with %q and no token", c.url, msg, c.want)
		}
		if c.is != nil && !errors.Is(err, c.is) {
			t.Errorf("%s: %v is not %v", c.url, err, c.is)
		}
	}
	// The right token, in the query, reaches the server as a header.
	if r, err := OpenURL(srv.URL+"/x.mlpv?token=right-token", URLOptions{}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("with the right token: %v, want the server's 404", err)
	} else if r != nil {
		r.Close()
	}
}
