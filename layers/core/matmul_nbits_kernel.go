package core

import (
	"context"
	"math"

	"github.com/zerfoo/zerfoo/internal/workerpool"
	"github.com/zerfoo/zerfoo/numeric"
)

// qweights is the block-quantized N×K weight matrix of a MatMulNBits layer
// in ONNX Runtime's layout. It is read-only after construction, so any
// number of goroutines may compute with it at once.
type qweights struct {
	k, n, bits, blockSize, level  int
	kBlocks, blobSize, zpRowBytes int

	b        []uint8   // [n][kBlocks][blobSize] codes, low bits first
	scales   []float32 // [n][kBlocks]
	zpPacked []uint8   // nil, or [n][zpRowBytes] codes packed along the blocks of each row
	zpFloat  []float32 // nil, or [n][kBlocks] float zero points
	gIdx     []int32   // nil, or [k] block index of every input row
}

// derive fills the sizes that follow from k, bits and blockSize.
func (q *qweights) derive() {
	q.kBlocks = (q.k + q.blockSize - 1) / q.blockSize
	q.blobSize = q.blockSize * q.bits / 8
	q.zpRowBytes = (q.kBlocks*q.bits + 7) / 8
}

// useInt8 reports whether Forward takes ONNX Runtime's CompInt8 path:
// accuracy level 4 with integer zero points and no g_idx, for every (bits,
// block size) ORT 1.30.0 has an int8 kernel for on x86-64 (all but bits 2
// with block size 16 or 256, which fall back to float32).
func (q *qweights) useInt8() bool {
	return q.level == 4 && q.zpFloat == nil && q.gIdx == nil && !(q.bits == 2 && (q.blockSize == 16 || q.blockSize == 256))
}

// code returns the code of W[n][k].
func (q *qweights) code(n, k int) int {
	return codeAt(q.b[(n*q.kBlocks+k/q.blockSize)*q.blobSize:], k%q.blockSize, q.bits)
}

// intZeroPoint returns the integer zero point of block b of row n: the
// packed one or the default 2^(bits−1).
func (q *qweights) intZeroPoint(n, b int) int {
	if q.zpPacked == nil {
		return 1 << (q.bits - 1)
	}
	return codeAt(q.zpPacked[n*q.zpRowBytes:], b, q.bits)
}

// dequantRange writes W[n][k0:k1] into dst[:k1-k0]; k0 must be a multiple
// of the block size. It computes (q − zp)·scale with an integer zero point
// (numeric.DequantizeBlock, the reference decoder) and q·scale − scale·zp
// with a float one, ONNX Runtime's formula in each case.
func (q *qweights) dequantRange(n, k0, k1 int, dst []float32) {
	kb, bs := q.kBlocks, q.blockSize
	if q.gIdx != nil {
		def := float32(int(1) << (q.bits - 1))
		for k := k0; k < k1; k++ {
			g := int(q.gIdx[k])
			s := q.scales[n*kb+g]
			c := float32(q.code(n, k))
			if q.zpFloat != nil {
				dst[k-k0] = c*s - s*q.zpFloat[n*kb+g]
			} else {
				dst[k-k0] = (c - def) * s
			}
		}
		return
	}
	for b := k0 / bs; b*bs < k1; b++ {
		s := q.scales[n*kb+b]
		blk := q.b[(n*kb+b)*q.blobSize : (n*kb+b+1)*q.blobSize]
		out := dst[b*bs-k0 : min(k1, (b+1)*bs)-k0]
		if q.zpFloat == nil {
			numeric.DequantizeBlock(out, blk, q.bits, s, uint8(q.intZeroPoint(n, b)))
			continue
		}
		sz := s * q.zpFloat[n*kb+b]
		for j := range out {
			out[j] = float32(codeAt(blk, j, q.bits))*s - sz
		}
	}
}

// dequantAll writes the whole of W into w ([n][k]).
func (q *qweights) dequantAll(ctx context.Context, w []float32) error {
	return workerpool.For(ctx, q.n, max(1, 4096/q.k), func(lo, hi int) {
		for n := lo; n < hi; n++ {
			q.dequantRange(n, 0, q.k, w[n*q.k:(n+1)*q.k])
		}
	})
}

// rowGrain is the number of output features per parallel chunk that keeps
// a chunk around 64 K multiply-adds.
func rowGrain(k, m int) int { return max(1, 65536/(k*max(m, 1))) }

// gemmF32 computes y[m][n] = a[m]·W[n] + bias[n] in float32. w is the
// dequantized weight cache ([n][k]) or nil, in which case each row of W is
// dequantized from the packed blocks into a per-chunk buffer.
//
// This is the one function a fused kernel replaces for the float32 path.
func (q *qweights) gemmF32(ctx context.Context, a []float32, m int, bias, w, y []float32) error {
	K, N := q.k, q.n
	return workerpool.For(ctx, N, rowGrain(K, m), func(lo, hi int) {
		var buf []float32
		if w == nil {
			buf = make([]float32, K)
		}
		for n := lo; n < hi; n++ {
			var row []float32
			if w != nil {
				row = w[n*K : (n+1)*K]
			} else {
				q.dequantRange(n, 0, K, buf)
				row = buf
			}
			var bv float32
			if bias != nil {
				bv = bias[n]
			}
			for r := 0; r < m; r++ {
				y[r*N+n] = dot(a[r*K:(r+1)*K], row) + bv
			}
		}
	})
}

// quantizeA quantizes row blocks of A to int8 as ONNX Runtime's CompInt8
// path does: per row and per block of blockSize valid elements,
// scale = max|a|/127, qa = round-half-even(a·(127/max|a|)) (0 when the block
// is all zero); positions past K stay 0.
func (q *qweights) quantizeA(a []float32, m int) (qa []int8, sa []float32) {
	K, bs, kb := q.k, q.blockSize, q.kBlocks
	qa = make([]int8, m*kb*bs)
	sa = make([]float32, m*kb)
	for r := 0; r < m; r++ {
		for b := 0; b < kb; b++ {
			src := a[r*K+b*bs : r*K+min((b+1)*bs, K)]
			var amax float32
			for _, v := range src {
				amax = max(amax, abs32(v))
			}
			sa[r*kb+b] = amax / 127
			var inv float32
			if amax != 0 {
				inv = 127 / amax
			}
			dst := qa[(r*kb+b)*bs:]
			for j, v := range src {
				x := math.RoundToEven(float64(v * inv))
				dst[j] = int8(max(-128, min(127, x)))
			}
		}
	}
	return qa, sa
}

// gemmInt8 computes y = Σ_blocks scaleA·scaleB·Σ qa·(qb − zp) + bias, the
// accuracy_level 4 (CompInt8) result of ONNX Runtime, accumulating each
// block's integer dot product in int32 and the blocks in float32.
//
// This is the one function a fused kernel replaces for the int8 path.
func (q *qweights) gemmInt8(ctx context.Context, a []float32, m int, bias, y []float32) error {
	N, bs, kb := q.n, q.blockSize, q.kBlocks
	qa, sa := q.quantizeA(a, m)
	return workerpool.For(ctx, N, rowGrain(q.k, m), func(lo, hi int) {
		qb := make([]int16, kb*bs) // code − zero point of one row of W
		for n := lo; n < hi; n++ {
			for b := 0; b < kb; b++ {
				z := q.intZeroPoint(n, b)
				blk := q.b[(n*kb+b)*q.blobSize:]
				for j := 0; j < bs; j++ {
					qb[b*bs+j] = int16(codeAt(blk, j, q.bits) - z)
				}
			}
			var bv float32
			if bias != nil {
				bv = bias[n]
			}
			for r := 0; r < m; r++ {
				var acc float32
				for b := 0; b < kb; b++ {
					xa := qa[(r*kb+b)*bs : (r*kb+b+1)*bs]
					xb := qb[b*bs : (b+1)*bs]
					var d int32
					for j, v := range xa {
						d += int32(v) * int32(xb[j])
					}
					acc += float32(d) * (sa[r*kb+b] * q.scales[n*kb+b])
				}
				y[r*N+n] = acc + bv
			}
		}
	})
}

// gemmBackward computes da[m][k] = Σ_n dy[m][n]·W[n][k], parallel over
// blocks of K so that chunks write disjoint columns of da. w is the
// dequantized weight cache or nil.
func (q *qweights) gemmBackward(ctx context.Context, dy []float32, m int, w, da []float32) error {
	K, N, bs := q.k, q.n, q.blockSize
	grain := max(1, 65536/(bs*N*max(m, 1)))
	return workerpool.For(ctx, q.kBlocks, grain, func(lo, hi int) {
		k0, k1 := lo*bs, min(hi*bs, K)
		buf := make([]float32, k1-k0)
		for n := 0; n < N; n++ {
			row := buf
			if w != nil {
				row = w[n*K+k0 : n*K+k1]
			} else {
				q.dequantRange(n, k0, k1, buf)
			}
			for r := 0; r < m; r++ {
				g := dy[r*N+n]
				if g == 0 {
					continue
				}
				out := da[r*K+k0 : r*K+k1]
				for j, v := range row {
					out[j] += g * v
				}
			}
		}
	})
}

// dot returns Σ a[i]·b[i] over len(a) elements (len(b) ≥ len(a)).
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func abs32(x float32) float32 { return math.Float32frombits(math.Float32bits(x) &^ (1 << 31)) }
