package main

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mlpviz/mlpviz/collector/pipeline"
	"github.com/mlpviz/mlpviz/collector/runfile"
)

// progressLine reads what a progress line announced: its step and the
// passes it said were saved.
var progressLine = regexp.MustCompile(`step (?:\d+/\d+ step )?(\d+)(?:/\d+)?  .*  (\d+) pass(?:es)? saved`)

// TestKillsLoseNoAnnouncedPass SIGKILLs a training run at random moments
// while strace slows every write(2) by 300 ms (a disk that lags far
// behind the trainer), MLPVIZ_KILLS times: every pass a progress line
// announced as saved must be in the file, and the file must hold every
// pass up to InFlight intervals before the last step announced.
func TestKillsLoseNoAnnouncedPass(t *testing.T) {
	trials, _ := strconv.Atoi(os.Getenv("MLPVIZ_KILLS"))
	if trials == 0 {
		t.Skip("set MLPVIZ_KILLS=20 to run; it takes about 15 s a trial")
	}
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Skip("needs strace")
	}
	rng := rand.New(rand.NewPCG(7, uint64(time.Now().UnixNano())))
	const interval = 2
	var report []string
	for trial := range trials {
		out := filepath.Join(t.TempDir(), "killed.mlpv")
		cmd := exec.Command(strace, "-f", "-qq", "-o", "/dev/null", "-e", "trace=write", "-e", "inject=write:delay_exit=300000",
			os.Args[0], "train", "--headless", "--offline", "--interval", fmt.Sprint(interval), "--batch-size", "8",
			"--max-steps", "100000", "--output", out, "--data-dir", t.TempDir())
		cmd.Env = append(os.Environ(), "MLPVIZ_RUN_AS_MAIN=1", "MLPVIZ_PROGRESS_EVERY=200ms")
		stderr, _ := cmd.StderrPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var lastStep, lastSaved int
		lines := make(chan string)
		go func() {
			s := bufio.NewScanner(stderr)
			for s.Scan() {
				lines <- s.Text()
			}
			close(lines)
		}()
		wait := time.Duration(3000+rng.IntN(9000)) * time.Millisecond
		deadline := time.After(wait)
	read:
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					break read
				}
				if m := progressLine.FindStringSubmatch(l); m != nil {
					lastStep, _ = strconv.Atoi(m[1])
					lastSaved, _ = strconv.Atoi(m[2])
				}
			case <-deadline:
				break read
			}
		}
		// The trainer is strace's child: kill it, not strace.
		pid := childOf(t, cmd.Process.Pid)
		syscall.Kill(pid, syscall.SIGKILL)
		for range lines {
		}
		cmd.Wait()
		r, err := runfile.Open(out)
		if err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		got, lastInFile := 0, 0
		for i := range r.Len() {
			p, err := r.Pass(i)
			if err != nil {
				break
			}
			got, lastInFile = i+1, p.Step
		}
		r.Close()
		report = append(report, fmt.Sprintf("killed at %v: announced step %d, %d saved; file %d passes to step %d", wait.Round(time.Millisecond), lastStep, lastSaved, got, lastInFile))
		if got < lastSaved {
			t.Errorf("trial %d: %d passes announced saved, %d in the file", trial, lastSaved, got)
		}
		if behind := lastStep - lastInFile; lastStep > 0 && behind > (pipeline.InFlight+1)*interval {
			t.Errorf("trial %d: the file ends at step %d, %d steps behind the announced step %d", trial, lastInFile, behind, lastStep)
		}
	}
	t.Log("\n" + strings.Join(report, "\n"))
}
