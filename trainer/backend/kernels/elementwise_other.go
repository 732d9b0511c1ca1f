//go:build !amd64 || purego

package kernels

// Without assembly haveAsm is false and these are never called; they exist
// so that the dispatch in elementwise.go compiles everywhere.

const noAsm = "kernels: no assembly in this build"

func reluAVX512(x, y *float32, n int) { panic(noAsm) }

func reluAVX2(x, y *float32, n int) { panic(noAsm) }

func reluBackwardAVX512(y, dy, dx *float32, n int) { panic(noAsm) }

func reluBackwardAVX2(y, dy, dx *float32, n int) { panic(noAsm) }

func maxPool2AVX512(x, y *float32, arg *int32, planes, h, w, base int) { panic(noAsm) }

func maxPool2AVX2(x, y *float32, arg *int32, planes, h, w, base int) { panic(noAsm) }

func maxPool2BackwardAVX512(dy *float32, arg *int32, dx *float32, planes, h, w, base int) {
	panic(noAsm)
}

func maxPool2BackwardAVX2(dy *float32, arg *int32, dx *float32, planes, h, w, base int) { panic(noAsm) }

func normSumsAVX512(x *float32, n, stride, s int, k float64) (sum, sq float64) { panic(noAsm) }

func normSumsAVX2(x *float32, n, stride, s int, k float64) (sum, sq float64) { panic(noAsm) }

func normSumsColsAVX512(x *float32, n, stride, cols int, sum, sq *float64) { panic(noAsm) }

func normSumsColsAVX2(x *float32, n, stride, cols int, sum, sq *float64) { panic(noAsm) }

func normApplyAVX512(x, y, xhat *float32, runs, s int, mean, inv, gamma, beta *float32) {
	panic(noAsm)
}

func normApplyAVX2(x, y, xhat *float32, runs, s int, mean, inv, gamma, beta *float32) {
	panic(noAsm)
}

func normApplyColsAVX512(x, y, xhat *float32, n, stride, cols int, mean, inv, gamma, beta *float32) {
	panic(noAsm)
}

func normApplyColsAVX2(x, y, xhat *float32, n, stride, cols int, mean, inv, gamma, beta *float32) {
	panic(noAsm)
}

func normBackwardSumsAVX512(dy, xhat *float32, n, stride, s int) (sumDy, sumDyXhat float64) {
	panic(noAsm)
}

func normBackwardSumsAVX2(dy, xhat *float32, n, stride, s int) (sumDy, sumDyXhat float64) {
	panic(noAsm)
}

func normBackwardSumsColsAVX512(dy, xhat *float32, n, stride, cols int, sumDy, sumDyXhat *float64) {
	panic(noAsm)
}

func normBackwardSumsColsAVX2(dy, xhat *float32, n, stride, cols int, sumDy, sumDyXhat *float64) {
	panic(noAsm)
}

func normBackwardApplyAVX512(dy, xhat, dx *float32, runs, s int, m float32, k, sumDy, sumDyXhat *float32) {
	panic(noAsm)
}

func normBackwardApplyAVX2(dy, xhat, dx *float32, runs, s int, m float32, k, sumDy, sumDyXhat *float32) {
	panic(noAsm)
}

func normBackwardApplyColsAVX512(dy, xhat, dx *float32, n, stride, cols int, m float32, k, sumDy, sumDyXhat *float32) {
	panic(noAsm)
}

func normBackwardApplyColsAVX2(dy, xhat, dx *float32, n, stride, cols int, m float32, k, sumDy, sumDyXhat *float32) {
	panic(noAsm)
}

func adamWAVX512(w, grad, m, v *float32, n int, c *adamConsts) { panic(noAsm) }

func adamWAVX2(w, grad, m, v *float32, n int, c *adamConsts) { panic(noAsm) }

func dropoutAVX512(x, y, mask *float32, n int, lanes *[16]uint64, step, thr uint64, keep float32) {
	panic(noAsm)
}

func dropoutAVX2(x, y, mask *float32, n int, lanes *[8]uint64, step, thr uint64, keep float32) {
	panic(noAsm)
}

func dropoutBackwardAVX512(dy, mask, dx *float32, n int) { panic(noAsm) }

func dropoutBackwardAVX2(dy, mask, dx *float32, n int) { panic(noAsm) }
