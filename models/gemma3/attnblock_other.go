//go:build !amd64 || purego

package gemma3

// blockAttn is false: without vector kernels the per-row kernels run
// prompt chunks too (tests set it to run the pure-Go block kernels).
var blockAttn = false

// useAVX512 is false: there are no vector kernels to select.
var useAVX512 = false

// gatherQT sets qt[d·16+i] = q[idx[i]+d] (see gatherQTGeneric).
func gatherQT(qt, q []float32, idx *[blockLanes]int32, hd int, round bool) {
	gatherQTGeneric(qt, q, idx, hd, round)
}

// scoresT16 sets out[16j+i] = Σ_d qt[16d+i]·k[j·ldk+d] (see
// scoresT16Generic).
func scoresT16(qt, k []float32, ldk, hd, n int, out []float32) {
	scoresT16Generic(qt, k, ldk, hd, n, out)
}

// softmax16 turns 16 lanes of scores into weights (see softmax16Generic).
func softmax16(p []float32, n int, lo, hi *[blockLanes]int32, round bool) {
	softmax16Generic(p, n, lo, hi, round)
}

// values16F32 adds the weighted values to out (see values16Generic).
func values16F32(p, v []float32, ldv, hd, n, nq int, out []float32) {
	values16Generic(p, v, ldv, hd, n, nq, out)
}

// values16F16 is values16F32 over binary16 values.
func values16F16(p []float32, v []uint16, ldv, hd, n, nq int, out []float32) {
	values16F16Generic(p, v, ldv, hd, n, nq, out)
}

// widenF16Rows widens rows of binary16 values (see widenF16RowsGeneric).
func widenF16Rows(dst []float32, src []uint16, lds, hd, n int) {
	widenF16RowsGeneric(dst, src, lds, hd, n)
}

// widenQ8Rows dequantizes rows of Q8_0 blocks (see widenQ8RowsGeneric).
func widenQ8Rows(dst []float32, src []byte, lds, hd, n int) {
	widenQ8RowsGeneric(dst, src, lds, hd, n)
}
