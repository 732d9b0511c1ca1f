package main

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mlpviz/mlpviz/collector/runfile"
	"github.com/mlpviz/mlpviz/engine"
)

// The remote tests run a real trainer and a real "mlpviz serve" as child
// processes on loopback, and read the run over HTTP as view, inspect,
// render and export do.

// served is an "mlpviz serve" child.
type served struct {
	cmd  *exec.Cmd
	addr string
	log  *lineLog
}

var servingLine = regexp.MustCompile(`serving .* at http://(\S+)/ `)

// startServe serves dir on addr ("127.0.0.1:0": any free port) and waits
// until it listens.
func startServe(t *testing.T, dir, addr string, extra ...string) *served {
	t.Helper()
	s := &served{log: &lineLog{found: make(chan string, 1)}}
	s.cmd = mlpvizCommand(t, append([]string{"serve", dir, "--addr", addr}, extra...)...)
	s.cmd.Stderr = s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.kill)
	select {
	case s.addr = <-s.log.found:
	case <-time.After(time.Minute):
		t.Fatalf("serve does not say where it listens:\n%s", s.log)
	}
	return s
}

// kill ends the server at once, as a crash or SIGKILL would.
func (s *served) kill() {
	if s.cmd.ProcessState == nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
	}
}

// lineLog keeps what a child writes and spots the line saying where serve
// listens.
type lineLog struct {
	mu    sync.Mutex
	b     bytes.Buffer
	found chan string
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Write(p)
	if m := servingLine.FindSubmatch(l.b.Bytes()); m != nil && l.found != nil {
		l.found <- string(m[1])
		l.found = nil
	}
	return len(p), nil
}

func (l *lineLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// trainerChild is a "train --headless" child writing a run file.
type trainerChild struct {
	cmd  *exec.Cmd
	out  *lineLog
	done chan struct{}
}

// startTrainer trains cnn on MNIST for steps steps, a pass every interval,
// into out.
func startTrainer(t *testing.T, out string, steps, interval int, extra ...string) *trainerChild {
	t.Helper()
	tr := &trainerChild{out: &lineLog{}, done: make(chan struct{})}
	tr.cmd = mlpvizCommand(t, append([]string{"train", "--headless", "--offline", "--max-steps", fmt.Sprint(steps),
		"--interval", fmt.Sprint(interval), "--batch-size", "16", "--output", out, "--data-dir", t.TempDir()}, extra...)...)
	tr.cmd.Stdout, tr.cmd.Stderr = tr.out, tr.out
	if err := tr.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { tr.cmd.Wait(); close(tr.done) }()
	t.Cleanup(func() { tr.cmd.Process.Kill(); <-tr.done })
	return tr
}

func (tr *trainerChild) running() bool {
	select {
	case <-tr.done:
		return false
	default:
		return true
	}
}

// wait waits for the trainer to finish and fails unless it succeeded.
func (tr *trainerChild) wait(t *testing.T) {
	t.Helper()
	select {
	case <-tr.done:
	case <-time.After(3 * time.Minute):
		tr.cmd.Process.Signal(syscall.SIGQUIT) // Go prints every goroutine's stack
		<-tr.done
		t.Fatalf("the trainer did not finish in 3 minutes:\n%s", tr.out)
	}
	if !tr.cmd.ProcessState.Success() {
		t.Fatalf("train: %v\n%s", tr.cmd.ProcessState, tr.out)
	}
}

// liveRun starts a trainer on a run file in a new folder and waits for its
// first passes.
func liveRun(t *testing.T, steps, interval int) (dir, out string, tr *trainerChild) {
	t.Helper()
	if testing.Short() {
		t.Skip("trains on MNIST")
	}
	dir = t.TempDir()
	out = filepath.Join(dir, "live.mlpv")
	tr = startTrainer(t, out, steps, interval)
	waitForPasses(t, out, 2)
	return dir, out, tr
}

// TestRemoteInspectWhileTraining: while a trainer writes its run, inspect
// over HTTP reports as many passes as inspect on the file does at about
// the same moment, the same first and last steps; once the run is closed,
// both report exactly the same.
func TestRemoteInspectWhileTraining(t *testing.T) {
	dir, out, tr := liveRun(t, 300, 2)
	url := "http://" + startServe(t, dir, "127.0.0.1:0").addr + "/runs/live.mlpv"

	looks := 0
	for tr.running() {
		before, _, _ := inspectJSON(t, out)
		remote, _, stderr := inspectJSON(t, url)
		after, _, _ := inspectJSON(t, out)
		if remote.Closed {
			break
		}
		looks++
		if remote.WholePasses < before.WholePasses || remote.WholePasses > after.WholePasses {
			t.Fatalf("inspect over HTTP found %d whole passes between %d and %d on the file\n%s", remote.WholePasses, before.WholePasses, after.WholePasses, stderr)
		}
		if remote.Damaged && !strings.HasPrefix(remote.DamageReason, "truncated") {
			t.Fatalf("inspect over HTTP found damage: %s", remote.DamageReason)
		}
		if *remote.FirstStep != 2 || *remote.LastStep != 2*remote.WholePasses {
			t.Fatalf("steps %d..%d for %d passes, want 2..%d", *remote.FirstStep, *remote.LastStep, remote.WholePasses, 2*remote.WholePasses)
		}
	}
	tr.wait(t)
	if looks < 2 {
		t.Fatalf("only %d looks while the run grew: the trainer was too quick", looks)
	}
	local, code1, _ := inspectJSON(t, out)
	remote, code2, _ := inspectJSON(t, url)
	if !reflect.DeepEqual(local, remote) || code1 != 0 || code2 != 0 {
		t.Fatalf("the closed run: inspect says\n%+v (exit %d) on the file,\n%+v (exit %d) over HTTP", local, code1, remote, code2)
	}
	t.Logf("%d looks while it grew; closed: %d passes, %d bytes", looks, remote.WholePasses, remote.Bytes)
}

// follower reads a run over HTTP as the window does: through an
// engine.Source, refreshed every 100 ms.
type follower struct {
	r       *runfile.Reader
	src     *engine.Source
	banners int // looks that showed "reconnecting…"
}

func follow(t *testing.T, url string) *follower {
	t.Helper()
	r, err := runfile.OpenURL(url, runfile.URLOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f := &follower{r: r, src: engine.NewSource(r, nil)}
	t.Cleanup(func() { f.src.Close() })
	return f
}

// look refreshes once, as a frame does, and fails on any damage.
func (f *follower) look(t *testing.T) {
	t.Helper()
	time.Sleep(101 * time.Millisecond)
	f.src.Refresh(time.Now())
	f.src.LoadMetrics(time.Millisecond)
	d := f.r.Damages()
	if len(d) > 0 {
		t.Fatalf("damage over HTTP: %v", d)
	}
	switch err := f.src.Err(); {
	case err == nil:
	case strings.HasPrefix(err.Error(), "reconnecting… ") && errors.Is(err, runfile.ErrUnreachable):
		f.banners++
	case !strings.Contains(err.Error(), "truncated record"):
		// The one other banner allowed: a record cut short when the run
		// was opened, which the source drops once the record is whole.
		t.Fatalf("the window would show: %v", err)
	}
}

// untilClosed looks until the run at path is closed and the window's
// banner gone.
func (f *follower) untilClosed(t *testing.T, path string) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Minute); !f.src.Closed() || f.src.Err() != nil; f.look(t) {
		if time.Now().After(deadline) {
			local := -1
			if r, err := runfile.Open(path); err == nil {
				local = r.Len()
				r.Close()
			}
			t.Fatalf("the run is not seen closed after 3 minutes: %d passes over HTTP, %d in the file", f.src.Len(), local)
		}
	}
}

// sameAsFile checks that every pass read over HTTP is the pass in the
// file, none missing and none twice.
func (f *follower) sameAsFile(t *testing.T, path string) {
	t.Helper()
	local, err := runfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	if f.r.Len() != local.Len() || f.r.Expected() != local.Len() {
		t.Fatalf("over HTTP %d passes (%d expected), the file %d", f.r.Len(), f.r.Expected(), local.Len())
	}
	for i := range local.Len() {
		want, err1 := local.Pass(i)
		got, err2 := f.r.Pass(i)
		if err1 != nil || err2 != nil || !reflect.DeepEqual(want, got) {
			t.Fatalf("pass %d differs over HTTP (%v, %v)", i, err1, err2)
		}
	}
	f.src.LoadMetrics(time.Minute)
	if n := len(f.src.Metrics()); n != local.Len() {
		t.Fatalf("the plots have %d passes, the file %d", n, local.Len())
	}
}

// TestRemoteServerKilledAndRestarted kills the server (SIGKILL) while the
// run grows and starts it again: the window's source shows "reconnecting…"
// meanwhile, then resumes; it ends with every pass, none twice.
func TestRemoteServerKilledAndRestarted(t *testing.T) {
	dir, out, tr := liveRun(t, 400, 1)
	srv := startServe(t, dir, "127.0.0.1:0")
	f := follow(t, "http://"+srv.addr+"/runs/live.mlpv")
	for f.src.Len() < 10 {
		f.look(t)
	}
	srv.kill()
	// Bytes that arrived before the kill still make passes; then the
	// banner shows and nothing more comes.
	for range 20 {
		if f.look(t); f.banners > 0 {
			break
		}
	}
	at := f.src.Len()
	for range 5 {
		f.look(t)
	}
	if f.banners < 6 || f.src.Len() != at {
		t.Fatalf("with the server killed: %d looks showed the banner, passes went from %d to %d", f.banners, at, f.src.Len())
	}
	restarted := startServe(t, dir, srv.addr)
	f.untilClosed(t, out)
	tr.wait(t)
	f.sameAsFile(t, out)
	if !strings.Contains(restarted.log.String(), "client ") {
		t.Fatalf("the restarted server logged no client:\n%s", restarted.log)
	}
	t.Logf("killed at %d passes; %d looks showed the banner; %d passes at the end", at, f.banners, f.src.Len())
}

// proxy forwards connections to a server; with cut set it breaks each
// connection after a random number of bytes of its answers (up to 64 KB),
// as a network that drops, cutting headers and records alike.
type proxy struct {
	ln   net.Listener
	sent atomic.Int64 // bytes of answers forwarded
	cuts atomic.Int64
}

func startProxy(t *testing.T, backend string, cut bool) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln}
	t.Cleanup(func() { ln.Close() })
	rng := rand.New(rand.NewPCG(5, 6))
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			limit := int64(-1)
			if cut {
				limit = 1 + rng.Int64N(64<<10)
			}
			go p.forward(c, backend, limit)
		}
	}()
	return p
}

func (p *proxy) forward(c net.Conn, backend string, limit int64) {
	defer c.Close()
	b, err := net.Dial("tcp", backend)
	if err != nil {
		return
	}
	defer b.Close()
	go io.Copy(b, c)
	var answer io.Reader = b
	if limit >= 0 {
		answer = io.LimitReader(b, limit)
	}
	n, _ := io.Copy(counted{c, &p.sent}, answer)
	if limit >= 0 && n == limit {
		p.cuts.Add(1)
	}
}

// counted adds what is written through it to n as it goes.
type counted struct {
	io.Writer
	n *atomic.Int64
}

func (c counted) Write(b []byte) (int, error) {
	k, err := c.Writer.Write(b)
	c.n.Add(int64(k))
	return k, err
}

// TestRemoteResponsesCut reads a growing run through connections that
// break mid-answer: the reader waits for the rest of a
// record cut short as for one not yet written, and ends with every pass.
func TestRemoteResponsesCut(t *testing.T) {
	dir, out, tr := liveRun(t, 200, 1)
	p := startProxy(t, startServe(t, dir, "127.0.0.1:0").addr, true)
	url := "http://" + p.ln.Addr().String() + "/runs/live.mlpv"
	f := follow(t, url)
	f.untilClosed(t, out)
	tr.wait(t)
	f.sameAsFile(t, out)
	local, _, _ := inspectJSON(t, out)
	remote, code, stderr := inspectJSON(t, url)
	if !reflect.DeepEqual(local, remote) || code != 0 {
		t.Fatalf("inspect through cut connections (exit %d): %+v, on the file %+v\n%s", code, remote, local, stderr)
	}
	if p.cuts.Load() < 3 {
		t.Fatalf("only %d answers were cut", p.cuts.Load())
	}
	t.Logf("%d answers cut; %d passes whole; %d looks showed the banner", p.cuts.Load(), f.r.Len(), f.banners)
}

// TestRemoteWrongToken: a server with a token refuses inspect without it
// or with another, in one line, and serves it with the right one from
// the URL or MLPVIZ_TOKEN.
func TestRemoteWrongToken(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on MNIST")
	}
	run := quickRun(t, 3)
	const token = "test-token-0123456789"
	url := "http://" + startServe(t, filepath.Dir(run), "127.0.0.1:0", "--token", token).addr + "/runs/run.mlpv"
	for _, c := range []struct{ url, env, want string }{
		{url, "", "the server wants a token (401 Unauthorized)"},
		{url + "?token=wrong-token-0123456789", "", "the server refused the token (401 Unauthorized)"},
		{url, "wrong-token-0123456789", "the server refused the token (401 Unauthorized)"},
	} {
		t.Setenv("MLPVIZ_TOKEN", c.env)
		code, stdout, stderr := runCLI(t, "inspect", c.url)
		if code != 1 || stdout != "" || len(lines(stderr)) != 1 || !strings.Contains(stderr, c.want) ||
			!strings.Contains(stderr, "MLPVIZ_TOKEN") || strings.Contains(stderr, "wrong-token") {
			t.Errorf("inspect %s with MLPVIZ_TOKEN=%q: exit %d, stderr %q; want exit 1 and one line saying %q", c.url, c.env, code, stderr, c.want)
		}
	}
	for _, c := range []struct{ url, env string }{{url + "?token=" + token, ""}, {url, token}} {
		t.Setenv("MLPVIZ_TOKEN", c.env)
		if code, stdout, stderr := runCLI(t, "inspect", c.url); code != 0 || !strings.Contains(stdout, "passes   3") {
			t.Errorf("inspect with the right token: exit %d\n%s%s", code, stdout, stderr)
		}
	}
}

// bannerInk counts the pixels of the banner's red across the top of the
// network view, where the window shows a read problem.
func bannerInk(img image.Image) int {
	return ink(img, image.Rect(20, 45, 900, 68), func(r, g, b int) bool { return r > 100 && r > g+30 && r > b+30 })
}

// TestWindowRemoteLive opens the window over HTTP on a run being trained
// and captures it once the run has grown: the network is drawn under no
// banner, and the viewer fetched the passes appended after it opened.
// Then, with the server killed once a second window has read the run, the
// window shows the "reconnecting…" banner over the passes it has.
func TestWindowRemoteLive(t *testing.T) {
	needDisplay(t)
	dir, out, _ := liveRun(t, 20000, 5) // runs past the test; killed at its end
	srv := startServe(t, dir, "127.0.0.1:0")
	p := startProxy(t, srv.addr, false)
	url := "http://" + p.ln.Addr().String() + "/runs/live.mlpv"
	st, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	// Frames are slow on a software display under a trainer: 15 take
	// seconds, in which the run grows by dozens of passes.
	img := runWindow(t, screenshotPath(t, "remote_live.png"), "view", url, "--frames", "15")
	v := networkView()
	if red, blue := ink(img, v, reddish), ink(img, v, bluish); red < 2000 || blue < 2000 {
		t.Errorf("network view has %d red and %d blue pixels: connections missing", red, blue)
	}
	if n := bannerInk(img); n > 2000 {
		t.Errorf("a banner over a run served well (%d banner pixels)", n)
	}
	if grown := p.sent.Load() - st.Size(); grown < 100<<10 {
		t.Errorf("the viewer fetched %d bytes for a run of %d when it opened: it did not follow the run", p.sent.Load(), st.Size())
	}

	p.sent.Store(0)
	if st, err = os.Stat(out); err != nil {
		t.Fatal(err)
	}
	shot := screenshotPath(t, "remote_reconnecting.png")
	view := mlpvizCommand(t, "view", url, "--frames", "10", "--screenshot", shot)
	var viewOut lineLog
	view.Stdout, view.Stderr = &viewOut, &viewOut
	if err := view.Start(); err != nil {
		t.Fatal(err)
	}
	defer view.Process.Kill()
	// Once the viewer has read what the run held when it started, it is
	// open: kill the server under it.
	for deadline := time.Now().Add(time.Minute); p.sent.Load() < st.Size(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the viewer read %d of %d bytes in a minute:\n%s", p.sent.Load(), st.Size(), &viewOut)
		}
	}
	srv.kill()
	if err := view.Wait(); err != nil {
		t.Fatalf("view with its server gone: %v\n%s", err, &viewOut)
	}
	img = readPNG(t, shot)
	if n := bannerInk(img); n < 5000 {
		t.Errorf("no reconnecting banner (%d banner pixels)", n)
	}
	if n := ink(img, v, bright); n < 300 {
		t.Errorf("the passes read before the server went are not drawn (%d bright pixels)", n)
	}
}
