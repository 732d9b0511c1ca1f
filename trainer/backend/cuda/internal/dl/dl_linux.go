//go:build linux

package dl

import "github.com/ebitengine/purego"

// Supported says that Open looks for libraries here.
const Supported = true

// Open loads the library name; RTLD_NOW finds a broken install at once,
// RTLD_LOCAL keeps its symbols to itself.
func Open(name string) (Library, error) {
	h, err := purego.Dlopen(name, purego.RTLD_NOW|purego.RTLD_LOCAL)
	return Library(h), err
}

// Symbol is the address of the function name in lib.
func (lib Library) Symbol(name string) (uintptr, error) {
	return purego.Dlsym(uintptr(lib), name)
}

// Call runs the C function at fn and returns its result register. The
// functions called here take only integers and pointers, which purego's
// integer calling convention passes as the C ABI does. uintptrescapes
// keeps what the caller's uintptr(unsafe.Pointer(...)) arguments point at
// alive (and on the heap) until the call returns.
//
//go:uintptrescapes
func Call(fn uintptr, args ...uintptr) uintptr {
	r, _, _ := purego.SyscallN(fn, args...)
	return r
}
