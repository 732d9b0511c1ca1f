package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mlpviz/mlpviz/catalog"
	"github.com/mlpviz/mlpviz/collector/runfile"
	"github.com/mlpviz/mlpviz/internal/sysmem"
	"github.com/mlpviz/mlpviz/trainer"
)

// quickRun trains cnn on MNIST for steps steps with a pass each, into a
// fresh run file.
func quickRun(t *testing.T, steps int) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "run.mlpv")
	code, _, stderr := runCLI(t, "train", "--headless", "--offline", "--interval", "1", "--batch-size", "8",
		"--max-steps", fmt.Sprint(steps), "--output", out, "--data-dir", t.TempDir())
	if code != 0 {
		t.Fatalf("train: exit %d\n%s", code, stderr)
	}
	return out
}

// fileSizeLimited makes cmd run with its files limited to fsize bytes
// (RLIMIT_FSIZE, through prlimit): a disk that fills, for real.
func fileSizeLimited(t *testing.T, cmd *exec.Cmd, fsize int) {
	t.Helper()
	const prlimit = "/usr/bin/prlimit"
	if _, err := os.Stat(prlimit); err != nil {
		t.Skip("no prlimit")
	}
	cmd.Args = append([]string{"prlimit", fmt.Sprintf("--fsize=%d", fsize), "--"}, cmd.Args...)
	cmd.Path = prlimit
}

func flipAt(t *testing.T, path string, off int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[off] ^= 0x10
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func inspectJSON(t *testing.T, path string) (summary, int, string) {
	t.Helper()
	code, stdout, stderr := runCLI(t, "inspect", "--json", path)
	var s summary
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatalf("inspect --json printed no object: %v\nstdout %q\nstderr %s", err, stdout, stderr)
	}
	return s, code, stderr
}

// TestInspectVerifiesEveryPass: one flipped byte in the middle of a closed
// 40-pass file is found by inspect (exit 1, the offset, 39 whole passes),
// export refuses without --skip-damaged and with it writes the 39; a bad
// first pass still gets inspect --json's object.
func TestInspectVerifiesEveryPass(t *testing.T) {
	clean := quickRun(t, 40)
	b, _ := os.ReadFile(clean)
	dir := t.TempDir()
	path := filepath.Join(dir, "flipped.mlpv")
	os.WriteFile(path, b, 0o644)
	flipAt(t, path, int64(len(b))/2)

	s, code, stderr := inspectJSON(t, path)
	if code != 1 || !s.Damaged || s.Passes != 40 || s.WholePasses != 39 || !s.Verified || s.DamageOffset == nil {
		t.Fatalf("inspect: exit %d, %+v\n%s", code, s, stderr)
	}
	if !strings.Contains(stderr, fmt.Sprintf("is damaged at byte %d", *s.DamageOffset)) || !strings.Contains(stderr, "39 of its 40 passes are whole") {
		t.Fatalf("inspect stderr: %s", stderr)
	}
	if q, code, _ := inspectJSON(t, path); code != 1 || !q.Damaged {
		t.Fatalf("inspect --quick must still find damage in the pass it reads, and a second full look the same: exit %d %+v", code, q)
	}
	if _, code, _ := inspectJSON(t, clean); code != 0 {
		t.Fatalf("inspect of the clean file: exit %d", code)
	}

	out := filepath.Join(dir, "out.json")
	code, _, stderr = runCLI(t, "export", path, "-o", out)
	if code != 1 || !strings.Contains(stderr, "add --skip-damaged") || !strings.Contains(stderr, "39 of its 40 passes are whole") {
		t.Fatalf("export without --skip-damaged: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("a refused export wrote its output")
	}
	code, _, stderr = runCLI(t, "export", path, "-o", out, "--skip-damaged")
	if code != 0 || !strings.Contains(stderr, "left out passes ") || !strings.Contains(stderr, "39 whole passes") {
		t.Fatalf("export --skip-damaged: exit %d\n%s", code, stderr)
	}
	if _, ps := readCollectionFile(t, out); len(ps) != 39 {
		t.Fatalf("exported %d passes, want 39", len(ps))
	}
	// Written through a temporary file, kept with a kept file's mode.
	mask := syscall.Umask(0)
	syscall.Umask(mask)
	if st, _ := os.Stat(out); st.Mode().Perm() != 0o666&^os.FileMode(mask) {
		t.Fatalf("%s has mode %v, want %v", out, st.Mode().Perm(), 0o666&^os.FileMode(mask))
	}

	first := filepath.Join(dir, "first.mlpv")
	os.WriteFile(first, b, 0o644)
	flipAt(t, first, int64(records(b)[1])+40) // inside the first pass, after the header record
	if s, code, _ := inspectJSON(t, first); code != 1 || !s.Damaged || s.WholePasses != 39 || *s.FirstStep != 2 {
		t.Fatalf("pass 0 damaged: exit %d %+v", code, s)
	}
	// A file that is no run file at all still gets an object.
	junk := filepath.Join(dir, "junk.mlpv")
	os.WriteFile(junk, []byte("not a run"), 0o644)
	code, stdout, _ := runCLI(t, "inspect", "--json", junk)
	var f openFailure
	if err := json.Unmarshal([]byte(stdout), &f); err != nil || code != 1 || !f.Damaged || !strings.Contains(f.Error, "not an mlpv run file") {
		t.Fatalf("inspect --json of junk: exit %d, %q (%v)", code, stdout, err)
	}
}

// maskedCRC is the run file format's checksum, written out again here so
// that the test checks the format, not the code that writes it.
func maskedCRC(b []byte) uint32 {
	c := crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli))
	return (c>>15 | c<<17) + 0xa282ead8
}

// TestHugeHeadRefused: a crafted file whose header claims a 16000×16000
// head is refused by inspect and export with a clear line, each within
// 200 MB.
func TestHugeHeadRefused(t *testing.T) {
	arch := (`{"dataset":"mnist","model":"cnn","input_shape":[1,28,28],"class_names":["0","1","2","3","4","5","6","7","8","9"],` +
		`"head":[{"in":16000,"out":16000},{"in":16000,"out":10}],"full_head":[{"in":16000,"out":16000},{"in":16000,"out":10}]}`)
	payload := append([]byte{1, 2, 0, 0, 0}, arch...)
	le := binary.LittleEndian
	b := []byte("MLPV\x02\x00\x00\x00")
	b = le.AppendUint64(b, uint64(len(payload)))
	b = le.AppendUint32(b, maskedCRC(b[8:16]))
	b = append(b, payload...)
	b = le.AppendUint32(b, maskedCRC(payload))
	// A pass record of zeros that would decode to a gigabyte.
	b = append(b, make([]byte, 16<<10)...)
	path := filepath.Join(t.TempDir(), "huge.mlpv")
	os.WriteFile(path, b, 0o644)
	for _, args := range [][]string{{"inspect", path}, {"inspect", "--json", path}, {"export", path, "-o", path + ".json"}} {
		o := runTimed(t, args...)
		if o.code != 1 || !strings.Contains(o.stdout+o.stderr, "256,000,000 weights") {
			t.Errorf("%v: exit %d\n%s%s", args, o.code, o.stdout, o.stderr)
		}
		if o.rss > 200<<20 {
			t.Errorf("%v: peak RSS %d MB", args, o.rss>>20)
		}
		t.Logf("%v: exit %d, peak RSS %.1f MB", args[0], o.code, float64(o.rss)/(1<<20))
	}
}

// TestSecondTrainerRefused: a second "train --force" of a file another
// trainer is writing exits 1 naming that process, and the first run's file
// is untouched.
func TestSecondTrainerRefused(t *testing.T) {
	out := filepath.Join(t.TempDir(), "shared.mlpv")
	first := mlpvizCommand(t, "train", "--headless", "--offline", "--interval", "1", "--batch-size", "8",
		"--max-steps", "100000", "--output", out, "--data-dir", t.TempDir())
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	defer first.Process.Kill()
	waitForPasses(t, out, 2)
	for _, extra := range [][]string{{"--force"}, {}} {
		code, _, stderr := runCLI(t, append([]string{"train", "--headless", "--offline", "--max-steps", "3", "--interval", "1", "--output", out}, extra...)...)
		// The holder is the first process's supervised child
		// (supervise_linux.go).
		want := fmt.Sprintf("is being written by process %d ", childOf(t, first.Process.Pid))
		if len(extra) == 0 {
			want = "already exists"
		}
		if code == 0 || code == 2 && len(extra) > 0 || !strings.Contains(stderr, want) {
			t.Fatalf("second trainer %v: exit %d\n%s", extra, code, stderr)
		}
	}
	first.Process.Signal(syscall.SIGKILL)
	first.Wait()
	r, err := runfile.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i := range r.Len() {
		p, err := r.Pass(i)
		if err != nil || p.Step != i+1 {
			t.Fatalf("pass %d: %v (step %v): the first run's file was disturbed", i, err, p)
		}
	}
}

// childOf is the first child process of pid.
func childOf(t *testing.T, pid int) int {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	f := strings.Fields(string(b))
	if len(f) == 0 {
		t.Fatalf("process %d has no child", pid)
	}
	n, _ := strconv.Atoi(f[0])
	return n
}

func waitForPasses(t *testing.T, path string, n int) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if r, err := runfile.Open(path); err == nil {
			got := r.Len()
			r.Close()
			if got >= n {
				return
			}
		}
	}
	t.Fatalf("%s: no %d passes after 2 minutes", path, n)
}

// TestForceKeepsOldRun: "train --force" over a finished run leaves it in
// place when the new run fails before its first pass (a batch too big) or
// collects none, and a batch too big is refused with its figure and exit 1,
// never the usage status.
func TestForceKeepsOldRun(t *testing.T) {
	old := quickRun(t, 5)
	before, _ := os.ReadFile(old)
	code, _, stderr := runCLI(t, "train", "--headless", "--offline", "--batch-size", "100000", "--output", old, "--force")
	if code != 1 || !strings.Contains(stderr, "--batch-size 100000 is more than the 60000 training images of mnist") {
		t.Fatalf("batch larger than the dataset: exit %d\n%s", code, stderr)
	}
	need, _ := trainer.BatchBytes(catalog.LookupModel("cnn"), 60000)
	if avail, ok := sysmem.Available(); ok && need > avail {
		code, _, stderr := runCLI(t, "train", "--headless", "--offline", "--batch-size", "60000", "--output", old, "--force")
		if code != 1 || !strings.Contains(stderr, "--batch-size 60000 needs about") || !strings.Contains(stderr, "or less") {
			t.Fatalf("batch too big for memory: exit %d\n%s", code, stderr)
		}
	} else {
		t.Logf("this machine has the memory for a batch of 60000 (%d bytes): not tried", need)
	}
	code, _, stderr = runCLI(t, "train", "--headless", "--offline", "--max-steps", "3", "--interval", "50", "--output", old, "--force")
	if code != 0 || !strings.Contains(stderr, "no pass was collected, so "+old+" keeps the run it held") {
		t.Fatalf("run without a pass: exit %d\n%s", code, stderr)
	}
	if after, _ := os.ReadFile(old); string(after) != string(before) {
		t.Fatal("the old run was changed")
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(old), ".*")); len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
}

// TestHugeValueNotEchoed: a 5 MB value in a profile comes back in an
// error of a few hundred bytes.
func TestHugeValueNotEchoed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.yaml")
	os.WriteFile(path, []byte("dataset: "+strings.Repeat("x", 5<<20)+"\n"), 0o644)
	code, _, stderr := runCLI(t, "train", "--headless", "--profile", path)
	if code != 2 || len(stderr) > 2000 || !strings.Contains(stderr, "bytes left out") {
		t.Fatalf("exit %d, %d bytes of stderr: %.300s", code, len(stderr), stderr)
	}
}

// TestFailedWritesLeaveNothing: with files limited to 20 KB (a disk that
// fills), import and export fail, and neither leaves a file at its output
// or a temporary one beside it.
func TestFailedWritesLeaveNothing(t *testing.T) {
	run := quickRun(t, 30)
	dir := t.TempDir()
	coll := filepath.Join(dir, "c.json")
	if code, _, stderr := runCLI(t, "export", run, "-o", coll); code != 0 {
		t.Fatal(stderr)
	}
	for _, args := range [][]string{{"export", run, "-o", filepath.Join(dir, "out.json")}, {"import", coll, "-o", filepath.Join(dir, "out.mlpv")}} {
		cmd := mlpvizCommand(t, args...)
		fileSizeLimited(t, cmd, 20000)
		out, _ := cmd.CombinedOutput()
		if cmd.ProcessState.ExitCode() != 1 || !strings.Contains(string(out), "file too large") {
			t.Errorf("%v: exit %d\n%s", args, cmd.ProcessState.ExitCode(), out)
		}
		if _, err := os.Stat(args[3]); err == nil {
			t.Errorf("%v left %s", args, args[3])
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
}

// TestOutOfMemoryReported: a training step that runs out of memory is
// reported in one line with exit status 1, not as the runtime's goroutine
// dump with the usage status 2. Once the training process (the supervised
// child) has loaded MNIST and says it is training, it gets an
// address-space limit 300 MB above what it has, so that its first batch
// of 4096 cannot be had.
func TestOutOfMemoryReported(t *testing.T) {
	if _, err := os.Stat("/usr/bin/prlimit"); err != nil {
		t.Skip("no prlimit")
	}
	cmd := mlpvizCommand(t, "train", "--headless", "--offline", "--batch-size", "4096", "--max-steps", "3", "--interval", "100",
		"--output", filepath.Join(t.TempDir(), "oom.mlpv"), "--data-dir", t.TempDir())
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var out strings.Builder
	sc := bufio.NewScanner(pipe)
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if strings.HasPrefix(sc.Text(), "mlpviz: training cnn on mnist") {
			break
		}
	}
	child := childOf(t, cmd.Process.Pid)
	var vmKB int64
	status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", child))
	for _, l := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(l, "VmSize:"); ok {
			vmKB, _ = strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	limit := fmt.Sprintf("--as=%d", (vmKB<<10)+300<<20)
	if b, err := exec.Command("/usr/bin/prlimit", "--pid", fmt.Sprint(child), limit).CombinedOutput(); err != nil {
		t.Fatalf("prlimit: %v %s", err, b)
	}
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
	}
	cmd.Wait()
	if cmd.ProcessState.ExitCode() != 1 || !strings.Contains(out.String(), "mlpviz: out of memory") || strings.Contains(out.String(), "goroutine") {
		t.Fatalf("exit %d\n%.3000s", cmd.ProcessState.ExitCode(), out.String())
	}
}

// TestTrainFullDisk: a run whose disk fills (files limited to 100 KB)
// fails, its closing line counts the passes the file holds, and the file
// reads undamaged: the pass that did not fit was cut back off.
func TestTrainFullDisk(t *testing.T) {
	out := filepath.Join(t.TempDir(), "full.mlpv")
	cmd := mlpvizCommand(t, "train", "--headless", "--offline", "--interval", "1", "--batch-size", "8", "--max-steps", "100",
		"--output", out, "--data-dir", t.TempDir())
	fileSizeLimited(t, cmd, 100000)
	b, _ := cmd.CombinedOutput()
	var said int
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "mlpviz: run file "+out+": "); ok {
			fmt.Sscanf(rest, "%d passes", &said)
		}
	}
	if cmd.ProcessState.ExitCode() != 1 || !strings.Contains(string(b), "file too large") || said == 0 {
		t.Fatalf("exit %d\n%s", cmd.ProcessState.ExitCode(), b)
	}
	r, err := runfile.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got, bad := r.Len(), r.Damage(); got != said || bad != nil {
		t.Fatalf("the closing line said %d passes; the file holds %d, damage %v", said, got, bad)
	}
}
