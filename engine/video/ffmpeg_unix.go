//go:build unix

package video

import (
	"os/exec"
	"syscall"
)

// detach puts ffmpeg in its own process group, so that Ctrl-C in the
// terminal reaches only the application: it can then Close the recording
// (or die, and ffmpeg finishes the file on end of input) instead of ffmpeg
// quitting under it mid-frame.
func detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}
