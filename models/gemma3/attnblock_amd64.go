//go:build !purego

package gemma3

import "golang.org/x/sys/cpu"

//go:generate go run gen_attn_asm.go

// useAVX512 selects the AVX-512 kernels of block attention, once at init.
var useAVX512 = cpu.X86.HasAVX512F

// useVNNI selects the AVX-512 VNNI score kernels against a Q8_0 cache.
var useVNNI = useAVX512 && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VNNI

// blockAttn selects block attention for prompt chunks (see attnblock.go):
// without AVX-512 the per-row AVX2 kernels are faster than the pure-Go
// block kernels, so prompt chunks keep them.
var blockAttn = useAVX512

// gatherQTAVX512 is gatherQT for 16 lanes of a row of ld (hd a multiple
// of 16).
//
//go:noescape
func gatherQTAVX512(qt, q *float32, idx *int32, hd, ld int, round bool)

// scoresT16AVX512 is scoresT with 16 lanes (hd ≥ 1): twelve keys per
// pass, then four, then one.
//
//go:noescape
func scoresT16AVX512(qt, k *float32, ldk, hd, n int, out *float32)

// scoresT32AVX512 is scoresT with 32 lanes (hd ≥ 1).
//
//go:noescape
func scoresT32AVX512(qt, k *float32, ldk, hd, n int, out *float32)

// scoresT16F16AVX512 is scoresTF16 with 16 lanes (hd a multiple of 16):
// each pass widens its keys into buf (12·hd values) first.
//
//go:noescape
func scoresT16F16AVX512(qt *float32, k *uint16, ldk, hd, n int, out, buf *float32)

// scoresT32F16AVX512 is scoresTF16 with 32 lanes (hd a multiple of 16).
//
//go:noescape
func scoresT32F16AVX512(qt *float32, k *uint16, ldk, hd, n int, out, buf *float32)

// scoresT16F16PipeAVX512 is scoresT16F16AVX512 with each twelve-key
// pass's keys widened during the previous pass, into the other of buf's
// two halves (hd ≤ 256, buf holds scoresF16Pipe floats).
//
//go:noescape
func scoresT16F16PipeAVX512(qt *float32, k *uint16, ldk, hd, n int, out, buf *float32)

// scoresT32F16PipeAVX512 is scoresT16F16PipeAVX512 with 32 lanes.
//
//go:noescape
func scoresT32F16PipeAVX512(qt *float32, k *uint16, ldk, hd, n int, out, buf *float32)

// scoresNarrowF16AVX512 is scoresTF16 with 16 lanes for lanes 0…3 only,
// sixteen keys per pass (n a multiple of 16, hd of 16; see scoresNarrowF16 in
// gen_attn_asm.go).
//
//go:noescape
func scoresNarrowF16AVX512(qt *float32, k *uint16, ldk, hd, n int, out *float32)

// valuesNarrowF16AVX512 is valuesTF16 with 16 lanes for lanes 0…3 only (hd a
// multiple of 64, n ≥ 1).
//
//go:noescape
func valuesNarrowF16AVX512(p *float32, v *uint16, ldv, hd, n int, out *float32)

// valuesNarrowF32AVX512 is valuesT with 16 lanes for lanes 0…3 only (hd
// a multiple of 64, n ≥ 1).
//
//go:noescape
func valuesNarrowF32AVX512(p, v *float32, ldv, hd, n int, out *float32)

// scoresNarrowQ8VNNI is scoresTQ8 with 16 lanes for lanes 0…3 only,
// sixteen keys per pass (n a multiple of 16, hd of 32; see
// scoresNarrowQ8 in gen_attn_asm.go).
//
//go:noescape
func scoresNarrowQ8VNNI(q8 *int32, dq *float32, corr *int32, k *byte, ldk, hd, n int, out *float32)

// softmax16AVX512 is softmax16 (n ≥ 1), its exp that of softmax4AVX2 and
// its sum in float32.
//
//go:noescape
func softmax16AVX512(p *float32, ld, n int, lo, hi *int32, round bool)

// values16F32AVX512 is valuesT with 16 lanes (hd a multiple of 32,
// n ≥ 1): 32 values of 8 lanes per pass.
//
//go:noescape
func values16F32AVX512(p, v *float32, ldv, hd, n, nq int, out *float32)

// values32F32AVX512 is valuesT with 32 lanes.
//
//go:noescape
func values32F32AVX512(p, v *float32, ldv, hd, n, nq int, out *float32)

// values16F16AVX512 is valuesTF16 with 16 lanes (hd a multiple of 32,
// n ≥ 1).
//
//go:noescape
func values16F16AVX512(p *float32, v *uint16, ldv, hd, n, nq int, out *float32)

// values32F16AVX512 is valuesTF16 with 32 lanes.
//
//go:noescape
func values32F16AVX512(p *float32, v *uint16, ldv, hd, n, nq int, out *float32)

// widenF16RowsAVX512 is widenF16Rows (hd a multiple of 16, n ≥ 1).
//
//go:noescape
func widenF16RowsAVX512(dst *float32, src *uint16, lds, hd, n int)

// widenQ8RowsAVX512 is widenQ8Rows (hd a multiple of 32, n ≥ 1).
//
//go:noescape
func widenQ8RowsAVX512(dst *float32, src *byte, lds, hd, n int)

// quantQT16AVX512 is quantQT for 16 lanes of rows ld apart.
//
//go:noescape
func quantQT16AVX512(qt *float32, ld, hd int, q8 *int32, dq *float32, corr *int32)

// scoresT16Q8VNNI is scoresTQ8 with 16 lanes (hd a multiple of 32, n ≥ 1).
//
//go:noescape
func scoresT16Q8VNNI(q8 *int32, dq *float32, corr *int32, k *byte, ldk, hd, n int, out *float32)

// scoresT32Q8VNNI is scoresTQ8 with 32 lanes.
//
//go:noescape
func scoresT32Q8VNNI(q8 *int32, dq *float32, corr *int32, k *byte, ldk, hd, n int, out *float32)

// quantQT quantizes the W lanes of qt (hd a multiple of 32) to Q8_0 (see
// quantQTGeneric).
func quantQT(qt []float32, W, hd int, q8 []int32, dq []float32, corr []int32) {
	_, _, _, _ = qt[W*hd-1], q8[hd/4*W-1], dq[hd/32*W-1], corr[hd/32*W-1]
	if !useVNNI || W%16 != 0 {
		quantQTGeneric(qt, W, hd, q8, dq, corr)
		return
	}
	for h := 0; h < W; h += 16 {
		quantQT16AVX512(&qt[h], W, hd, &q8[h], &dq[h], &corr[h])
	}
}

// scoresTQ8 sets the scores of W lanes of Q8_0 queries against n Q8_0
// keys ldk bytes apart (see scoresTQ8Generic).
func scoresTQ8(q8 []int32, dq []float32, corr []int32, W int, k []byte, ldk, hd, n int, out []float32) {
	if n == 0 {
		return
	}
	_, _, _, _, _ = q8[hd/4*W-1], dq[hd/32*W-1], corr[hd/32*W-1], k[(n-1)*ldk+hd/32*34-1], out[W*n-1]
	switch {
	case !useVNNI:
		scoresTQ8Generic(q8, dq, corr, W, k, ldk, hd, n, out)
	case W == 16:
		scoresT16Q8VNNI(&q8[0], &dq[0], &corr[0], &k[0], ldk, hd, n, &out[0])
	case W == 32:
		scoresT32Q8VNNI(&q8[0], &dq[0], &corr[0], &k[0], ldk, hd, n, &out[0])
	default:
		scoresTQ8Generic(q8, dq, corr, W, k, ldk, hd, n, out)
	}
}

// gatherQT sets qt[d·W+i] = q[idx[i]+d] for d < hd, i < W = len(idx) (16
// or 32), rounded to binary16 and back if round (see gatherQTGeneric).
func gatherQT(qt, q []float32, idx []int32, hd int, round bool) {
	W := len(idx)
	if !useAVX512 || hd == 0 || hd%16 != 0 || W%16 != 0 {
		gatherQTGeneric(qt, q, idx, hd, round)
		return
	}
	_ = qt[W*hd-1]
	for _, o := range idx {
		_ = q[int(o)+hd-1]
	}
	for h := 0; h < W; h += 16 {
		gatherQTAVX512(&qt[h], &q[0], &idx[h], hd, W, round)
	}
}

// scoresT sets out[W·j+i] = Σ_{d<hd} qt[W·d+i]·k[j·ldk+d] for j < n,
// i < W (16 or 32; see scoresTGeneric).
func scoresT(qt []float32, W int, k []float32, ldk, hd, n int, out []float32) {
	if n == 0 {
		return
	}
	_, _, _ = qt[W*hd-1], k[(n-1)*ldk+hd-1], out[W*n-1]
	switch {
	case !useAVX512 || hd == 0:
		scoresTGeneric(qt, W, k, ldk, hd, n, out)
	case W == 16:
		scoresT16AVX512(&qt[0], &k[0], ldk, hd, n, &out[0])
	case W == 32:
		scoresT32AVX512(&qt[0], &k[0], ldk, hd, n, &out[0])
	default:
		scoresTGeneric(qt, W, k, ldk, hd, n, out)
	}
}

// scoresTF16 is scoresT over binary16 keys (see scoresTF16Generic); buf
// is scratch of 12·hd values, or of scoresF16Pipe(hd) for the kernels
// that widen the keys of one pass during the previous one.
func scoresTF16(qt []float32, W int, k []uint16, ldk, hd, n int, out, buf []float32) {
	if n == 0 {
		return
	}
	_, _, _, _ = qt[W*hd-1], k[(n-1)*ldk+hd-1], out[W*n-1], buf[12*hd-1]
	pipe := hd <= 256 && len(buf) >= scoresF16Pipe(hd)
	switch {
	case !useAVX512 || hd%16 != 0 || hd == 0:
		scoresTF16Generic(qt, W, k, ldk, hd, n, out)
	case W == 16 && pipe:
		scoresT16F16PipeAVX512(&qt[0], &k[0], ldk, hd, n, &out[0], &buf[0])
	case W == 32 && pipe:
		scoresT32F16PipeAVX512(&qt[0], &k[0], ldk, hd, n, &out[0], &buf[0])
	case W == 16:
		scoresT16F16AVX512(&qt[0], &k[0], ldk, hd, n, &out[0], &buf[0])
	case W == 32:
		scoresT32F16AVX512(&qt[0], &k[0], ldk, hd, n, &out[0], &buf[0])
	default:
		scoresTF16Generic(qt, W, k, ldk, hd, n, out)
	}
}

// narrowKeys returns how many of n keys the narrow score kernels
// (scoresNarrowF16, scoresNarrowQ8) take for a block of W lanes of which
// nq are live: all but the last n%16 where a 16-lane block has at most
// four live lanes (a decode row of a model with four query heads per KV
// head), else none.
func narrowKeys(W, nq, hd, n int) int {
	if !useAVX512 || W != 16 || nq > 4 || hd%16 != 0 {
		return 0
	}
	return n &^ 15
}

// scoresNarrowF16 is scoresTF16 for lanes 0…3 of 16 over n keys, n a multiple
// of 16 (see narrowKeys): out[16j+i] for i < 4, the same to the bit;
// lanes 4…15 are not written.
func scoresNarrowF16(qt []float32, k []uint16, ldk, hd, n int, out []float32) {
	if n == 0 {
		return
	}
	_, _, _ = qt[16*hd-1], k[(n-1)*ldk+hd-1], out[16*n-1]
	scoresNarrowF16AVX512(&qt[0], &k[0], ldk, hd, n, &out[0])
}

// scoresNarrowQ8 is scoresTQ8 for lanes 0…3 of 16 over n keys, n a
// multiple of 16 (see narrowKeys), with VNNI: out[16j+i] for i < 4, the
// same to the bit; lanes 4…15 are not written.
func scoresNarrowQ8(q8 []int32, dq []float32, corr []int32, k []byte, ldk, hd, n int, out []float32) {
	if n == 0 {
		return
	}
	_, _, _, _, _ = q8[hd/4*16-1], dq[hd/32*16-1], corr[hd/32*16-1], k[(n-1)*ldk+hd/32*34-1], out[16*n-1]
	scoresNarrowQ8VNNI(&q8[0], &dq[0], &corr[0], &k[0], ldk, hd, n, &out[0])
}

// softmax16 turns the scores of 16 lanes p[ld·j+i] over n keys into
// weights, each lane over its keys lo[i]…hi[i] (see softmax16Generic).
func softmax16(p []float32, ld, n int, lo, hi []int32, round bool) {
	if n == 0 {
		return
	}
	_ = p[(n-1)*ld+15]
	for i := range 16 {
		if lo[i] < 0 || lo[i] > hi[i] || int(hi[i]) >= n {
			panic("gemma3: softmax16 lane without keys")
		}
	}
	if !useAVX512 {
		softmax16Generic(p, ld, n, lo, hi, round)
		return
	}
	softmax16AVX512(&p[0], ld, n, &lo[0], &hi[0], round)
}

// valuesT adds Σ_{j<n} p[W·j+i]·v[j·ldv : j·ldv+hd] to out[i·hd : (i+1)·hd]
// for i < nq (see valuesTGeneric). Rows of out up to nq rounded up to 8
// may be written.
func valuesT(p []float32, W int, v []float32, ldv, hd, n, nq int, out []float32) {
	if n == 0 || nq == 0 {
		return
	}
	_, _, _ = p[W*n-1], v[(n-1)*ldv+hd-1], out[min(W, (nq+7)&^7)*hd-1]
	switch {
	case !useAVX512 || hd%32 != 0:
		valuesTGeneric(p, W, v, ldv, hd, n, nq, out)
	case W == 16 && nq <= 4 && hd%64 == 0:
		valuesNarrowF32AVX512(&p[0], &v[0], ldv, hd, n, &out[0])
	case W == 16:
		values16F32AVX512(&p[0], &v[0], ldv, hd, n, nq, &out[0])
	case W == 32:
		values32F32AVX512(&p[0], &v[0], ldv, hd, n, nq, &out[0])
	default:
		valuesTGeneric(p, W, v, ldv, hd, n, nq, out)
	}
}

// valuesTF16 is valuesT over binary16 values (see valuesTF16Generic).
func valuesTF16(p []float32, W int, v []uint16, ldv, hd, n, nq int, out []float32) {
	if n == 0 || nq == 0 {
		return
	}
	_, _, _ = p[W*n-1], v[(n-1)*ldv+hd-1], out[min(W, (nq+7)&^7)*hd-1]
	switch {
	case !useAVX512 || hd%32 != 0:
		valuesTF16Generic(p, W, v, ldv, hd, n, nq, out)
	case W == 16 && nq <= 4 && hd%64 == 0:
		valuesNarrowF16AVX512(&p[0], &v[0], ldv, hd, n, &out[0])
	case W == 16:
		values16F16AVX512(&p[0], &v[0], ldv, hd, n, nq, &out[0])
	case W == 32:
		values32F16AVX512(&p[0], &v[0], ldv, hd, n, nq, &out[0])
	default:
		valuesTF16Generic(p, W, v, ldv, hd, n, nq, out)
	}
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
