package backend

// The GEMM kernels are plain loops the Go compiler keeps free of bounds
// checks: the NN and TN forms stream rows of B into a row of C four at a time
// (axpy form), the NT form takes four dot products at once. They run on one
// goroutine; CPU.Gemm splits the rows of C across cores.

// gemm computes rows [lo, hi) of C = op(A)·op(B) + beta·C.
func gemm(transA, transB bool, m, n, k int, a, b []float32, beta float32, c []float32, lo, hi int) {
	for i := lo; i < hi; i++ {
		row := c[i*n : (i+1)*n]
		switch beta {
		case 0:
			clear(row)
		case 1:
		default:
			for j := range row {
				row[j] *= beta
			}
		}
		if transB {
			gemmRowNT(transA, m, n, k, a, b, i, row)
		} else {
			gemmRowNN(transA, m, n, k, a, b, i, row)
		}
	}
}

// aAt returns op(A)[i][p].
func aAt(transA bool, a []float32, m, k, i, p int) float32 {
	if transA {
		return a[p*m+i]
	}
	return a[i*k+p]
}

// gemmRowNN adds row i of op(A)·B to row, B stored k×n.
func gemmRowNN(transA bool, m, n, k int, a, b []float32, i int, row []float32) {
	p := 0
	for ; p+4 <= k; p += 4 {
		a0 := aAt(transA, a, m, k, i, p)
		a1 := aAt(transA, a, m, k, i, p+1)
		a2 := aAt(transA, a, m, k, i, p+2)
		a3 := aAt(transA, a, m, k, i, p+3)
		if a0 == 0 && a1 == 0 && a2 == 0 && a3 == 0 {
			continue // ReLU and dropout leave many zeros; skipping them is free speed
		}
		b0 := b[p*n : p*n+n]
		b1 := b[(p+1)*n : (p+1)*n+n]
		b2 := b[(p+2)*n : (p+2)*n+n]
		b3 := b[(p+3)*n : (p+3)*n+n]
		b0, b1, b2, b3 = b0[:len(row)], b1[:len(row)], b2[:len(row)], b3[:len(row)]
		for j := range row {
			row[j] += a0*b0[j] + a1*b1[j] + a2*b2[j] + a3*b3[j]
		}
	}
	for ; p < k; p++ {
		a0 := aAt(transA, a, m, k, i, p)
		if a0 == 0 {
			continue
		}
		b0 := b[p*n : p*n+n]
		b0 = b0[:len(row)]
		for j := range row {
			row[j] += a0 * b0[j]
		}
	}
}

// gemmRowNT adds row i of op(A)·Bᵀ to row, B stored n×k.
func gemmRowNT(transA bool, m, n, k int, a, b []float32, i int, row []float32) {
	if transA {
		// No layer asks for Aᵀ·Bᵀ; keep it correct rather than fast.
		for j := range row {
			var s float32
			for p := 0; p < k; p++ {
				s += a[p*m+i] * b[j*k+p]
			}
			row[j] += s
		}
		return
	}
	ar := a[i*k : i*k+k]
	j := 0
	for ; j+4 <= n; j += 4 {
		b0 := b[j*k : j*k+k]
		b1 := b[(j+1)*k : (j+1)*k+k]
		b2 := b[(j+2)*k : (j+2)*k+k]
		b3 := b[(j+3)*k : (j+3)*k+k]
		b0, b1, b2, b3 = b0[:len(ar)], b1[:len(ar)], b2[:len(ar)], b3[:len(ar)]
		var s0, s1, s2, s3 float32
		for p, x := range ar {
			s0 += x * b0[p]
			s1 += x * b1[p]
			s2 += x * b2[p]
			s3 += x * b3[p]
		}
		row[j] += s0
		row[j+1] += s1
		row[j+2] += s2
		row[j+3] += s3
	}
	for ; j < n; j++ {
		bj := b[j*k : j*k+k]
		bj = bj[:len(ar)]
		var s float32
		for p, x := range ar {
			s += x * bj[p]
		}
		row[j] += s
	}
}
