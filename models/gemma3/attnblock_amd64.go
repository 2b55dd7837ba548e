//go:build !purego

package gemma3

import "golang.org/x/sys/cpu"

// useAVX512 selects the AVX-512 kernels of block attention, once at init.
var useAVX512 = cpu.X86.HasAVX512F

// blockAttn selects block attention for prompt chunks (see attnblock.go):
// without AVX-512 the per-row AVX2 kernels are faster than the pure-Go
// block kernels, so prompt chunks keep them.
var blockAttn = useAVX512

// gatherQTAVX512 is gatherQT (hd ≥ 1).
//
//go:noescape
func gatherQTAVX512(qt, q *float32, idx *int32, hd int, round bool)

// scoresT16AVX512 is scoresT16 (hd ≥ 1): twelve keys per pass, then
// four, then one.
//
//go:noescape
func scoresT16AVX512(qt, k *float32, ldk, hd, n int, out *float32)

// softmax16AVX512 is softmax16 (n ≥ 1), its exp that of softmax4AVX2 and
// its sum in float32.
//
//go:noescape
func softmax16AVX512(p *float32, n int, lo, hi *int32, round bool)

// values16F32AVX512 is values16F32 (hd a multiple of 32, n ≥ 1): 32
// values of 8 lanes per pass.
//
//go:noescape
func values16F32AVX512(p, v *float32, ldv, hd, n, nq int, out *float32)

// values16F16AVX512 is values16F16 (hd a multiple of 32, n ≥ 1).
//
//go:noescape
func values16F16AVX512(p *float32, v *uint16, ldv, hd, n, nq int, out *float32)

// widenF16RowsAVX512 is widenF16Rows (hd a multiple of 16, n ≥ 1).
//
//go:noescape
func widenF16RowsAVX512(dst *float32, src *uint16, lds, hd, n int)

// widenQ8RowsAVX512 is widenQ8Rows (hd a multiple of 32, n ≥ 1).
//
//go:noescape
func widenQ8RowsAVX512(dst *float32, src *byte, lds, hd, n int)

// gatherQT sets qt[d·16+i] = q[idx[i]+d] for d < hd, i < 16, rounded to
// binary16 and back if round (see gatherQTGeneric).
func gatherQT(qt, q []float32, idx *[blockLanes]int32, hd int, round bool) {
	if !useAVX512 || hd == 0 {
		gatherQTGeneric(qt, q, idx, hd, round)
		return
	}
	_ = qt[blockLanes*hd-1]
	for _, o := range idx {
		_ = q[int(o)+hd-1]
	}
	gatherQTAVX512(&qt[0], &q[0], &idx[0], hd, round)
}

// scoresT16 sets out[16j+i] = Σ_{d<hd} qt[16d+i]·k[j·ldk+d] for j < n (see
// scoresT16Generic).
func scoresT16(qt, k []float32, ldk, hd, n int, out []float32) {
	if n == 0 {
		return
	}
	_, _, _ = qt[blockLanes*hd-1], k[(n-1)*ldk+hd-1], out[blockLanes*n-1]
	if !useAVX512 || hd == 0 {
		scoresT16Generic(qt, k, ldk, hd, n, out)
		return
	}
	scoresT16AVX512(&qt[0], &k[0], ldk, hd, n, &out[0])
}

// softmax16 turns the scores of 16 lanes over n keys into weights, each
// lane over its keys lo[i]…hi[i] (see softmax16Generic).
func softmax16(p []float32, n int, lo, hi *[blockLanes]int32, round bool) {
	if n == 0 {
		return
	}
	_ = p[blockLanes*n-1]
	for i := range lo {
		if lo[i] < 0 || lo[i] > hi[i] || int(hi[i]) >= n {
			panic("gemma3: softmax16 lane without keys")
		}
	}
	if !useAVX512 {
		softmax16Generic(p, n, lo, hi, round)
		return
	}
	softmax16AVX512(&p[0], n, &lo[0], &hi[0], round)
}

// values16F32 adds Σ_{j<n} p[16j+i]·v[j·ldv : j·ldv+hd] to
// out[i·hd : (i+1)·hd] for i < nq (see values16Generic). Rows of out up
// to nq rounded up to 8 may be written.
func values16F32(p, v []float32, ldv, hd, n, nq int, out []float32) {
	if n == 0 || nq == 0 {
		return
	}
	_, _, _ = p[blockLanes*n-1], v[(n-1)*ldv+hd-1], out[min(blockLanes, (nq+7)&^7)*hd-1]
	if !useAVX512 || hd%32 != 0 {
		values16Generic(p, v, ldv, hd, n, nq, out)
		return
	}
	values16F32AVX512(&p[0], &v[0], ldv, hd, n, nq, &out[0])
}

// values16F16 is values16F32 over binary16 values.
func values16F16(p []float32, v []uint16, ldv, hd, n, nq int, out []float32) {
	if n == 0 || nq == 0 {
		return
	}
	_, _, _ = p[blockLanes*n-1], v[(n-1)*ldv+hd-1], out[min(blockLanes, (nq+7)&^7)*hd-1]
	if !useAVX512 || hd%32 != 0 {
		values16F16Generic(p, v, ldv, hd, n, nq, out)
		return
	}
	values16F16AVX512(&p[0], &v[0], ldv, hd, n, nq, &out[0])
}

// widenF16Rows widens n rows of hd binary16 values, lds apart in src,
// into consecutive rows of dst (see widenF16RowsGeneric).
func widenF16Rows(dst []float32, src []uint16, lds, hd, n int) {
	if n == 0 {
		return
	}
	_, _ = dst[n*hd-1], src[(n-1)*lds+hd-1]
	if !useAVX512 || hd%16 != 0 {
		widenF16RowsGeneric(dst, src, lds, hd, n)
		return
	}
	widenF16RowsAVX512(&dst[0], &src[0], lds, hd, n)
}

// widenQ8Rows dequantizes n rows of hd values in Q8_0 blocks, lds bytes
// apart in src, into consecutive rows of dst (see widenQ8RowsGeneric).
func widenQ8Rows(dst []float32, src []byte, lds, hd, n int) {
	if n == 0 {
		return
	}
	_, _ = dst[n*hd-1], src[(n-1)*lds+hd/32*34-1]
	if !useAVX512 || hd%32 != 0 {
		widenQ8RowsGeneric(dst, src, lds, hd, n)
		return
	}
	widenQ8RowsAVX512(&dst[0], &src[0], lds, hd, n)
}
