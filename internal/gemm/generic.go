package gemm

// kernelGeneric is the pure-Go 3×3 micro-kernel and the specification of
// every micro-kernel: for r < mr and j < nr,
//
//	t[r][j] = Σ_{p<k} a[p·mr+r]·b[p·nr+j]
//	c[r·ldc+j] = t[r][j]            (acc false)
//	c[r·ldc+j] = c[r·ldc+j]+t[r][j] (acc true)
//
// with mr = nr = 3 here: nine accumulators plus the loaded values fit the
// 15 scalar float registers the Go compiler uses on amd64, so nothing spills
// (4×4 spilled and ran ~35% slower).
func kernelGeneric(k int, ap, bp, cp *float32, ldc int, acc bool) {
	const mr, nr = 3, 3
	a := floats(ap, k*mr)
	b := floats(bp, k*nr)
	var c00, c01, c02, c10, c11, c12, c20, c21, c22 float32
	for p := range k {
		av := a[p*mr : p*mr+mr : p*mr+mr]
		bv := b[p*nr : p*nr+nr : p*nr+nr]
		b0, b1, b2 := bv[0], bv[1], bv[2]
		a0 := av[0]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		a1 := av[1]
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		a2 := av[2]
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
	}
	c := floats(cp, 2*ldc+nr)
	r0 := c[0:nr:nr]
	r1 := c[ldc : ldc+nr : ldc+nr]
	r2 := c[2*ldc : 2*ldc+nr : 2*ldc+nr]
	if acc {
		c00 += r0[0]
		c01 += r0[1]
		c02 += r0[2]
		c10 += r1[0]
		c11 += r1[1]
		c12 += r1[2]
		c20 += r2[0]
		c21 += r2[1]
		c22 += r2[2]
	}
	r0[0], r0[1], r0[2] = c00, c01, c02
	r1[0], r1[1], r1[2] = c10, c11, c12
	r2[0], r2[1], r2[2] = c20, c21, c22
}

// gemvNGeneric computes y[j] += Σ_{p<k} x[p]·b[p·ldb+j] for j < n (B is k×n).
func gemvNGeneric(n, k int, x, b []float32, ldb int, y []float32) {
	y = y[:n]
	for p := range k {
		xp := x[p]
		row := b[p*ldb : p*ldb+n]
		for j, bv := range row {
			y[j] += xp * bv
		}
	}
}

// gemvTGeneric computes y[j] += Σ_{p<k} x[p]·b[j·ldb+p] for j < n (B is n×k).
func gemvTGeneric(n, k int, x, b []float32, ldb int, y []float32) {
	x = x[:k]
	for j := range n {
		row := b[j*ldb : j*ldb+k]
		var s0, s1, s2, s3 float32
		p := 0
		for ; p+4 <= k; p += 4 {
			s0 += x[p] * row[p]
			s1 += x[p+1] * row[p+1]
			s2 += x[p+2] * row[p+2]
			s3 += x[p+3] * row[p+3]
		}
		for ; p < k; p++ {
			s0 += x[p] * row[p]
		}
		y[j] += (s0 + s1) + (s2 + s3)
	}
}

// packA writes alpha·op(A)[i0:i0+rows, p0:p0+kc] into dst as kc steps of mr
// values (dst[p·mr+r]), zero-padding rows rows..mr-1.
func packA(dst, a []float32, lda int, transA bool, i0, rows, p0, kc int, alpha float32, mr int) {
	dst = dst[:kc*mr]
	if transA {
		// op(A)[i][p] = a[p·lda+i]: each step is a contiguous run.
		for p := range kc {
			src := a[(p0+p)*lda+i0 : (p0+p)*lda+i0+rows]
			d := dst[p*mr : p*mr+mr]
			for r, v := range src {
				d[r] = alpha * v
			}
			clear(d[rows:])
		}
		return
	}
	// op(A)[i][p] = a[i·lda+p]: transpose blocks of 4 steps so that each
	// source row is read 16 bytes at a time and dst is written in order.
	src := a[i0*lda+p0:]
	p := 0
	for ; p+4 <= kc; p += 4 {
		d := dst[p*mr : p*mr+4*mr]
		for r := range rows {
			s := src[r*lda+p : r*lda+p+4]
			d[r] = alpha * s[0]
			d[mr+r] = alpha * s[1]
			d[2*mr+r] = alpha * s[2]
			d[3*mr+r] = alpha * s[3]
		}
	}
	for ; p < kc; p++ {
		d := dst[p*mr : p*mr+mr]
		for r := range rows {
			d[r] = alpha * src[r*lda+p]
		}
	}
	if rows < mr {
		for p := range kc {
			clear(dst[p*mr+rows : p*mr+mr])
		}
	}
}

// packB writes op(B)[p0:p0+kc, j0:j0+cols] into dst as kc steps of nr
// values (dst[p·nr+j]), zero-padding columns cols..nr-1.
func packB(dst, b []float32, ldb int, transB bool, p0, kc, j0, cols, nr int) {
	dst = dst[:kc*nr]
	if !transB {
		for p := range kc {
			d := dst[p*nr : p*nr+nr]
			copy(d, b[(p0+p)*ldb+j0:(p0+p)*ldb+j0+cols])
			clear(d[cols:])
		}
		return
	}
	// op(B)[p][j] = b[j·ldb+p].
	// Read 16 steps (one cache line) of each source row at a time; the
	// strided writes stay within a 16·nr window of dst in L1.
	src := b[j0*ldb+p0:]
	p := 0
	for ; p+16 <= kc; p += 16 {
		d := dst[p*nr : p*nr+16*nr]
		for j := range cols {
			s := src[j*ldb+p : j*ldb+p+16]
			for q, v := range s {
				d[q*nr+j] = v
			}
		}
	}
	for ; p+4 <= kc; p += 4 {
		d := dst[p*nr : p*nr+4*nr]
		for j := range cols {
			s := src[j*ldb+p : j*ldb+p+4]
			d[j] = s[0]
			d[nr+j] = s[1]
			d[2*nr+j] = s[2]
			d[3*nr+j] = s[3]
		}
	}
	for ; p < kc; p++ {
		d := dst[p*nr : p*nr+nr]
		for j := range cols {
			d[j] = src[j*ldb+p]
		}
	}
	if cols < nr {
		for p := range kc {
			clear(dst[p*nr+cols : p*nr+nr])
		}
	}
}
