package server

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"testing"

	"github.com/mlpviz/mlpviz/collector"
	"github.com/mlpviz/mlpviz/collector/runfile"
)

// tinyArch is a head of 4-3-2: passes of a few hundred bytes.
func tinyArch() *collector.Architecture {
	return &collector.Architecture{
		Dataset: "test", Model: "tiny", InputShape: [3]int{1, 2, 2}, ClassNames: []string{"a", "b"},
		Head: []collector.LinearShape{{In: 4, Out: 3}, {In: 3, Out: 2}},
	}
}

func tinyPass(step int) *collector.Pass {
	fill := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(step*100+i) / 7
		}
		return v
	}
	p := &collector.Pass{Step: step, Loss: 1 / float32(step), Image: fill(4), Logits: fill(2), Probs: fill(2)}
	for _, h := range tinyArch().Head {
		p.Layers = append(p.Layers, collector.LayerPass{Input: fill(h.In), Output: fill(h.Out), Weight: fill(h.In * h.Out), Bias: fill(h.Out)})
	}
	return p
}

// writeRun starts a run file NAME in dir with n passes; the caller closes
// the writer, or leaves it open as a trainer still at work.
func writeRun(t *testing.T, dir, name string, n int) *runfile.Writer {
	t.Helper()
	w, err := runfile.Create(filepath.Join(dir, name), tinyArch(), runfile.Options{Precision: runfile.F32})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	appendPasses(t, w, n)
	return w
}

func appendPasses(t *testing.T, w *runfile.Writer, n int) {
	t.Helper()
	for range n {
		if err := w.Append(tinyPass(w.Passes() + 1)); err != nil {
			t.Fatal(err)
		}
	}
}

// serve starts a Server on dir, on loopback, and returns its address and
// its log.
func serve(t *testing.T, cfg Config) (addr string, log *syncBuffer) {
	t.Helper()
	addr, log, _ = serveServer(t, cfg)
	return addr, log
}

// serveServer is serve, also returning the Server.
func serveServer(t *testing.T, cfg Config) (addr string, log *syncBuffer, s *Server) {
	t.Helper()
	log = &syncBuffer{}
	cfg.Log = log
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := s.HTTPServer()
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close(); s.Close() })
	return ln.Addr().String(), log, s
}

// raw sends one request line as written, with no cleaning of the path
// by a client, and returns the status and body.
func raw(t *testing.T, addr, target string, header ...string) (int, []byte) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", target, addr)
	for _, h := range header {
		fmt.Fprintf(c, "%s\r\n", h)
	}
	fmt.Fprint(c, "\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// syncBuffer is a log several connections write to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
