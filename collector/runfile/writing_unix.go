//go:build unix

package runfile

import (
	"os"
	"syscall"
)

// WriterPID is the process that holds the run file at path open for
// writing, as the system lists its lock (Linux), or 0: none, or the system
// does not say. Unlike CheckNotBusy it takes no lock, so that a server
// asking often never stands in a trainer's way.
func WriterPID(path string) int {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return 0
	}
	return lockHolder(uint64(sys.Dev), uint64(sys.Ino))
}
