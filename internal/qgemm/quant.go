package qgemm

// quantizeRows quantizes rows [0, rows) of a (row stride k) for the int8
// path as ONNX Runtime's CompInt8 does: per row and per block of bs valid
// elements, scale = max|a|/127 and qa = round-half-even(a·(127/max|a|))
// (all 0 for an all-zero block); positions past k stay 0. qa is
// [rows][kb·bs]; sa and suma are [kb][rows] (block-major).
func quantizeRows(a []float32, rows, k, bs int, qa []int8, sa []float32, suma []int32) {
	kb := (k + bs - 1) / bs
	for r := 0; r < rows; r++ {
		row := a[r*k : (r+1)*k]
		dst := qa[r*kb*bs : (r+1)*kb*bs]
		for b := 0; b < kb; b++ {
			src := row[b*bs : min((b+1)*bs, k)]
			var amax float32
			for _, v := range src {
				amax = max(amax, abs32(v))
			}
			sa[b*rows+r] = amax / 127
			var inv float32
			if amax != 0 {
				inv = 127 / amax
			}
			out := dst[b*bs : (b+1)*bs]
			var sum int32
			for j, v := range src {
				q := roundEven(v * inv)
				out[j] = int8(q)
				sum += q
			}
			for j := len(src); j < bs; j++ {
				out[j] = 0
			}
			suma[b*rows+r] = sum
		}
	}
}

// roundEven rounds x (|x| ≤ 128) to the nearest integer, ties to even, and
// clamps it to [−128, 127].
func roundEven(x float32) int32 {
	const magic = 1 << 23 // adding 1.5·2^23 rounds to an integer in the current (nearest-even) mode
	var y float32
	if x >= 0 {
		y = float32(x+magic) - magic
	} else {
		y = float32(x-magic) + magic
	}
	return max(-128, min(127, int32(y)))
}

func abs32(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}
