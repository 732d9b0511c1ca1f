package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mlpviz/mlpviz/collector/runfile"
)

// TestServeRefusals: an address other machines reach needs a token
// (refused at start, exit 2, before anything listens), a short token is
// refused, and a folder that is not there is one clear line.
func TestServeRefusals(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"serve", dir, "--addr", "0.0.0.0:6160"}, 2, "--addr 0.0.0.0:6160 is reachable from other machines: give --token T"},
		{[]string{"serve", dir, "--addr", ":6160"}, 2, "--addr :6160 is reachable from other machines"},
		{[]string{"serve", dir, "--addr", "0.0.0.0:6160", "--token", "short"}, 2, "the token has 5 characters; give at least 16"},
		{[]string{"serve", dir, "--addr", "6160"}, 2, `--addr "6160": want HOST:PORT`},
		{[]string{"serve", dir, "--max-clients", "0"}, 2, "--max-clients must be at least 1"},
		{[]string{"serve", dir, dir}, 2, "serve takes one folder, got 2"},
		{[]string{"serve", filepath.Join(dir, "missing"), "--addr", "127.0.0.1:0"}, 1, "cannot serve " + filepath.Join(dir, "missing") + ": no such file or directory"},
	} {
		code, stdout, stderr := runCLI(t, c.args...)
		if code != c.code || stdout != "" || !strings.Contains(stderr, c.want) || strings.Contains(stderr, "serving") {
			t.Errorf("%s: exit %d, stderr %q; want exit %d saying %q", strings.Join(c.args, " "), code, stderr, c.code, c.want)
		}
		if first := lines(stderr)[0]; !strings.HasPrefix(first, "mlpviz: ") {
			t.Errorf("%s: the message is not one mlpviz line: %q", strings.Join(c.args, " "), stderr)
		}
	}
}

var imgPerS = regexp.MustCompile(`img_per_s=(\d+)`)

// trainAlone trains as the load test's trainer does, with no server, and
// returns its img/s.
func trainAlone(t *testing.T, steps int) float64 {
	t.Helper()
	tr := startTrainer(t, filepath.Join(t.TempDir(), "alone.mlpv"), steps, 5, "--batch-size", "32")
	tr.wait(t)
	return trainerSpeed(t, tr)
}

func trainerSpeed(t *testing.T, tr *trainerChild) float64 {
	t.Helper()
	m := imgPerS.FindStringSubmatch(tr.out.String())
	if m == nil {
		t.Fatalf("no img_per_s in the trainer's output:\n%s", tr.out)
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// procStatus reads a figure of /proc/PID/status, in kB.
func procStatus(t *testing.T, pid int, key string) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skip("no /proc")
	}
	m := regexp.MustCompile(`(?m)^` + key + `:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no %s in /proc/%d/status", key, pid)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// TestServeLoad (MLPVIZ_LOAD=1): 50 clients tail one run over loopback
// while it is trained for about 30 s (MLPVIZ_LOAD_STEPS sets the steps;
// by default those that take 30 s here, at batch 32): every client ends
// with every pass, the trainer's img/s falls by at most 5 % against
// training alone (measured before and after), and the server's peak RSS is
// reported. The clients stand for viewers on other machines: they run in
// a process of their own at the lowest priority (nice 19), so that what
// the trainer loses is what the server takes.
func TestServeLoad(t *testing.T) {
	if os.Getenv("MLPVIZ_LOAD") == "" {
		t.Skip("set MLPVIZ_LOAD=1 to run: 50 clients tail a run trained for about 30 s, against the trainer alone (2 to 3 minutes)")
	}
	const clients = 50
	steps, err := strconv.Atoi(os.Getenv("MLPVIZ_LOAD_STEPS"))
	if err != nil || steps <= 0 {
		steps = max(300, int(30*trainAlone(t, 300)/32))
	}
	before := trainAlone(t, steps)

	dir := t.TempDir()
	out := filepath.Join(dir, "loaded.mlpv")
	start := time.Now()
	tr := startTrainer(t, out, steps, 5, "--batch-size", "32")
	waitForPasses(t, out, 1)
	srv := startServe(t, dir, "127.0.0.1:0")
	args := []string{os.Args[0], "-test.run=^TestServeLoadClients$", "-test.v"}
	if nice, err := exec.LookPath("nice"); err == nil {
		args = append([]string{nice, "-n", "19"}, args...)
	} else {
		t.Log("no nice: the clients run at the trainer's priority")
	}
	cl := exec.Command(args[0], args[1:]...)
	cl.Env = append(os.Environ(), "MLPVIZ_LOAD_URL=http://"+srv.addr+"/runs/loaded.mlpv", "MLPVIZ_LOAD_FILE="+out, fmt.Sprint("MLPVIZ_LOAD_CLIENTS=", clients))
	var clOut lineLog
	cl.Stdout, cl.Stderr = &clOut, &clOut
	if err := cl.Start(); err != nil {
		t.Fatal(err)
	}
	defer cl.Process.Kill()
	tr.wait(t)
	trained := time.Since(start)
	loaded := trainerSpeed(t, tr)
	if err := cl.Wait(); err != nil {
		t.Fatalf("the clients: %v\n%s", err, &clOut)
	}
	rss := procStatus(t, srv.cmd.Process.Pid, "VmHWM")
	srv.kill()
	serverCPU := srv.cmd.ProcessState.UserTime() + srv.cmd.ProcessState.SystemTime()
	clientCPU := cl.ProcessState.UserTime() + cl.ProcessState.SystemTime()
	after := trainAlone(t, steps)

	m := regexp.MustCompile(`clients: (\d+) of (\d+) ended with all (\d+) passes \((\d+) looks`).FindStringSubmatch(clOut.String())
	if m == nil || m[1] != m[2] {
		t.Fatalf("not every client ended with every pass:\n%s", &clOut)
	}
	alone := (before + after) / 2
	drop := 100 * (alone - loaded) / alone
	t.Logf("%s clients tailed the run for %v (%d steps): each ended with all %s passes; %s looks in all found the server not answering", m[1], trained.Round(time.Second), steps, m[3], m[4])
	t.Logf("trainer img/s: alone %.0f before, %.0f after (mean %.0f); with the clients %.0f: %+.1f %%", before, after, alone, loaded, -drop)
	t.Logf("server: peak RSS (VmHWM) %d kB, %v of CPU in all; the clients %v", rss, serverCPU.Round(time.Millisecond), clientCPU.Round(time.Millisecond))
	if drop > 5 {
		t.Errorf("the trainer's img/s fell by %.1f %% with %d clients (at most 5 %%)", drop, clients)
	}
}

// TestServeLoadClients is the clients of TestServeLoad, which runs it in a
// process of its own: MLPVIZ_LOAD_CLIENTS readers of MLPVIZ_LOAD_URL look
// for new passes every 100 ms, as the window does, until the run is
// closed, and are then checked against the file, MLPVIZ_LOAD_FILE.
func TestServeLoadClients(t *testing.T) {
	url, file := os.Getenv("MLPVIZ_LOAD_URL"), os.Getenv("MLPVIZ_LOAD_FILE")
	n, _ := strconv.Atoi(os.Getenv("MLPVIZ_LOAD_CLIENTS"))
	if url == "" || n <= 0 {
		t.Skip("the clients of TestServeLoad, which starts them")
	}
	readers := make([]*runfile.Reader, n)
	errs := make([]error, n)
	var outages atomic.Int64 // looks that found the server not answering, as the window shows them
	var wg sync.WaitGroup
	for i := range readers {
		wg.Go(func() {
			r, err := runfile.OpenURL(url, runfile.URLOptions{})
			if err != nil {
				errs[i] = err
				return
			}
			readers[i] = r
			for deadline := time.Now().Add(5 * time.Minute); !r.Closed() && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
				_, err := r.Refresh()
				if errors.Is(err, runfile.ErrUnreachable) {
					outages.Add(1)
				} else if err != nil {
					errs[i] = err
					return
				}
			}
		})
	}
	wg.Wait()
	local, err := runfile.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	for i, r := range readers {
		if errs[i] != nil {
			t.Fatalf("client %d: %v", i, errs[i])
		}
		defer r.Close()
		if r.Len() != local.Len() || r.Expected() != local.Len() || len(r.Damages()) > 0 || !r.Closed() {
			t.Fatalf("client %d: %d passes (%d expected), closed %v, damage %v; the file has %d", i, r.Len(), r.Expected(), r.Closed(), r.Damages(), local.Len())
		}
	}
	for j := range local.Len() { // every client's passes decode to the file's
		want, err := local.Pass(j)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range readers {
			if got, err := r.Pass(j); err != nil || got.Step != want.Step || got.Loss != want.Loss {
				t.Fatalf("client %d pass %d: %v", i, j, err)
			}
		}
	}
	fmt.Printf("clients: %d of %d ended with all %d passes (%d looks found the server not answering)\n", n, n, local.Len(), outages.Load())
}
