//go:build !linux

package dl

// Supported says that Open looks for libraries here.
const Supported = false

// Open fails: see ErrUnsupported.
func Open(string) (Library, error) { return 0, ErrUnsupported }

// Symbol fails: no library opens here.
func (Library) Symbol(string) (uintptr, error) { return 0, ErrUnsupported }

// Call is never reached, since no library opens; it returns all ones,
// which no caller takes for success.
func Call(uintptr, ...uintptr) uintptr { return ^uintptr(0) }
