//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

const haveAsm = true

var (
	hasAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512DQ
	hasAVX2   = cpu.X86.HasAVX2 && cpu.X86.HasFMA
)
