// Package dl opens shared libraries and calls their C functions at run time
// (with purego, no cgo): what the driver and cuBLAS bindings stand on. On
// systems other than Linux nothing opens.
package dl

import "errors"

// ErrUnsupported is Open's error where libraries are not looked for.
var ErrUnsupported = errors.New("shared libraries are loaded on Linux only")

// Library is an open library's handle.
type Library uintptr
