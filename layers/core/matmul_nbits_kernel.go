package core

import (
	"context"
	"math"

	"github.com/zerfoo/zerfoo/internal/gemm"
	"github.com/zerfoo/zerfoo/internal/qgemm"
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

	// fused is the matrix repacked for internal/qgemm's fused kernels, or
	// nil (reference kernels, float zero points, g_idx). Once it exists, b,
	// scales and zpPacked are released (nil) and the accessors below read
	// fused instead, so the layer holds one copy of its weights.
	fused *qgemm.Matrix
}

// pack repacks the weights for the fused kernels when they apply, with
// 24-bit scales when compact, and releases the ONNX-layout arrays. It runs
// once, in the layer's constructor, before q is shared.
func (q *qweights) pack(compact bool) {
	if q.zpFloat != nil || q.gIdx != nil || q.fused != nil {
		return
	}
	var opts []qgemm.PackOption
	if compact {
		opts = append(opts, qgemm.CompactScales())
	}
	m, err := qgemm.Pack(qgemm.NBits{Q: &numeric.BlockQuantized{
		N: q.n, K: q.k, Bits: q.bits, BlockSize: q.blockSize,
		B: q.b, Scales: q.scales, ZeroPoints: q.zpPacked,
	}}, opts...)
	if err != nil {
		return // the reference loops serve the layer
	}
	q.fused, q.b, q.scales, q.zpPacked = m, nil, nil, nil
}

// onnxCodes rebuilds the ONNX [n][kBlocks][blobSize] codes from the
// repacked matrix.
func (q *qweights) onnxCodes() []uint8 {
	b := make([]uint8, q.n*q.kBlocks*q.blobSize)
	codes := make([]uint8, q.blockSize)
	for n := 0; n < q.n; n++ {
		for blk := 0; blk < q.kBlocks; blk++ {
			valid := min(q.blockSize, q.k-blk*q.blockSize)
			_, z := q.fused.Block(n, blk, codes[:valid])
			for j := valid; j < q.blockSize; j++ {
				codes[j] = z // the padding of a partial last block, as the constructors write it
			}
			// The codes came out of a valid matrix, so packing cannot fail.
			_, _ = numeric.PackBits(b[(n*q.kBlocks+blk)*q.blobSize:], codes, q.bits)
		}
	}
	return b
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

// code returns the code of W[n][k] (not for repacked weights: their
// readers go through dequantRange).
func (q *qweights) code(n, k int) int {
	return codeAt(q.b[(n*q.kBlocks+k/q.blockSize)*q.blobSize:], k%q.blockSize, q.bits)
}

// intZeroPoint returns the integer zero point of block b of row n: the
// packed one or the default 2^(bits−1).
// Only the reference loops call it (q.fused is nil).
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
	if q.fused != nil {
		// The arguments are the layer's own (n < N, k0 a block start).
		if err := q.fused.DequantizeRow(n, k0, k1, dst); err != nil {
			panic(err)
		}
		return
	}
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
			z := q.intZeroPoint(n, b)
			if q.bits == 4 {
				dequant4(out, blk, float32(z), s)
			} else {
				numeric.DequantizeBlock(out, blk, q.bits, s, uint8(z))
			}
			continue
		}
		sz := s * q.zpFloat[n*kb+b]
		for j := range out {
			out[j] = float32(codeAt(blk, j, q.bits))*s - sz
		}
	}
}

// nibbles holds the two 4-bit codes of every byte as float32 (low, high).
var nibbles = func() (t [256][2]float32) {
	for i := range t {
		t[i] = [2]float32{float32(i & 15), float32(i >> 4)}
	}
	return t
}()

// dequant4 is numeric.DequantizeBlock for 4 bits with a table lookup
// instead of integer conversions; the results are identical, since
// float32(c) − float32(z) is exact.
func dequant4(dst []float32, blob []uint8, z, s float32) {
	pairs := len(dst) / 2
	blob = blob[:(len(dst)+1)/2]
	for i, c := range blob[:pairs] {
		p := &nibbles[c]
		d := dst[2*i : 2*i+2 : 2*i+2]
		d[0] = (p[0] - z) * s
		d[1] = (p[1] - z) * s
	}
	if len(dst)%2 == 1 {
		dst[len(dst)-1] = (nibbles[blob[pairs]][0] - z) * s
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

// gemmTileRows is the number of rows of W the float32 path dequantizes at
// once for multi-row inputs (a transient 4·gemmTileRows·K-byte buffer).
const gemmTileRows = 64

// gemmF32 computes y[m][n] = a[m]·W[n] + bias[n] in float32. w is the
// dequantized weight cache ([n][k]) or nil. With the cache, or with m ≥ 4
// rows, it multiplies with internal/gemm's Sgemm (dequantizing W a tile of
// rows at a time when there is no cache), as ONNX Runtime does; for fewer
// rows it dequantizes each row of W into a per-chunk buffer and takes dot
// products.
//
// This is the one function a fused kernel replaces for the float32 path.
func (q *qweights) gemmF32(ctx context.Context, a []float32, m int, bias, w, y []float32) error {
	K, N := q.k, q.n
	if m == 0 {
		return ctx.Err()
	}
	switch {
	case w != nil:
		if err := gemm.Sgemm(ctx, false, true, m, N, K, 1, a, K, w, K, 0, y, N); err != nil {
			return err
		}
	case m >= 4:
		tile := make([]float32, min(gemmTileRows, N)*K)
		for n0 := 0; n0 < N; n0 += gemmTileRows {
			rows := min(gemmTileRows, N-n0)
			err := workerpool.For(ctx, rows, max(1, 8192/K), func(lo, hi int) {
				for r := lo; r < hi; r++ {
					q.dequantRange(n0+r, 0, K, tile[r*K:(r+1)*K])
				}
			})
			if err != nil {
				return err
			}
			if err := gemm.Sgemm(ctx, false, true, m, rows, K, 1, a, K, tile, K, 0, y[n0:], N); err != nil {
				return err
			}
		}
	default:
		return workerpool.For(ctx, N, rowGrain(K, m), func(lo, hi int) {
			buf := make([]float32, K)
			for n := lo; n < hi; n++ {
				q.dequantRange(n, 0, K, buf)
				var bv float32
				if bias != nil {
					bv = bias[n]
				}
				for r := 0; r < m; r++ {
					y[r*N+n] = dot(a[r*K:(r+1)*K], buf) + bv
				}
			}
		})
	}
	if bias != nil {
		for r := 0; r < m; r++ {
			row := y[r*N : (r+1)*N]
			for n, v := range bias {
				row[n] += v
			}
		}
	}
	return nil
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
				blk := q.b[(n*kb+b)*q.blobSize : (n*kb+b+1)*q.blobSize]
				dst := qb[b*bs : (b+1)*bs]
				if q.bits == 4 {
					for i, c := range blk {
						d := dst[2*i : 2*i+2 : 2*i+2]
						d[0] = int16(c&15) - int16(z)
						d[1] = int16(c>>4) - int16(z)
					}
					continue
				}
				for j := range dst {
					dst[j] = int16(codeAt(blk, j, q.bits) - z)
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
					d := dotInt8(xa, xb)
					acc += float32(d) * (sa[r*kb+b] * q.scales[n*kb+b])
				}
				y[r*N+n] = acc + bv
			}
		}
	})
}

// gemmBackward computes da[m][k] = Σ_n dy[m][n]·W[n][k] (da must be zero
// on entry) with internal/gemm's Sgemm: against the dequantized weight
// cache w when there is one, otherwise against tiles of gemmTileRows rows
// of W dequantized in parallel (a transient 4·gemmTileRows·K-byte buffer).
func (q *qweights) gemmBackward(ctx context.Context, dy []float32, m int, w, da []float32) error {
	K, N := q.k, q.n
	if m == 0 {
		return ctx.Err()
	}
	if w != nil {
		return gemm.Sgemm(ctx, false, false, m, K, N, 1, dy, N, w, K, 0, da, K)
	}
	tile := make([]float32, min(gemmTileRows, N)*K)
	for n0 := 0; n0 < N; n0 += gemmTileRows {
		rows := min(gemmTileRows, N-n0)
		err := workerpool.For(ctx, rows, max(1, 8192/K), func(lo, hi int) {
			for r := lo; r < hi; r++ {
				q.dequantRange(n0+r, 0, K, tile[r*K:(r+1)*K])
			}
		})
		if err != nil {
			return err
		}
		// da += dy[:, n0:n0+rows] · tile
		if err := gemm.Sgemm(ctx, false, false, m, K, rows, 1, dy[n0:], N, tile, K, 1, da, K); err != nil {
			return err
		}
	}
	return nil
}

// dotInt8 returns Σ a[i]·b[i] in int32 (len(b) ≥ len(a)).
func dotInt8(a []int8, b []int16) int32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 int32
	for len(a) >= 4 {
		x, y := a[:4:4], b[:4:4]
		s0 += int32(x[0]) * int32(y[0])
		s1 += int32(x[1]) * int32(y[1])
		s2 += int32(x[2]) * int32(y[2])
		s3 += int32(x[3]) * int32(y[3])
		a, b = a[4:], b[4:]
	}
	for i, v := range a {
		s0 += int32(v) * int32(b[i])
	}
	return s0 + s1 + s2 + s3
}

// dot returns Σ a[i]·b[i] over len(a) elements (len(b) ≥ len(a)).
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	for len(a) >= 8 {
		x, y := a[:8:8], b[:8:8]
		s0 += x[0] * y[0]
		s1 += x[1] * y[1]
		s2 += x[2] * y[2]
		s3 += x[3] * y[3]
		s4 += x[4] * y[4]
		s5 += x[5] * y[5]
		s6 += x[6] * y[6]
		s7 += x[7] * y[7]
		a, b = a[8:], b[8:]
	}
	for i, v := range a {
		s0 += v * b[i]
	}
	return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
}

func abs32(x float32) float32 { return math.Float32frombits(math.Float32bits(x) &^ (1 << 31)) }
