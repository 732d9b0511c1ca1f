//go:build unix

package server

import (
	"fmt"
	"os"
	"syscall"
)

// fileID names the file st describes, device and inode, so that a reader
// notices when another file is put at the name it follows.
func fileID(st os.FileInfo) string {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return fmt.Sprintf("%x-%x", uint64(sys.Dev), uint64(sys.Ino))
	}
	return ""
}
