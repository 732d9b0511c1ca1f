//go:build amd64 && !purego

package kernels

// Element-wise kernels in elementwise_amd64.s, called by elementwise.go
// with checked slices: counts (n, planes, cols, s) are at least 1. The
// AVX-512 kernels mask their tails. Of the AVX2 ones, those over a flat
// range (relu, dropout, adamW) and over channels (the *Cols) want a
// multiple of 8 and leave the rest to the Go reference; the per-channel
// norm kernels finish each run in scalar code and pooling masks.

//go:noescape
func reluAVX512(x, y *float32, n int)

//go:noescape
func reluAVX2(x, y *float32, n int)

//go:noescape
func reluBackwardAVX512(y, dy, dx *float32, n int)

//go:noescape
func reluBackwardAVX2(y, dy, dx *float32, n int)

//go:noescape
func maxPool2AVX512(x, y *float32, arg *int32, planes, h, w, base int)

//go:noescape
func maxPool2AVX2(x, y *float32, arg *int32, planes, h, w, base int)

//go:noescape
func maxPool2BackwardAVX512(dy *float32, arg *int32, dx *float32, planes, h, w, base int)

//go:noescape
func maxPool2BackwardAVX2(dy *float32, arg *int32, dx *float32, planes, h, w, base int)

//go:noescape
func normSumsAVX512(x *float32, n, stride, s int, k float64) (sum, sq float64)

//go:noescape
func normSumsAVX2(x *float32, n, stride, s int, k float64) (sum, sq float64)

//go:noescape
func normSumsColsAVX512(x *float32, n, stride, cols int, sum, sq *float64)

//go:noescape
func normSumsColsAVX2(x *float32, n, stride, cols int, sum, sq *float64)

//go:noescape
func normApplyAVX512(x, y, xhat *float32, runs, s int, mean, inv, gamma, beta *float32)

//go:noescape
func normApplyAVX2(x, y, xhat *float32, runs, s int, mean, inv, gamma, beta *float32)

//go:noescape
func normApplyColsAVX512(x, y, xhat *float32, n, stride, cols int, mean, inv, gamma, beta *float32)

//go:noescape
func normApplyColsAVX2(x, y, xhat *float32, n, stride, cols int, mean, inv, gamma, beta *float32)

//go:noescape
func normBackwardSumsAVX512(dy, xhat *float32, n, stride, s int) (sumDy, sumDyXhat float64)

//go:noescape
func normBackwardSumsAVX2(dy, xhat *float32, n, stride, s int) (sumDy, sumDyXhat float64)

//go:noescape
func normBackwardSumsColsAVX512(dy, xhat *float32, n, stride, cols int, sumDy, sumDyXhat *float64)

//go:noescape
func normBackwardSumsColsAVX2(dy, xhat *float32, n, stride, cols int, sumDy, sumDyXhat *float64)

//go:noescape
func normBackwardApplyAVX512(dy, xhat, dx *float32, runs, s int, m float32, k, sumDy, sumDyXhat *float32)

//go:noescape
func normBackwardApplyAVX2(dy, xhat, dx *float32, runs, s int, m float32, k, sumDy, sumDyXhat *float32)

//go:noescape
func normBackwardApplyColsAVX512(dy, xhat, dx *float32, n, stride, cols int, m float32, k, sumDy, sumDyXhat *float32)

//go:noescape
func normBackwardApplyColsAVX2(dy, xhat, dx *float32, n, stride, cols int, m float32, k, sumDy, sumDyXhat *float32)

//go:noescape
func adamWAVX512(w, grad, m, v *float32, n int, c *adamConsts)

//go:noescape
func adamWAVX2(w, grad, m, v *float32, n int, c *adamConsts)

//go:noescape
func dropoutAVX512(x, y, mask *float32, n int, lanes *[16]uint64, step, thr uint64, keep float32)

//go:noescape
func dropoutAVX2(x, y, mask *float32, n int, lanes *[8]uint64, step, thr uint64, keep float32)

//go:noescape
func dropoutBackwardAVX512(dy, mask, dx *float32, n int)

//go:noescape
func dropoutBackwardAVX2(dy, mask, dx *float32, n int)
