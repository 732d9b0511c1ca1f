// Package sysmem says how much memory this process may still take, so that
// work too big for the machine is refused before it starts instead of
// ending in an out-of-memory crash.
package sysmem

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// Available returns the bytes of memory the system can give without
// swapping, the less of /proc/meminfo's MemAvailable and what the cgroup's
// memory.max leaves, and false where the system does not say (not Linux).
func Available() (uint64, bool) {
	avail, ok := memAvailable("/proc/meminfo")
	if max, ok2 := readUint("/sys/fs/cgroup/memory.max"); ok2 {
		if cur, ok3 := readUint("/sys/fs/cgroup/memory.current"); ok3 && cur < max {
			if left := max - cur; !ok || left < avail {
				avail, ok = left, true
			}
		}
	}
	return avail, ok
}

// memAvailable reads the "MemAvailable: N kB" line.
func memAvailable(path string) (uint64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "MemAvailable:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}

// readUint reads a file holding one number; "max" (no limit) is false.
func readUint(path string) (uint64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	return n, err == nil
}
