//go:build !amd64 || purego

package kernels

const haveAsm = false

var (
	hasAVX512 = false
	hasAVX2   = false
)
