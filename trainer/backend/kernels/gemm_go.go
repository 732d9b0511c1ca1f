package kernels

// The pure-Go SGEMM: the reference the assembly is tested against and the
// path on other architectures and under the purego tag. The loops stay free
// of bounds checks: the NN and TN forms stream rows of B into a row of C
// four at a time (axpy form), the NT form takes four dot products at once.

// sgemmGo is Sgemm without assembly.
func sgemmGo(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		switch beta {
		case 0:
			clear(row)
		case 1:
		default:
			for j := range row {
				row[j] *= beta
			}
		}
		if k <= 0 {
			continue
		}
		if transB {
			rowNT(transA, k, a, lda, b, ldb, i, row)
		} else {
			rowNN(transA, k, a, lda, b, ldb, i, row)
		}
	}
}

// at returns op(A)[i][p].
func at(transA bool, a []float32, lda, i, p int) float32 {
	if transA {
		return a[p*lda+i]
	}
	return a[i*lda+p]
}

// rowNN adds row i of op(A)·B to row, B stored k×n.
func rowNN(transA bool, k int, a []float32, lda int, b []float32, ldb, i int, row []float32) {
	n := len(row)
	p := 0
	for ; p+4 <= k; p += 4 {
		a0, a1 := at(transA, a, lda, i, p), at(transA, a, lda, i, p+1)
		a2, a3 := at(transA, a, lda, i, p+2), at(transA, a, lda, i, p+3)
		if a0 == 0 && a1 == 0 && a2 == 0 && a3 == 0 {
			continue // ReLU and dropout leave many zeros; skipping them is free speed
		}
		b0 := b[p*ldb : p*ldb+n]
		b1 := b[(p+1)*ldb : (p+1)*ldb+n]
		b2 := b[(p+2)*ldb : (p+2)*ldb+n]
		b3 := b[(p+3)*ldb : (p+3)*ldb+n]
		for j := range row {
			row[j] += a0*b0[j] + a1*b1[j] + a2*b2[j] + a3*b3[j]
		}
	}
	for ; p < k; p++ {
		a0 := at(transA, a, lda, i, p)
		if a0 == 0 {
			continue
		}
		b0 := b[p*ldb : p*ldb+n]
		for j := range row {
			row[j] += a0 * b0[j]
		}
	}
}

// rowNT adds row i of op(A)·Bᵀ to row, B stored n×k.
func rowNT(transA bool, k int, a []float32, lda int, b []float32, ldb, i int, row []float32) {
	n := len(row)
	if transA {
		// No layer asks for Aᵀ·Bᵀ; keep it correct rather than fast.
		for j := range row {
			var s float32
			for p := 0; p < k; p++ {
				s += a[p*lda+i] * b[j*ldb+p]
			}
			row[j] += s
		}
		return
	}
	ar := a[i*lda : i*lda+k]
	j := 0
	for ; j+4 <= n; j += 4 {
		b0 := b[j*ldb : j*ldb+k]
		b1 := b[(j+1)*ldb : (j+1)*ldb+k]
		b2 := b[(j+2)*ldb : (j+2)*ldb+k]
		b3 := b[(j+3)*ldb : (j+3)*ldb+k]
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
		bj := b[j*ldb : j*ldb+k]
		var s float32
		for p, x := range ar {
			s += x * bj[p]
		}
		row[j] += s
	}
}
