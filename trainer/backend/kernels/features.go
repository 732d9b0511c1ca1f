package kernels

// Which assembly the kernels use. They are variables so that tests can turn
// a level off and compare it with the one below; nothing else writes them.
var (
	useAVX512 = hasAVX512 // AVX-512 F (zmm registers, masks)
	useAVX2   = hasAVX2   // AVX2 and FMA3 (ymm registers)
)

// Level names the instruction set the kernels run on: "avx512", "avx2" or
// "go" (the pure-Go references).
func Level() string {
	switch {
	case useAVX512:
		return "avx512"
	case useAVX2:
		return "avx2"
	}
	return "go"
}
