//go:build !amd64 || purego

package gemma3

// dot returns Σ a[i]·b[i] (len(b) ≥ len(a)).
func dot(a, b []float32) float32 { return dotGeneric(a, b) }

// axpy sets y += a·x (len(x) ≥ len(y)).
func axpy(y []float32, a float32, x []float32) { axpyGeneric(y, a, x) }

// roundQ8_0 rounds x to Q8_0 values (see roundQ8_0Generic).
func roundQ8_0(dst, x []float32) { roundQ8_0Generic(dst, x) }
