package kernels

// PeakFLOPs runs an assembly loop of independent fused multiply-adds on the
// widest vectors this CPU has and returns how many floating-point operations
// it did: divided by the time it took, this core's fp32 peak. It returns 0
// where there is no assembly.
func PeakFLOPs(rounds int) int {
	if rounds <= 0 {
		return 0
	}
	switch {
	case haveAsm && useAVX512:
		peakAVX512(rounds)
		return rounds * 24 * 16 * 2
	case haveAsm && useAVX2:
		peakAVX2(rounds)
		return rounds * 12 * 8 * 2
	}
	return 0
}
