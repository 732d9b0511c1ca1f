//go:build linux

package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
)

// supervisedEnv marks the process that does the work, under a supervisor.
const supervisedEnv = "MLPVIZ_SUPERVISED"

// oomMark starts the Go runtime's report of a failed allocation, which is
// fatal: no recover catches it, and it ends in a goroutine dump and exit
// status 2, the status of a usage error.
const oomMark = "runtime: out of memory"

// supervise runs a training command line in a child process and reports
// for it what the child cannot report itself: running out of memory (the
// runtime's crash, or the kernel's OOM killer) is said in one line with
// exit status 1, not as a goroutine dump. It reports false for command
// lines it leaves to run in this process.
func supervise(args []string) (code int, ok bool) {
	if os.Getenv(supervisedEnv) != "" || !isTrain(args) {
		return 0, false
	}
	exe, err := os.Executable()
	if err != nil {
		return 0, false
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), supervisedEnv+"=1")
	if st, err := os.Stderr.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
		cmd.Env = append(cmd.Env, "MLPVIZ_STDERR_TTY=1") // the child's stderr is a pipe
	}
	// The child's stderr comes through a pipe; its stdout too when both
	// are one file (a terminal), so that their lines keep their order.
	pr, pw, err := os.Pipe()
	if err != nil {
		return 0, false
	}
	defer pr.Close()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, pw
	if sameOpenFile(os.Stdout, os.Stderr) {
		cmd.Stdout = pw
	}
	// The child dies with this process, however this one dies; the
	// signal is tied to the thread that starts the child.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	defer signal.Stop(sigs)
	err = cmd.Start()
	pw.Close()
	if err != nil {
		return 0, false
	}
	go func() {
		for s := range sigs {
			cmd.Process.Signal(s)
		}
	}()
	oom := copyUntil(os.Stderr, pr, []byte(oomMark))
	err = cmd.Wait()
	var ee *exec.ExitError
	switch {
	case oom:
		fmt.Fprintln(os.Stderr, "mlpviz: out of memory: the training step needed more than this machine could give; try a smaller --batch-size (or a smaller --neuron-cap for the run file)")
		return 1, true
	case err == nil:
		return 0, true
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			if ws.Signal() == syscall.SIGKILL {
				fmt.Fprintln(os.Stderr, "mlpviz: training was killed (SIGKILL); if nobody sent it, the system ran out of memory (see dmesg): try a smaller --batch-size")
			}
			return 128 + int(ws.Signal()), true
		}
		return ee.ExitCode(), true
	}
	fmt.Fprintln(os.Stderr, "mlpviz:", err)
	return 1, true
}

func sameOpenFile(a, b *os.File) bool {
	sa, err1 := a.Stat()
	sb, err2 := b.Stat()
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

// isTrain reports whether a command line runs "train": named, implied by
// no arguments, or by flags first, as dispatch reads it.
func isTrain(args []string) bool {
	if len(args) == 0 {
		return true
	}
	switch a := args[0]; {
	case a == "train":
		return len(args) < 2 || !isHelp(args[1])
	case strings.HasPrefix(a, "-"):
		return !isHelp(a)
	}
	return false
}

func isHelp(a string) bool { return a == "-h" || a == "-help" || a == "--help" }

// copyUntil copies src to dst as it comes, keeping \r progress lines
// live, until mark appears; the rest (the runtime's goroutine dump) is
// read and dropped. It reports whether mark appeared.
func copyUntil(dst io.Writer, src io.Reader, mark []byte) bool {
	buf := make([]byte, 32<<10)
	var held []byte // a tail that could be the start of mark
	for {
		n, err := src.Read(buf)
		data := append(held, buf[:n]...)
		if i := bytes.Index(data, mark); i >= 0 {
			dst.Write(data[:i])
			io.Copy(io.Discard, src)
			return true
		}
		keep := 0
		for k := min(len(mark)-1, len(data)); k > 0; k-- {
			if bytes.HasSuffix(data, mark[:k]) {
				keep = k
				break
			}
		}
		dst.Write(data[:len(data)-keep])
		held = append([]byte(nil), data[len(data)-keep:]...)
		if err != nil {
			dst.Write(held)
			return false
		}
	}
}
