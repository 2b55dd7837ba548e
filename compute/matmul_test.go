package compute

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

// refMatMul is NumPy matmul in float64 by the definition: promote rank-1
// operands, broadcast batch axes, triple loop.
func refMatMul(as []int, a []float64, bs []int, b []float64) ([]float64, []int) {
	pa, pb := as, bs
	if len(pa) == 1 {
		pa = []int{1, pa[0]}
	}
	if len(pb) == 1 {
		pb = []int{pb[0], 1}
	}
	m, k, n := pa[len(pa)-2], pa[len(pa)-1], pb[len(pb)-1]
	ab, bb := pa[:len(pa)-2], pb[:len(pb)-2]
	batch, _ := broadcastShapes(ab, bb)
	nb := product(batch)
	out := make([]float64, nb*m*n)
	for bi := range nb {
		idx := refIndex(bi, batch)
		aoff, boff := 0, 0
		if len(ab) > 0 {
			aoff = int(refAt(seqIndex(ab), ab, idx)) * m * k
		}
		if len(bb) > 0 {
			boff = int(refAt(seqIndex(bb), bb, idx)) * k * n
		}
		for i := range m {
			for j := range n {
				s := 0.0
				for p := range k {
					s += a[aoff+i*k+p] * b[boff+p*n+j]
				}
				out[bi*m*n+i*n+j] = s
			}
		}
	}
	shape := append([]int(nil), batch...)
	if len(as) > 1 {
		shape = append(shape, m)
	}
	if len(bs) > 1 {
		shape = append(shape, n)
	}
	return out, shape
}

// seqIndex returns 0, 1, 2, ... for every element of shape, so refAt maps a
// broadcast batch index to a flat matrix number.
func seqIndex(shape []int) []float64 {
	r := make([]float64, product(shape))
	for i := range r {
		r[i] = float64(i)
	}
	return r
}

func TestMatMulFloat32(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(13, 14))
	e := f32()
	tests := []struct{ a, b []int }{
		{[]int{2, 3}, []int{3, 4}},
		{[]int{1, 5}, []int{5, 1}},
		{[]int{4}, []int{4}},                // dot product -> scalar
		{[]int{4}, []int{4, 3}},             // vector · matrix
		{[]int{2, 4}, []int{4}},             // matrix · vector
		{[]int{3}, []int{2, 3, 5}},          // vector · batched matrix
		{[]int{2, 3, 4}, []int{4}},          // batched matrix · vector
		{[]int{2, 3, 4}, []int{4, 5}},       // batch folds into M
		{[]int{2, 3, 4}, []int{2, 4, 5}},    // same batch
		{[]int{2, 1, 3, 4}, []int{5, 4, 2}}, // broadcast batch -> [2,5,3,2]
		{[]int{1, 3, 4}, []int{6, 4, 2}},    // a broadcast over b's batch
		{[]int{3, 0}, []int{0, 2}},          // k = 0: zeros
		{[]int{0, 3}, []int{3, 2}},          // m = 0
		{[]int{37, 65}, []int{65, 29}},      // ragged sizes
		{[]int{64, 64}, []int{64, 64}},      // multi-worker GEMM
		{[]int{8, 16, 8}, []int{8, 8, 16}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%v·%v", tc.a, tc.b), func(t *testing.T) {
			a, b := randF32(t, rng, tc.a...), randF32(t, rng, tc.b...)
			got, err := e.MatMul(ctx, a, b)
			if err != nil {
				t.Fatal(err)
			}
			want, shape := refMatMul(tc.a, to64(a.Data()), tc.b, to64(b.Data()))
			checkShape(t, "MatMul", got, shape)
			checkClose(t, "MatMul", got.Data(), want, 1e-5)
		})
	}
}

func TestMatMulHandValues(t *testing.T) {
	ctx := context.Background()
	a := mk(t, []int{2, 3}, []float32{1, 2, 3, 4, 5, 6})
	b := mk(t, []int{3, 2}, []float32{7, 8, 9, 10, 11, 12})
	dst := mk[float32](t, []int{2, 2}, []float32{9, 9, 9, 9}) // overwritten, not accumulated
	got, err := f32().MatMul(ctx, a, b, dst)
	if err != nil {
		t.Fatal(err)
	}
	if got != dst {
		t.Fatalf("MatMul with dst returned a different tensor")
	}
	want := []float32{58, 64, 139, 154}
	for i, w := range want {
		if got.Data()[i] != w {
			t.Fatalf("MatMul: got %v, want %v", got.Data(), want)
		}
	}
}

// TestMatMulTypes covers the float64, reduced-float and integer kernels.
func TestMatMulTypes(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(15, 16))
	as, bs := []int{2, 1, 3, 5}, []int{4, 5, 2}
	ad, bd := make([]float64, 30), make([]float64, 40)
	for i := range ad {
		ad[i] = float64(rng.IntN(7) - 3)
	}
	for i := range bd {
		bd[i] = float64(rng.IntN(7) - 3)
	}
	want, shape := refMatMul(as, ad, bs, bd)
	check := func(name string, got []float64, gotShape []int) {
		t.Helper()
		if !tensor.SameShape(gotShape, shape) {
			t.Fatalf("%s: got shape %v, want %v", name, gotShape, shape)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: element %d: got %v, want %v", name, i, got[i], want[i])
			}
		}
	}
	t.Run("float64", func(t *testing.T) {
		g, err := f64().MatMul(ctx, mk(t, as, ad), mk(t, bs, bd))
		if err != nil {
			t.Fatal(err)
		}
		check("float64", g.Data(), g.Shape())
	})
	t.Run("bfloat16", func(t *testing.T) { testMatMulType(t, numeric.BFloat16Ops{}, as, ad, bs, bd, check) })
	t.Run("float16", func(t *testing.T) { testMatMulType(t, numeric.Float16Ops{}, as, ad, bs, bd, check) })
	t.Run("int32", func(t *testing.T) { testMatMulType(t, numeric.Int32Ops{}, as, ad, bs, bd, check) })
	t.Run("int8", func(t *testing.T) { testMatMulType(t, numeric.Int8Ops{}, as, ad, bs, bd, check) })
}

func testMatMulType[T tensor.Numeric](t *testing.T, ops numeric.Arithmetic[T], as []int, ad []float64, bs []int, bd []float64, check func(string, []float64, []int)) {
	conv := func(x []float64) []T {
		r := make([]T, len(x))
		for i, v := range x {
			r[i] = ops.FromFloat64(v)
		}
		return r
	}
	g, err := NewCPUEngine[T](ops).MatMul(context.Background(), mk(t, as, conv(ad)), mk(t, bs, conv(bd)))
	if err != nil {
		t.Fatal(err)
	}
	got := make([]float64, g.Size())
	for i, v := range g.Data() {
		got[i] = ops.ToFloat64(v)
	}
	check(numeric.DTypeOf[T]().String(), got, g.Shape())
}

func TestMatMulErrors(t *testing.T) {
	ctx := context.Background()
	e := f32()
	z := func(s ...int) *tensor.Tensor[float32] { return mk[float32](t, s, nil) }
	tests := []struct {
		name string
		a, b *tensor.Tensor[float32]
		dst  []*tensor.Tensor[float32]
	}{
		{"inner mismatch", z(2, 3), z(4, 2), nil},
		{"vector mismatch", z(3), z(4), nil},
		{"batch mismatch", z(2, 3, 4), z(3, 4, 5), nil},
		{"scalar operand", tensor.Scalar[float32](1), z(2, 2), nil},
		{"nil operand", nil, z(2, 2), nil},
		{"wrong dst", z(2, 3), z(3, 4), []*tensor.Tensor[float32]{z(4, 2)}},
	}
	for _, tc := range tests {
		_, err := e.MatMul(ctx, tc.a, tc.b, tc.dst...)
		wantErr(t, "MatMul "+tc.name, err, tensor.ErrShape)
	}
}

func TestTranspose(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(17, 18))
	e := f32()
	tests := []struct {
		shape, perm []int
	}{
		{[]int{2, 3}, nil},
		{[]int{2, 3, 4}, nil},
		{[]int{2, 3, 4}, []int{0, 2, 1}},
		{[]int{2, 3, 4, 5}, []int{0, 2, 1, 3}}, // heads swap: contiguous inner
		{[]int{2, 3, 4}, []int{1, 2, 0}},
		{[]int{2, 3, 4}, []int{0, 1, 2}},
		{[]int{1, 5, 1}, []int{2, 0, 1}},
		{[]int{200, 300}, []int{1, 0}},
		{[]int{}, []int{}},
		{[]int{3, 0}, nil},
	}
	for _, tc := range tests {
		a := randF32(t, rng, tc.shape...)
		got, err := e.Transpose(ctx, a, tc.perm)
		if err != nil {
			t.Fatalf("Transpose(%v, %v): %v", tc.shape, tc.perm, err)
		}
		perm := tc.perm
		if perm == nil {
			perm = make([]int, len(tc.shape))
			for i := range perm {
				perm[i] = len(tc.shape) - 1 - i
			}
		}
		outShape := make([]int, len(perm))
		for i, p := range perm {
			outShape[i] = tc.shape[p]
		}
		checkShape(t, "Transpose", got, outShape)
		// got[idx] == a[idx permuted back] for every element.
		for i, v := range got.Data() {
			oi := refIndex(i, outShape)
			si := make([]int, len(perm))
			for k, p := range perm {
				si[p] = oi[k]
			}
			w, err := a.At(si...)
			if err != nil {
				t.Fatal(err)
			}
			if v != w {
				t.Fatalf("Transpose(%v, %v) at %v: got %v, want %v", tc.shape, tc.perm, oi, v, w)
			}
		}
	}
	a := mk[float32](t, []int{2, 3}, nil)
	for _, perm := range [][]int{{0}, {0, 0}, {0, 2}, {-1, 0}} {
		_, err := e.Transpose(ctx, a, perm)
		if err == nil {
			t.Fatalf("Transpose with perm %v: got nil error", perm)
		}
	}
	_, err := e.Transpose(ctx, a, []int{0, 0})
	wantErr(t, "Transpose with repeated axis", err, tensor.ErrIndex)
	_, err = e.Transpose(ctx, a, []int{1, 0}, a)
	wantErr(t, "Transpose into untransposed shape", err, tensor.ErrShape)
}
