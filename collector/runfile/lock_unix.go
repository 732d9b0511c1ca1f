//go:build unix

package runfile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// lock takes the exclusive advisory lock that marks f as being written, or
// reports which process holds it. flock(2) locks belong to the open file,
// so the kernel drops them when the writer exits, however it exits: a
// killed trainer never leaves a stale lock.
func lock(f *os.File, path string) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EWOULDBLOCK):
			return busy(f, path)
		}
		return fmt.Errorf("cannot lock %s: %w", path, err)
	}
}

// unlock drops the lock before f is closed, for a file that stays open.
func unlock(f *os.File) { syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }

// locked reports whether another open file holds the lock on path's file,
// without taking it: a pre-flight check that creates nothing.
func locked(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return nil // nothing there to be busy
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return busy(f, path)
	}
	if err == nil {
		unlock(f)
	}
	return nil
}

// busy is the error for a file another writer holds, naming that process
// when the system says which it is (Linux lists flock holders in
// /proc/locks).
func busy(f *os.File, path string) error {
	e := &BusyError{Path: path}
	if st, err := f.Stat(); err == nil {
		if sys, ok := st.Sys().(*syscall.Stat_t); ok {
			e.PID = lockHolder(uint64(sys.Dev), uint64(sys.Ino))
		}
	}
	if e.PID > 0 {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", e.PID)); err == nil {
			e.Command = strings.TrimSpace(string(bytes.ReplaceAll(b, []byte{0}, []byte{' '})))
		}
	}
	return e
}

// lockHolder finds the process holding a flock on the file with this device
// and inode in /proc/locks, or returns 0.
func lockHolder(dev, ino uint64) int {
	f, err := os.Open("/proc/locks")
	if err != nil {
		return 0
	}
	defer f.Close()
	major := (dev>>8)&0xfff | (dev>>32)&^0xfff
	minor := dev&0xff | (dev>>12)&^0xff
	// "1: FLOCK  ADVISORY  WRITE 4012 fd:01:1310785 0 EOF"; the numbers of
	// the device are in hexadecimal, the inode in decimal.
	want := fmt.Sprintf("%02x:%02x:%d", major, minor, ino)
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) >= 6 && fields[1] == "FLOCK" && fields[5] == want {
			if pid, err := strconv.Atoi(fields[4]); err == nil {
				return pid
			}
		}
	}
	return 0
}
