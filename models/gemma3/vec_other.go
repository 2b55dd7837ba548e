//go:build !amd64 || purego

package gemma3

// dot returns Σ a[i]·b[i] (len(b) ≥ len(a)).
func dot(a, b []float32) float32 { return dotGeneric(a, b) }

// axpy sets y += a·x (len(x) ≥ len(y)).
func axpy(y []float32, a float32, x []float32) { axpyGeneric(y, a, x) }

// scores4 sets out[4j+h] = q[h]·k[j·ldk : j·ldk+hd] for j < n, h < 4.
func scores4(q *[4][]float32, k []float32, ldk, n int, out []float32) {
	scores4Generic(q, k, ldk, n, out)
}

// values4 adds Σ_{j<n} p[4j+h]·v[j·ldv : j·ldv+hd] to out[h·hd : (h+1)·hd].
func values4(p, v []float32, ldv, hd, n int, out []float32) {
	values4Generic(p, v, ldv, hd, n, out)
}

// roundQ8_0 rounds x to Q8_0 values (see roundQ8_0Generic).
func roundQ8_0(dst, x []float32) { roundQ8_0Generic(dst, x) }

// scores4Q8 is scores4 over Q8_0 keys (see scores4Q8Generic).
func scores4Q8(q *[4][]float32, k []byte, ldk, n int, out []float32) {
	scores4Q8Generic(q, k, ldk, n, out)
}

// values4Q8 is values4 over Q8_0 values (see values4Q8Generic).
func values4Q8(p []float32, v []byte, ldv, hd, n int, out []float32) {
	values4Q8Generic(p, v, ldv, hd, n, out)
}
