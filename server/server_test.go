package server

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mlpviz/mlpviz/collector/runfile"
)

// TestServesRunsWithRanges serves a finished run: a Range request gets its
// bytes, the whole file reads back, and runfile.OpenURL reads every pass.
func TestServesRunsWithRanges(t *testing.T) {
	dir := t.TempDir()
	w := writeRun(t, dir, "a.mlpv", 5)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(filepath.Join(dir, "a.mlpv"))
	addr, _ := serve(t, Config{Dir: dir})

	status, body := raw(t, addr, "/runs/a.mlpv", "Range: bytes=4-9")
	if status != http.StatusPartialContent || string(body) != string(want[4:10]) {
		t.Fatalf("Range 4-9: %d %q, want 206 %q", status, body, want[4:10])
	}
	if status, body = raw(t, addr, "/runs/a.mlpv"); status != http.StatusOK || string(body) != string(want) {
		t.Fatalf("whole file: %d, %d bytes, want 200, %d", status, len(body), len(want))
	}
	r, err := runfile.OpenURL("http://"+addr+"/runs/a.mlpv", runfile.URLOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Len() != 5 || !r.Closed() {
		t.Fatalf("over HTTP: %d passes, closed %v", r.Len(), r.Closed())
	}
	for i := range 5 {
		if p, err := r.Pass(i); err != nil || p.Step != i+1 {
			t.Fatalf("pass %d: %v %v", i, p, err)
		}
	}
}

// TestFollowsGrowthAndReplacement: each request sees the file as it is
// then, so a reader follows a run being written; another run renamed over
// it is noticed, not mixed in.
func TestFollowsGrowthAndReplacement(t *testing.T) {
	dir := t.TempDir()
	w := writeRun(t, dir, "live.mlpv", 2)
	addr, _ := serve(t, Config{Dir: dir})
	r, err := runfile.OpenURL("http://"+addr+"/runs/live.mlpv", runfile.URLOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	appendPasses(t, w, 3)
	waitPasses(t, r, 5)
	w.Close()
	waitPasses(t, r, 5)

	otherDir := t.TempDir()
	writeRun(t, otherDir, "other.mlpv", 7).Close()
	if err := os.Rename(filepath.Join(otherDir, "other.mlpv"), filepath.Join(dir, "live.mlpv")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := r.Refresh()
		if errors.Is(err, runfile.ErrReplaced) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("another run renamed over the file: Refresh says %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if r.Len() != 5 {
		t.Fatalf("the replaced run's passes were mixed in: %d passes", r.Len())
	}
}

// waitPasses refreshes r until it holds n passes: over HTTP they arrive a
// moment after Refresh asks.
func waitPasses(t *testing.T, r *runfile.Reader, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for r.Len() != n {
		if _, err := r.Refresh(); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d passes after 10 s, want %d", r.Len(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRefusesWhatIsNotARunInTheFolder asks for paths out of the folder
// every way a request can spell them, a link that leads out, and files
// that are not run files: none is served.
func TestRefusesWhatIsNotARunInTheFolder(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "runs")
	os.Mkdir(dir, 0o755)
	writeRun(t, dir, "a.mlpv", 2).Close()
	writeRun(t, parent, "secret.mlpv", 3).Close() // outside the folder
	secret, _ := os.ReadFile(filepath.Join(parent, "secret.mlpv"))
	for link, to := range map[string]string{
		"out.mlpv":   filepath.Join(parent, "secret.mlpv"),
		"rel.mlpv":   "../secret.mlpv",
		"alias.mlpv": "a.mlpv", // stays inside: served
	} {
		if err := os.Symlink(to, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "notes.mlpv"), []byte("not a run file"), 0o644)
	os.WriteFile(filepath.Join(dir, ".a.mlpv.123.partial"), []byte("MLPV"), 0o644)
	os.WriteFile(filepath.Join(dir, "run.txt"), []byte("MLPV"), 0o644)
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe.mlpv"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr, _ := serve(t, Config{Dir: dir})

	for _, target := range []string{
		"/runs/../secret.mlpv",
		"/runs/..%2Fsecret.mlpv",
		"/runs/%2E%2E%2Fsecret.mlpv",
		"/runs/..%5Csecret.mlpv",
		"/runs/%2F" + strings.TrimPrefix(filepath.Join(parent, "secret.mlpv"), "/"),
		"/runs//" + strings.TrimPrefix(filepath.Join(parent, "secret.mlpv"), "/"),
		"/runs/" + filepath.Join(parent, "secret.mlpv"),
		"/runs/out.mlpv",
		"/runs/rel.mlpv",
		"/runs/notes.mlpv",
		"/runs/.a.mlpv.123.partial",
		"/runs/run.txt",
		"/runs/pipe.mlpv",
		"/runs/",
		"/secret.mlpv",
		"/../secret.mlpv",
	} {
		status, body := raw(t, addr, target)
		t.Logf("GET %s: %d %s", target, status, strings.TrimSpace(string(body)))
		if status/100 == 3 { // the path cleaned: where it leads must be refused too
			_, loc, _ := strings.Cut(string(body), `href="`)
			loc, _, _ = strings.Cut(loc, `"`)
			status, body = raw(t, addr, loc)
		}
		if status < 300 || strings.Contains(string(body), string(secret[:40])) {
			t.Errorf("GET %s: %d, %d bytes: served", target, status, len(body))
		}
	}
	if status, body := raw(t, addr, "/runs/alias.mlpv"); status != http.StatusOK || !strings.HasPrefix(string(body), "MLPV") {
		t.Errorf("a link inside the folder: %d", status)
	}
	// The list shows the run files of the folder only.
	_, body := raw(t, addr, "/runs")
	var runs []RunInfo
	if err := json.Unmarshal(body, &runs); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range runs {
		names = append(names, r.Name)
	}
	if got := strings.Join(names, " "); got != "a.mlpv alias.mlpv notes.mlpv" {
		t.Errorf("listed %q, want the runs inside the folder and the unreadable one", got)
	}
}

// TestToken: with a token, a request without it or with another is
// refused 401 and one with it, as a header or in the query, served.
func TestToken(t *testing.T) {
	dir := t.TempDir()
	writeRun(t, dir, "a.mlpv", 1).Close()
	const token = "0123456789abcdef-right"
	addr, log := serve(t, Config{Dir: dir, Token: token})
	for _, c := range []struct {
		target, header string
		want           int
	}{
		{"/runs", "", http.StatusUnauthorized},
		{"/runs/a.mlpv", "Authorization: Bearer 0123456789abcdef-wrong", http.StatusUnauthorized},
		{"/runs/a.mlpv?token=0123456789abcdef-wron", "", http.StatusUnauthorized},
		{"/runs/a.mlpv", "Authorization: Basic " + token, http.StatusUnauthorized},
		{"/", "Authorization: Bearer " + token, http.StatusOK},
		{"/runs/a.mlpv", "Authorization: Bearer " + token, http.StatusOK},
		{"/runs/a.mlpv?token=" + token, "", http.StatusOK},
	} {
		var status int
		if c.header != "" {
			status, _ = raw(t, addr, c.target, c.header)
		} else {
			status, _ = raw(t, addr, c.target)
		}
		if status != c.want {
			t.Errorf("GET %s %s: %d, want %d", c.target, c.header, status, c.want)
		}
	}
	if strings.Contains(log.String(), token) {
		t.Errorf("the log shows the token:\n%s", log)
	}
	url := "http://" + addr + "/runs/a.mlpv"
	if _, err := runfile.OpenURL(url, runfile.URLOptions{Token: "0123456789abcdef-wrong"}); !errors.Is(err, runfile.ErrUnauthorized) {
		t.Errorf("OpenURL with the wrong token: %v", err)
	}
	r, err := runfile.OpenURL(url+"?token="+token, runfile.URLOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
}

// TestClientLimit holds the only slot with a client that does not read
// its answer: the next request is told to come back (503), and is served
// once the slot is free.
func TestClientLimit(t *testing.T) {
	dir := t.TempDir()
	writeRun(t, dir, "a.mlpv", 1).Close()
	big := filepath.Join(dir, "big.mlpv")
	if err := os.WriteFile(big, []byte("MLPV"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, 256<<20); err != nil { // sparse: more than any socket buffers
		t.Fatal(err)
	}
	addr, _ := serve(t, Config{Dir: dir, MaxClients: 1})
	hog, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(hog, "GET /runs/big.mlpv HTTP/1.1\r\nHost: x\r\n\r\n")
	// Its status line says it holds the slot (the body then stalls); before
	// that, a poll could hold the slot and turn the hog away instead.
	if line, err := bufio.NewReader(hog).ReadString('\n'); err != nil || !strings.Contains(line, " 200 ") {
		t.Fatalf("the slow client got %q (%v), want 200", line, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, _ := raw(t, addr, "/runs")
		if status == http.StatusServiceUnavailable {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("with the slot taken: %d, want 503", status)
		}
		time.Sleep(10 * time.Millisecond)
	}
	hog.Close()
	for deadline = time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if status, _ := raw(t, addr, "/runs"); status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the slot was not freed when its client left")
		}
	}
}

// TestListAndLog lists the runs with their figures while one is written
// and after it is closed, and logs one line per client connection.
func TestListAndLog(t *testing.T) {
	dir := t.TempDir()
	w := writeRun(t, dir, "b.mlpv", 3)
	writeRun(t, dir, "a.mlpv", 2).Close()
	addr, log := serve(t, Config{Dir: dir})
	list := func() map[string]RunInfo {
		resp, err := http.Get("http://" + addr + "/runs")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var runs []RunInfo
		if err := json.NewDecoder(resp.Body).Decode(&runs); err != nil {
			t.Fatal(err)
		}
		m := map[string]RunInfo{}
		for _, r := range runs {
			m[r.Name] = r
		}
		return m
	}
	runs := list()
	a, b := runs["a.mlpv"], runs["b.mlpv"]
	if a.Passes != 2 || !a.Closed || a.Writing || fmt.Sprint(a.Head) != "[4 3 2]" || a.Size == 0 || a.Modified.IsZero() {
		t.Errorf("a finished run: %+v", a)
	}
	if b.Passes != 3 || b.Closed || !b.Writing {
		t.Errorf("a run being written: %+v", b)
	}
	appendPasses(t, w, 2)
	if b = list()["b.mlpv"]; b.Passes != 5 || !b.Writing {
		t.Errorf("after 2 more passes: %+v", b)
	}
	w.Close()
	if b = list()["b.mlpv"]; b.Passes != 5 || !b.Closed || b.Writing {
		t.Errorf("after its close: %+v", b)
	}
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := "mlpviz view http://" + addr + "/runs/b.mlpv"; !strings.Contains(string(page), want) {
		t.Errorf("the page does not say %q:\n%s", want, page)
	}
	http.DefaultClient.CloseIdleConnections()
	raw(t, addr, "/runs/a.mlpv")
	// The client above made 4 requests on one connection, raw 1 on another.
	if n := strings.Count(log.String(), "client "); n != 2 {
		t.Errorf("%d client lines, want 2:\n%s", n, log)
	}
}

// TestCheckAddr: loopback needs no token, anything else does.
func TestCheckAddr(t *testing.T) {
	for _, c := range []struct {
		addr, token string
		ok          bool
	}{
		{"127.0.0.1:6160", "", true},
		{"localhost:6160", "", true},
		{"[::1]:6160", "", true},
		{"127.0.0.2:6160", "", true},
		{"0.0.0.0:6160", "", false},
		{":6160", "", false},
		{"192.168.1.5:6160", "", false},
		{"example.org:6160", "", false},
		{"0.0.0.0:6160", "0123456789abcdef", true},
		{"0.0.0.0:6160", "short", false},
		{"127.0.0.1", "", false},
	} {
		err := CheckAddr(c.addr, c.token)
		if (err == nil) != c.ok {
			t.Errorf("CheckAddr(%q, %q) = %v", c.addr, c.token, err)
		}
	}
}

// TestTailWaitsForGrowth: a request for the bytes after the end of a run
// that asks to wait (Prefer: wait=N) is held until the run grows and then
// gets the new bytes; one that does not ask, or whose wait runs out, is
// told there is nothing there yet (416).
func TestTailWaitsForGrowth(t *testing.T) {
	dir := t.TempDir()
	w := writeRun(t, dir, "live.mlpv", 1)
	addr, _, srv := serveServer(t, Config{Dir: dir})
	size := w.Bytes()
	tail := fmt.Sprintf("Range: bytes=%d-", size)
	if status, _ := raw(t, addr, "/runs/live.mlpv", tail); status != http.StatusRequestedRangeNotSatisfiable {
		t.Fatalf("the tail without waiting: %d, want 416", status)
	}
	if status, _ := raw(t, addr, "/runs/live.mlpv", tail, "Prefer: wait=1"); status != http.StatusRequestedRangeNotSatisfiable {
		t.Fatalf("the tail after a wait in which nothing came: %d, want 416", status)
	}

	type answer struct {
		status int
		body   []byte
	}
	got := make(chan answer, 1)
	go func() {
		status, body := raw(t, addr, "/runs/live.mlpv", tail, "Prefer: wait=5")
		got <- answer{status, body}
	}()
	// Append only once the request waits, so that it can only have been
	// answered by waiting.
	deadline := time.Now().Add(10 * time.Second)
	for waiting := 0; waiting == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the request for the tail is not waiting")
		}
		srv.growth.mu.Lock()
		if wt := srv.growth.files["live.mlpv"]; wt != nil {
			waiting = wt.waiting
		}
		srv.growth.mu.Unlock()
	}
	appendPasses(t, w, 1)
	var a answer
	select {
	case a = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("the held request was not answered when the run grew")
	}
	file, _ := os.ReadFile(filepath.Join(dir, "live.mlpv"))
	if a.status != http.StatusPartialContent || string(a.body) != string(file[size:]) {
		t.Fatalf("the held tail: %d with %d bytes, want 206 with the %d new ones", a.status, len(a.body), len(file)-int(size))
	}
}
