//go:build (!amd64 && !arm64) || purego

package gemma3

// The kernels that arm64 has in NEON (vec_arm64.go), without vector
// assembly: decode attention over every cache type, the softmax, the
// binary16 roundings, RMSNorm's and GeGLU's.

// scores4 sets out[4j+h] = q[h]·k[j·ldk : j·ldk+hd] for j < n, h < 4.
func scores4(q *[4][]float32, k []float32, ldk, n int, out []float32) {
	scores4Generic(q, k, ldk, n, out)
}

// values4 adds Σ_{j<n} p[4j+h]·v[j·ldv : j·ldv+hd] to out[h·hd : (h+1)·hd].
func values4(p, v []float32, ldv, hd, n int, out []float32) {
	values4Generic(p, v, ldv, hd, n, out)
}

// scores4Q8 is scores4 over Q8_0 keys (see scores4Q8Generic).
func scores4Q8(q *[4][]float32, k []byte, ldk, n int, out []float32) {
	scores4Q8Generic(q, k, ldk, n, out)
}

// values4Q8 is values4 over Q8_0 values (see values4Q8Generic).
func values4Q8(p []float32, v []byte, ldv, hd, n int, out []float32) {
	values4Q8Generic(p, v, ldv, hd, n, out)
}

// scores4F16 is scores4 over binary16 keys (see scores4F16Generic).
func scores4F16(q *[4][]float32, k []uint16, ldk, n int, out []float32) {
	scores4F16Generic(q, k, ldk, n, out)
}

// values4F16 is values4 over binary16 values (see values4F16Generic).
func values4F16(p []float32, v []uint16, ldv, hd, n int, out []float32) {
	values4F16Generic(p, v, ldv, hd, n, out)
}

// avx2Bits is false: softmax4 and sumSquares are the generic kernels.
const avx2Bits = false

// softmax4 normalizes the four interleaved score rows p[4j+h], j < n (see
// softmax4Generic).
func softmax4(p []float32, n int) { softmax4Generic(p, n) }

// toF16 rounds src to binary16 into dst (see toF16Generic).
func toF16(dst []uint16, src []float32) { toF16Generic(dst, src) }

// roundF16 rounds src to binary16 values into dst (see roundF16Generic).
func roundF16(dst, src []float32) { roundF16Generic(dst, src) }

// sumSquares returns Σ float64(x[i]·x[i]), each square rounded to float32.
func sumSquares(x []float32) float64 { return sumSquaresGeneric(x) }

// scaleMul sets y[i] = (x[i]·scale)·w[i]; y may be x.
func scaleMul(y, x, w []float32, scale float32) { scaleMulGeneric(y, x, w, scale) }

// geglu sets out[i] = gelu(g[i])·u[i] (see gegluGeneric). out may be g.
func geglu(out, g, u []float32) { gegluGeneric(out, g, u) }
