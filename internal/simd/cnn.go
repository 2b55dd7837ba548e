package simd

// maxIntoGeneric sets dst[i] to x[i] where x[i] > dst[i] or x[i] is NaN:
// the maximum, NaN propagating from either side, the earlier value kept
// on ties (so −0 then +0 gives −0).
func maxIntoGeneric(dst, x []float32) {
	for i, v := range x {
		if v > dst[i] || v != v {
			dst[i] = v
		}
	}
}

// MaxInto sets dst[i] = max(dst[i], x[i]) with maxIntoGeneric's rules
// (NaN propagates; on ties dst[i] stays); len(x) ≤ len(dst).
func MaxInto(dst, x []float32) {
	n := 0
	if hasAVX512 {
		n = len(x) &^ 15
		if n > 0 {
			_ = dst[n-1]
			maxIntoAVX512(&dst[0], &x[0], n/16)
		}
	}
	maxIntoGeneric(dst[n:len(x)], x[n:])
}

// MaxWindow sets dst[i] to the maximum of x[i+t·d] for 0 ≤ t < k, taken
// in order of t with MaxInto's rules; len(x) must be at least
// len(dst)+(k−1)·d.
func MaxWindow(dst, x []float32, k, d int) {
	n := len(dst)
	if n == 0 {
		return
	}
	copy(dst, x[:n])
	for t := 1; t < k; t++ {
		MaxInto(dst, x[t*d:t*d+n])
	}
}

// biasResReluGeneric sets row[i] += b + res[i] (res nil: row[i] += b
// when b ≠ 0), then, when relu, row[i] = 0 where !(row[i] > 0) and
// row[i] is not NaN.
func biasResReluGeneric(row, res []float32, b float32, relu bool) {
	if res != nil {
		res = res[:len(row)]
		for i := range row {
			row[i] += b + res[i]
		}
	} else if b != 0 {
		for i := range row {
			row[i] += b
		}
	}
	if relu {
		reluRowGeneric(row)
	}
}

// reluRowGeneric applies Relu in place (NaN stays NaN, −0 becomes +0).
func reluRowGeneric(row []float32) {
	for i, v := range row {
		if !(v > 0) && v == v {
			row[i] = 0
		}
	}
}

// BiasResRelu finishes a row of a convolution's output: row[i] += b +
// res[i] (res nil: row[i] += b, skipped when b is 0), then Relu when relu
// (NaN stays NaN). res, when not nil, is at least as long as row.
func BiasResRelu(row, res []float32, b float32, relu bool) {
	n := 0
	if hasAVX512 {
		n = len(row) &^ 15
		if n > 0 {
			var r *float32
			if res != nil {
				_ = res[n-1]
				r = &res[0]
			}
			blocks := n / 16
			switch {
			case res != nil && relu:
				biasResRowReluAVX512(&row[0], r, blocks, b)
			case res != nil:
				biasResRowAVX512(&row[0], r, blocks, b)
			case b != 0 && relu:
				biasRowReluAVX512(&row[0], r, blocks, b)
			case b != 0:
				biasRowAVX512(&row[0], r, blocks, b)
			case relu:
				reluRowAVX512(&row[0], blocks)
			}
		}
	}
	var rest []float32
	if res != nil {
		rest = res[n:len(row)]
	}
	biasResReluGeneric(row[n:], rest, b, relu)
}

// tap3Generic adds three taps of a convolution row: d[i] += w0·x[s·i] +
// w1·x[s·i+dw] + w2·x[s·i+2·dw], the products summed left to right.
func tap3Generic(d, x []float32, s, dw int, w0, w1, w2 float32) {
	for i := range d {
		p := s * i
		d[i] += w0*x[p] + w1*x[p+dw] + w2*x[p+2*dw]
	}
}

// evens indexes the even elements of two vectors for tap3S2AVX512.
var evens = [16]int32{0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30}

// Tap3 adds three taps of a convolution row with stride s (1 or 2) and
// dilation dw: d[i] += w0·x[s·i] + w1·x[s·i+dw] + w2·x[s·i+2·dw], with
// tap3Generic's rounding; x must hold x[s·(len(d)−1)+2·dw].
func Tap3(d, x []float32, s, dw int, w0, w1, w2 float32) {
	n := 0
	if hasAVX512 && len(d) >= 16 {
		switch s {
		case 1:
			n = len(d) &^ 15
			_ = x[n-1+2*dw]
			tap3AVX512(&d[0], &x[0], n/16, dw, nil, w0, w1, w2)
		case 2:
			// each block reads 32 elements from 2i+2dw: keep them in x
			n = min(len(d), (len(x)-2*dw)/2) &^ 15
			if n > 0 {
				_ = x[2*n-1+2*dw]
				tap3S2AVX512(&d[0], &x[0], n/16, dw, &evens, w0, w1, w2)
			}
		}
	}
	if n < len(d) {
		tap3Generic(d[n:], x[s*n:], s, dw, w0, w1, w2)
	}
}
