// Package kernels holds the trainer's numeric kernels as free functions over
// float32 slices: a packed, register-blocked SGEMM and the element-wise
// kernels (activations, pooling, normalisation, loss, optimiser, dropout).
//
// Each kernel has a pure-Go reference. On amd64 the hot ones also have Go
// assembly versions (AVX-512 or AVX2+FMA, chosen at run time from the CPU's
// features); tests compare the two. The build tag purego forces the
// references everywhere, and other architectures always use them.
//
// The package knows nothing about layers or threads: callers split work
// across goroutines and hand each call its own slices.
package kernels
