package exec

import (
	"context"
	"math"
	"sync"

	"github.com/zerfoo/zerfoo/internal/qgemm"
	"github.com/zerfoo/zerfoo/internal/simd"
	"github.com/zerfoo/zerfoo/internal/workerpool"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

// This file holds the integer matrix product shared by MatMulInteger,
// QLinearMatMul, MatMulIntegerToFloat, DynamicQuantizeMatMul, QGemm and
// the QDQ fusions (qdq.go): acc = Σ_k (a−za)(b−zb) in int32, computed by
// qgemm.I8 (uint8 rows against int8 columns, VPDPBUSD where the CPU has
// it) and finished block by block by an epilogue.

// qmat is the B side of an integer product: one K×N matrix packed for
// qgemm, with off = 128 when B was uint8 (stored as b−128).
type qmat struct {
	w   *qgemm.I8
	off int32
}

// packQ packs the K×N matrix at element offset base of b (uint8 or int8
// data, row-major). trans packs Bᵀ from an N×K matrix.
func packQ(b tensor.Any, base, k, n int, trans bool) (*qmat, error) {
	idx := func(kk, j int) int {
		if trans {
			return base + j*k + kk
		}
		return base + kk*n + j
	}
	switch v := b.(type) {
	case *tensor.Tensor[int8]:
		d := v.Data()
		return &qmat{w: qgemm.PackI8(k, n, func(kk, j int) int8 { return d[idx(kk, j)] })}, nil
	case *tensor.Tensor[uint8]:
		d := v.Data()
		return &qmat{w: qgemm.PackI8(k, n, func(kk, j int) int8 { return int8(d[idx(kk, j)] ^ 0x80) }), off: 128}, nil
	}
	return nil, typeErr("B has element type %s, want uint8 or int8", b.DType())
}

// codesU8 returns the codes of a (uint8 or int8) as uint8 and the shift
// added to them: int8 codes become code+128 (so a zero point za becomes
// za+128). A uint8 tensor's own slice is returned.
func codesU8(a tensor.Any) ([]uint8, int32, error) {
	switch v := a.(type) {
	case *tensor.Tensor[uint8]:
		return v.Data(), 0, nil
	case *tensor.Tensor[int8]:
		d := v.Data()
		u := make([]uint8, len(d))
		for i, x := range d {
			u[i] = uint8(x) ^ 0x80
		}
		return u, 128, nil
	}
	return nil, 0, typeErr("A has element type %s, want uint8 or int8", a.DType())
}

// zeroPoints returns the zero points of z (nil: 0) as int32, checking that
// there are 1 or want of them and that their type is that of the data
// (dt).
func zeroPoints(z tensor.Any, dt numeric.DType, want int, what string) ([]int32, error) {
	if z == nil {
		return []int32{0}, nil
	}
	if z.DType() != dt {
		return nil, typeErr("%s has element type %s, its data %s", what, z.DType(), dt)
	}
	n := z.Size()
	if n != 1 && n != want {
		return nil, shapeErr("%s of shape %v: want 1 or %d values", what, z.Shape(), want)
	}
	c, _, err := codesOf(z, 0, 8)
	return c, err
}

// scalesOf returns the float32 scales of s, checking that there are 1 or
// want of them.
func scalesOf(s tensor.Any, want int, what string) ([]float32, error) {
	if s == nil {
		return nil, typeErr("%s is required", what)
	}
	if !isFloat(s.DType()) {
		return nil, typeErr("%s has element type %s, want a float type", what, s.DType())
	}
	if n := s.Size(); n != 1 && n != want {
		return nil, shapeErr("%s of shape %v: want 1 or %d values", what, s.Shape(), want)
	}
	return floats(s)
}

// at1 returns v[i], or v[0] when v has one element.
func at1[T any](v []T, i int) T {
	if len(v) == 1 {
		return v[0]
	}
	return v[i]
}

// qplan is the shape of an integer product with NumPy matmul broadcasting.
type qplan struct {
	out     []int // output shape
	m, k, n int
	batches int   // output batches
	aOff    []int // per batch: first row of A (in rows of K)
	bOff    []int // per batch: element offset of B's matrix
	aRows   int   // rows of A in all
	bMats   int   // distinct matrices of B
}

func planQ(as, bs []int) (*qplan, error) {
	if len(as) == 0 || len(bs) == 0 {
		return nil, shapeErr("MatMul of shapes %v and %v: scalars do not multiply", as, bs)
	}
	a, b := as, bs
	if len(a) == 1 {
		a = []int{1, a[0]}
	}
	if len(b) == 1 {
		b = []int{b[0], 1}
	}
	p := &qplan{m: a[len(a)-2], k: a[len(a)-1], n: b[len(b)-1]}
	if b[len(b)-2] != p.k {
		return nil, shapeErr("MatMul of shapes %v and %v: inner dims %d and %d differ", as, bs, p.k, b[len(b)-2])
	}
	ab, bb := a[:len(a)-2], b[:len(b)-2]
	ob, err := broadcastShape(ab, bb)
	if err != nil {
		return nil, shapeErr("MatMul of shapes %v and %v: batch dims do not broadcast", as, bs)
	}
	p.batches = prod(ob)
	p.aRows = prod(ab) * p.m
	p.bMats = prod(bb)
	ai, bi := bcastIndex(ab, ob), bcastIndex(bb, ob)
	p.aOff = make([]int, p.batches)
	p.bOff = make([]int, p.batches)
	for i := range p.batches {
		p.aOff[i] = ai[i] * p.m
		p.bOff[i] = bi[i] * p.k * p.n
	}
	p.out = append(append([]int(nil), ob...), p.m, p.n)
	if len(as) == 1 {
		p.out = append(p.out[:len(p.out)-2], p.n)
	}
	if len(bs) == 1 {
		p.out = p.out[:len(p.out)-1]
	}
	return p, nil
}

// epilogue finishes one block of the product: rows [r0, r1) of the output
// (whose rows of A start at aRow0 for r0), columns [c0, c1). acc holds
// Σ a'·b' (the codes as packed) and the zero-point terms still to be
// applied: the product of row r is acc[r][j] + fix.add[aRow] − fix.sub[j]
// (wrapping), which simd.AccF32 and simd.Requant compute in their pass.
type epilogue func(r0, r1, aRow0, c0, c1 int, fix *qfix)

// qfix holds the zero-point terms of an integer product that qrun leaves
// to the epilogue: Σ(a−za)(b−zb) = Σa'b' + add[row of A] − sub[column].
type qfix struct {
	add []int32 // per row of A
	sub []int32 // per column
}

// qrun computes the product of plan p: for every output batch it gets the
// packed B (pack: by its element offset), multiplies the batch's rows of A
// and calls fin for every finished block (row-major acc, N columns, one
// row per output row). Without fin the zero-point terms are applied to
// acc; with one they are left to fin when the zero points are per tensor
// (fix.add and fix.sub hold them), else applied and fix's terms are 0.
//
// a holds the A codes as uint8, za the zero points of A (1, or one per row
// of A) including the int8 shift, zb those of B (1 or N, in B's own
// codes).
func qrun(ctx context.Context, p *qplan, a []uint8, za, zb []int32, acc []int32, pack func(bOff int) (*qmat, error), fin epilogue) error {
	// Σ_k a over each row of A
	rowSum := make([]int32, p.aRows)
	err := workerpool.For(ctx, p.aRows, max(1, (1<<16)/max(1, p.k)), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			rowSum[i] = simd.SumU8(a[i*p.k : (i+1)*p.k])
		}
	})
	if err != nil {
		return err
	}
	k := int32(p.k)
	perTensor := fin != nil && len(za) == 1 && len(zb) == 1
	fix := &qfix{add: make([]int32, p.aRows), sub: make([]int32, p.n)}
	for bt := 0; bt < p.batches; bt++ {
		w, err := pack(p.bOff[bt])
		if err != nil {
			return err
		}
		cs := w.w.ColSums()
		if perTensor {
			t := w.off - zb[0]
			for i, rs := range rowSum {
				fix.add[i] = t*rs - za[0]*k*t
			}
			for j, v := range cs {
				fix.sub[j] = za[0] * v
			}
		}
		aRow, oRow := p.aOff[bt], bt*p.m
		c := acc[oRow*p.n : (oRow+p.m)*p.n]
		err = w.w.MulU8Then(ctx, c, p.n, a[aRow*p.k:(aRow+p.m)*p.k], p.k, p.m, func(r0, r1, c0, c1 int) {
			if !perTensor {
				for r := r0; r < r1; r++ {
					zaR := at1(za, aRow+r)
					rs := rowSum[aRow+r]
					row := c[r*p.n : (r+1)*p.n]
					if len(zb) == 1 {
						t := w.off - zb[0]
						base := t*rs - zaR*k*t
						for j := c0; j < c1; j++ {
							row[j] += base - zaR*cs[j]
						}
						continue
					}
					for j := c0; j < c1; j++ {
						t := w.off - zb[j]
						row[j] += t*rs - zaR*cs[j] - zaR*k*t
					}
				}
			}
			if fin != nil {
				fin(oRow+r0, oRow+r1, aRow+r0, c0, c1, fix)
			}
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// int32Pool recycles the int32 accumulators of integer products whose
// output has another type.
var int32Pool sync.Pool

// getInt32s returns a slice of n int32s with unspecified contents.
func getInt32s(n int) []int32 {
	if p, ok := int32Pool.Get().(*[]int32); ok && cap(*p) >= n {
		return (*p)[:n]
	}
	return make([]int32, n)
}

// putInt32s returns s to the pool.
func putInt32s(s []int32) { int32Pool.Put(&s) }

// float32Pool recycles float32 scratch buffers of the size of an op's
// input (SkipLayerNormalization's sum when the node does not output it).
var float32Pool sync.Pool

// getFloat32s returns a slice of n float32s with unspecified contents.
func getFloat32s(n int) []float32 {
	if p, ok := float32Pool.Get().(*[]float32); ok && cap(*p) >= n {
		return (*p)[:n]
	}
	return make([]float32, n)
}

// putFloat32s returns s to the pool.
func putFloat32s(s []float32) { float32Pool.Put(&s) }

// requant rounds v·mult to the nearest integer (ties to even), adds zp and
// clamps to [lo, hi], as ONNX Runtime's MlasRequantizeOutput does.
func requant(v int32, mult float32, zp, lo, hi int32) int32 {
	f := float32(v) * mult
	q := int32(math.RoundToEven(float64(min(max(f, float32(lo-zp)), float32(hi-zp))))) + zp
	return q
}

// quantRange returns the code range of a uint8 or int8 element type.
func quantRange(dt numeric.DType) (int32, int32, error) {
	switch dt {
	case numeric.Uint8:
		return 0, 255, nil
	case numeric.Int8:
		return -128, 127, nil
	}
	return 0, 0, typeErr("quantized type %s, want uint8 or int8", dt)
}

// quantTensor makes a uint8 or int8 tensor of codes q.
func quantTensor(dt numeric.DType, shape []int, q []int32) (tensor.Any, error) {
	if dt == numeric.Int8 {
		d := make([]int8, len(q))
		for i, v := range q {
			d[i] = int8(v)
		}
		return tensor.New(shape, d)
	}
	d := make([]uint8, len(q))
	for i, v := range q {
		d[i] = uint8(v)
	}
	return tensor.New(shape, d)
}

// bPacker returns the function qrun uses to get B's matrices: packed once
// at compile time when B is an initializer (cst), else at run time from b
// (each distinct matrix once per call).
func bPacker(cst []*qmat, b tensor.Any, k, n int, trans bool) func(int) (*qmat, error) {
	if cst != nil {
		return func(off int) (*qmat, error) { return cst[off/max(1, k*n)], nil }
	}
	cache := map[int]*qmat{}
	return func(off int) (*qmat, error) {
		if w, ok := cache[off]; ok {
			return w, nil
		}
		w, err := packQ(b, off, k, n, trans)
		if err == nil {
			cache[off] = w
		}
		return w, err
	}
}

// packConstB packs every matrix of an initializer B of shape [..., K, N]
// (or [..., N, K] with trans) at compile time; nil when B is not an
// initializer or not uint8/int8 (the run-time path then reports it).
func packConstB(b tensor.Any, trans bool) ([]*qmat, error) {
	if b == nil {
		return nil, nil
	}
	s := b.Shape()
	if len(s) == 0 {
		return nil, attrErr("B is a scalar")
	}
	if b.DType() != numeric.Uint8 && b.DType() != numeric.Int8 {
		return nil, attrErr("B has element type %s, want uint8 or int8", b.DType())
	}
	k, n := s[len(s)-1], 1
	if len(s) >= 2 {
		k, n = s[len(s)-2], s[len(s)-1]
	}
	if trans {
		k, n = n, k
	}
	mats := prod(s) / max(1, k*n)
	out := make([]*qmat, mats)
	for i := range out {
		w, err := packQ(b, i*k*n, k, n, trans)
		if err != nil {
			return nil, err
		}
		out[i] = w
	}
	return out, nil
}
