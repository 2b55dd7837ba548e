//go:build (!amd64 && !arm64) || purego

package gemma3

// The binary16 attention kernels without vector assembly (arm64 has NEON
// ones in vec_arm64.go).

// scores4F16 is scores4 over binary16 keys (see scores4F16Generic).
func scores4F16(q *[4][]float32, k []uint16, ldk, n int, out []float32) {
	scores4F16Generic(q, k, ldk, n, out)
}

// values4F16 is values4 over binary16 values (see values4F16Generic).
func values4F16(p []float32, v []uint16, ldv, hd, n int, out []float32) {
	values4F16Generic(p, v, ldv, hd, n, out)
}
