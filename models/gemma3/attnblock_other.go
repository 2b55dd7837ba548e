//go:build !amd64 || purego

package gemma3

// blockAttn is false: without vector kernels the per-row kernels run
// prompt chunks too (tests set it to run the pure-Go block kernels).
var blockAttn = false

// useAVX512 is false: there are no vector kernels to select.
var useAVX512 = false

// useVNNI is false: there are no vector kernels to select.
var useVNNI = false

// quantQT quantizes the lanes of qt to Q8_0 (see quantQTGeneric).
func quantQT(qt []float32, W, hd int, q8 []int32, dq []float32, corr []int32) {
	quantQTGeneric(qt, W, hd, q8, dq, corr)
}

// scoresTQ8 sets the scores of Q8_0 queries against Q8_0 keys (see
// scoresTQ8Generic).
func scoresTQ8(q8 []int32, dq []float32, corr []int32, W int, k []byte, ldk, hd, n int, out []float32) {
	scoresTQ8Generic(q8, dq, corr, W, k, ldk, hd, n, out)
}

// gatherQT sets qt[d·W+i] = q[idx[i]+d] (see gatherQTGeneric).
func gatherQT(qt, q []float32, idx []int32, hd int, round bool) {
	gatherQTGeneric(qt, q, idx, hd, round)
}

// scoresT sets out[W·j+i] = Σ_d qt[W·d+i]·k[j·ldk+d] (see scoresTGeneric).
func scoresT(qt []float32, W int, k []float32, ldk, hd, n int, out []float32) {
	scoresTGeneric(qt, W, k, ldk, hd, n, out)
}

// scoresTF16 is scoresT over binary16 keys (see scoresTF16Generic).
func scoresTF16(qt []float32, W int, k []uint16, ldk, hd, n int, out, _ []float32) {
	scoresTF16Generic(qt, W, k, ldk, hd, n, out)
}

// softmax16 turns 16 lanes of scores into weights (see softmax16Generic).
func softmax16(p []float32, ld, n int, lo, hi []int32, round bool) {
	softmax16Generic(p, ld, n, lo, hi, round)
}

// valuesT adds the weighted values to out (see valuesTGeneric).
func valuesT(p []float32, W int, v []float32, ldv, hd, n, nq int, out []float32) {
	valuesTGeneric(p, W, v, ldv, hd, n, nq, out)
}

// valuesTF16 is valuesT over binary16 values (see valuesTF16Generic).
func valuesTF16(p []float32, W int, v []uint16, ldv, hd, n, nq int, out []float32) {
	valuesTF16Generic(p, W, v, ldv, hd, n, nq, out)
}

// widenF16Rows widens rows of binary16 values (see widenF16RowsGeneric).
func widenF16Rows(dst []float32, src []uint16, lds, hd, n int) {
	widenF16RowsGeneric(dst, src, lds, hd, n)
}

// widenQ8Rows dequantizes rows of Q8_0 blocks (see widenQ8RowsGeneric).
func widenQ8Rows(dst []float32, src []byte, lds, hd, n int) {
	widenQ8RowsGeneric(dst, src, lds, hd, n)
}

// narrowKeys is 0: there is no narrow score kernel.
func narrowKeys(W, nq, hd, n int) int { return 0 }

// scoresNarrowF16 is never called (narrowKeys is 0).
func scoresNarrowF16(qt []float32, k []uint16, ldk, hd, n int, out []float32) {
	scoresTF16Generic(qt, 16, k, ldk, hd, n, out)
}

// scoresNarrowQ8 is never called (narrowKeys is 0).
func scoresNarrowQ8(q8 []int32, dq []float32, corr []int32, k []byte, ldk, hd, n int, out []float32) {
	scoresTQ8Generic(q8, dq, corr, 16, k, ldk, hd, n, out)
}
