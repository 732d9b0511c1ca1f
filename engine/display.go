package engine

import (
	"errors"
	"os"
	"runtime"
)

// ErrNoDisplay means there is no display to open a window on.
var ErrNoDisplay = errors.New("no display to open a window on (DISPLAY is not set): add --headless, or run under xvfb-run")

// CheckDisplay reports ErrNoDisplay where a window surely cannot open (an
// X11 or Wayland system with neither variable set), so a command can refuse
// before it starts work that only the window would show.
func CheckDisplay() error {
	switch runtime.GOOS {
	case "windows", "darwin", "android", "ios", "js":
		return nil
	}
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		return ErrNoDisplay
	}
	return nil
}
