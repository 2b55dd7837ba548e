package ops

import (
	"context"
	"errors"
	"math"
	"reflect"
	"testing"

	"github.com/zerfoo/zerfoo/compute"
	"github.com/zerfoo/zerfoo/graph"
	"github.com/zerfoo/zerfoo/graph/gradcheck"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

func eng() compute.Engine[float64] { return compute.NewCPUEngine[float64](numeric.Float64Ops{}) }

func ten(shape []int, data ...float64) *tensor.Tensor[float64] {
	return tensor.Must(tensor.New(shape, data))
}

// seq returns 0, 1, ..., n-1 as a tensor of the given shape.
func seq(shape ...int) *tensor.Tensor[float64] {
	t := tensor.Must(tensor.New[float64](shape, nil))
	for i := range t.Data() {
		t.Data()[i] = float64(i)
	}
	return t
}

func mustScatter(e compute.Engine[float64], idx ...int64) *ScatterAdd[float64] {
	n, err := NewScatterAdd(e, tensor.Must(tensor.New([]int{len(idx)}, idx)))
	if err != nil {
		panic(err)
	}
	return n
}

// TestForwardValues checks outputs against hand-computed values (the
// gradient checks only show Backward agrees with Forward).
func TestForwardValues(t *testing.T) {
	e := eng()
	idx := tensor.Must(tensor.New([]int{2}, []int64{-1, 0}))
	tests := []struct {
		name   string
		node   graph.Node[float64]
		inputs []*tensor.Tensor[float64]
		shape  []int
		want   []float64
	}{
		{"Add/broadcast", NewAdd(e), []*tensor.Tensor[float64]{seq(2, 2), ten([]int{2}, 10, 20)}, []int{2, 2}, []float64{10, 21, 12, 23}},
		{"Pow", NewPow(e), []*tensor.Tensor[float64]{ten([]int{2}, 2, 9), ten([]int{2}, 3, 0.5)}, []int{2}, []float64{8, 3}},
		{"Rsqrt", NewRsqrt(e), []*tensor.Tensor[float64]{ten([]int{2}, 4, 0.25)}, []int{2}, []float64{0.5, 2}},
		{"MatMul/vec-vec", NewMatMul(e), []*tensor.Tensor[float64]{ten([]int{3}, 1, 2, 3), ten([]int{3}, 4, 5, 6)}, []int{}, []float64{32}},
		{"MatMul/vec-mat", NewMatMul(e), []*tensor.Tensor[float64]{ten([]int{2}, 1, 2), seq(2, 3)}, []int{3}, []float64{6, 9, 12}},
		{"Transpose", NewTranspose(e, []int{1, 0}), []*tensor.Tensor[float64]{seq(2, 3)}, []int{3, 2}, []float64{0, 3, 1, 4, 2, 5}},
		{"ReduceSum/all", NewReduceSum[float64](e, nil, false), []*tensor.Tensor[float64]{seq(2, 3)}, []int{}, []float64{15}},
		{"ReduceMean/keep", NewReduceMean(e, []int{0}, true), []*tensor.Tensor[float64]{seq(2, 3)}, []int{1, 3}, []float64{1.5, 2.5, 3.5}},
		{"ReduceMax/axes", NewReduceMax(e, []int{-1, 0}, false), []*tensor.Tensor[float64]{ten([]int{2, 1, 2}, 1, 7, 3, -1)}, []int{1}, []float64{7}},
		{"Softmax", NewSoftmax(e, 0), []*tensor.Tensor[float64]{ten([]int{2}, 0, math.Log(3))}, []int{2}, []float64{0.25, 0.75}},
		{"LogSoftmax", NewLogSoftmax(e, -1), []*tensor.Tensor[float64]{ten([]int{2}, 0, 0)}, []int{2}, []float64{-math.Ln2, -math.Ln2}},
		{"Gather/axis1", NewGather(e, idx, 1), []*tensor.Tensor[float64]{seq(2, 3)}, []int{2, 2}, []float64{2, 0, 5, 3}},
		{"Concat", NewConcat[float64](e, -1), []*tensor.Tensor[float64]{seq(2, 1), ten([]int{2, 2}, 7, 8, 9, 10)}, []int{2, 3}, []float64{0, 7, 8, 1, 9, 10}},
		{"Split", NewSplit[float64](e, 0, []int{1, 2}, 1), []*tensor.Tensor[float64]{seq(3, 2)}, []int{2, 2}, []float64{2, 3, 4, 5}},
		{"Slice/negative", NewSlice[float64](e, []int{-2}, []int{math.MaxInt}, []int{1}), []*tensor.Tensor[float64]{seq(2, 3)}, []int{2, 2}, []float64{1, 2, 4, 5}},
		{"Slice/clamped", NewSlice[float64](e, []int{-10, 1}, []int{1, 10}, nil), []*tensor.Tensor[float64]{seq(2, 3)}, []int{1, 2}, []float64{1, 2}},
		{"ScatterAdd", mustScatter(e, 2, 0, 2), []*tensor.Tensor[float64]{seq(3, 1), ten([]int{3, 1}, 10, 20, 30)}, []int{3, 1}, []float64{20, 1, 42}},
		{"MulScalar", NewMulScalar(e, 3.0), []*tensor.Tensor[float64]{seq(2)}, []int{2}, []float64{0, 3}},
		{"AddScalar", NewAddScalar(e, 3.0), []*tensor.Tensor[float64]{seq(2)}, []int{2}, []float64{3, 4}},
		{"Reshape/zero", NewReshape[float64](e, []int{0, -1}), []*tensor.Tensor[float64]{seq(2, 3, 1)}, []int{2, 3}, []float64{0, 1, 2, 3, 4, 5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			y, err := tc.node.Forward(context.Background(), tc.inputs...)
			if err != nil {
				t.Fatal(err)
			}
			if !tensor.SameShape(y.Shape(), tc.shape) {
				t.Fatalf("got shape %v, want %v", y.Shape(), tc.shape)
			}
			for i, w := range tc.want {
				if got := y.Data()[i]; math.Abs(got-w) > 1e-12 {
					t.Fatalf("got %v, want %v", y.Data(), tc.want)
				}
			}
		})
	}
}

// TestBackwardValues checks a few gradients by hand, including ReduceMax
// ties (split equally) and Gather repeated indices (accumulated).
func TestBackwardValues(t *testing.T) {
	e := eng()
	idx := tensor.Must(tensor.New([]int{3}, []int64{1, 1, -3}))
	tests := []struct {
		name   string
		node   graph.Node[float64]
		inputs []*tensor.Tensor[float64]
		g      *tensor.Tensor[float64]
		want   [][]float64
	}{
		{"ReduceMax/tie", NewReduceMax(e, []int{1}, false), []*tensor.Tensor[float64]{ten([]int{2, 3}, 5, 1, 5, 0, 2, 1)}, ten([]int{2}, 1, 3),
			[][]float64{{0.5, 0, 0.5, 0, 3, 0}}},
		{"Gather/repeat", NewGather(e, idx, 0), []*tensor.Tensor[float64]{seq(3)}, ten([]int{3}, 1, 2, 4),
			[][]float64{{4, 3, 0}}},
		{"Add/broadcast", NewAdd(e), []*tensor.Tensor[float64]{seq(2, 2), ten([]int{2}, 10, 20)}, ten([]int{2, 2}, 1, 2, 3, 4),
			[][]float64{{1, 2, 3, 4}, {4, 6}}},
		{"Pow/zero base", NewPow(e), []*tensor.Tensor[float64]{ten([]int{1}, 0)}, ten([]int{1}, 1), nil},
	}
	tests[3].inputs = append(tests[3].inputs, ten([]int{1}, 2))
	tests[3].want = [][]float64{{0}, {0}} // d(0²)/da = 0; d/db taken as 0 at a = 0
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			gs, err := tc.node.Backward(context.Background(), tc.g, tc.inputs...)
			if err != nil {
				t.Fatal(err)
			}
			for i, w := range tc.want {
				if !reflect.DeepEqual(gs[i].Data(), w) {
					t.Fatalf("gradient %d: got %v, want %v", i, gs[i].Data(), w)
				}
			}
		})
	}
}

// TestGatherMixed checks the MixedNode form of Gather (indices as an int64
// input) through gradcheck.CheckFunc.
func TestGatherMixed(t *testing.T) {
	e := eng()
	n := NewGather[float64](e, nil, 1)
	idx := tensor.Must(tensor.New([]int{2, 2}, []int64{0, 2, 2, -1}))
	if got, want := n.InputDTypes(), []numeric.DType{numeric.Float64, numeric.Int64}; !reflect.DeepEqual(got, want) {
		t.Fatalf("InputDTypes() = %v, want %v", got, want)
	}
	f := gradcheck.Func[float64]{
		Forward: func(ctx context.Context, in ...*tensor.Tensor[float64]) (*tensor.Tensor[float64], error) {
			return n.ForwardAny(ctx, in[0], idx)
		},
		Backward: func(ctx context.Context, g *tensor.Tensor[float64], in ...*tensor.Tensor[float64]) ([]*tensor.Tensor[float64], error) {
			gs, err := n.BackwardAny(ctx, g, in[0], idx)
			if err != nil {
				return nil, err
			}
			if len(gs) != 2 || gs[1] != nil {
				t.Errorf("BackwardAny returned %d gradients (indices gradient %v), want 2 with nil for indices", len(gs), gs)
			}
			return gs[:1], nil
		},
	}
	p := seq(2, 3, 2)
	if err := gradcheck.CheckFunc(context.Background(), f, []*tensor.Tensor[float64]{p}, nil, gradcheck.Options{}); err != nil {
		t.Fatal(err)
	}
	got, err := n.InferShape([]int{2, 3, 2}, []int{2, 2})
	if want := []int{2, 2, 2, 2}; err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("InferShape = %v, %v; want %v", got, err, want)
	}
	if _, err := n.Forward(context.Background(), p); !errors.Is(err, graph.ErrInput) {
		t.Fatalf("Forward on the mixed form: got %v, want graph.ErrInput", err)
	}
	if _, err := n.ForwardAny(context.Background(), p, p); !errors.Is(err, graph.ErrDType) {
		t.Fatalf("ForwardAny with float indices: got %v, want graph.ErrDType", err)
	}
}

func TestErrors(t *testing.T) {
	e := eng()
	ctx := context.Background()
	a, b := seq(2, 3), seq(3, 2)
	bad := tensor.Must(tensor.New([]int{1}, []int64{5}))
	fwd := []struct {
		name   string
		node   graph.Node[float64]
		inputs []*tensor.Tensor[float64]
		want   error
	}{
		{"Add/one input", NewAdd(e), []*tensor.Tensor[float64]{a}, graph.ErrArity},
		{"Add/nil input", NewAdd(e), []*tensor.Tensor[float64]{a, nil}, graph.ErrInput},
		{"Add/no broadcast", NewAdd(e), []*tensor.Tensor[float64]{a, b}, tensor.ErrShape},
		{"Exp/two inputs", NewExp(e), []*tensor.Tensor[float64]{a, a}, graph.ErrArity},
		{"MatMul/inner", NewMatMul(e), []*tensor.Tensor[float64]{a, a}, tensor.ErrShape},
		{"MatMul/scalar", NewMatMul(e), []*tensor.Tensor[float64]{tensor.Scalar(1.0), a}, tensor.ErrShape},
		{"Transpose/perm", NewTranspose(e, []int{0, 0}), []*tensor.Tensor[float64]{a}, tensor.ErrIndex},
		{"ReduceSum/axis", NewReduceSum(e, []int{2}, false), []*tensor.Tensor[float64]{a}, tensor.ErrIndex},
		{"Softmax/axis", NewSoftmax(e, -3), []*tensor.Tensor[float64]{a}, tensor.ErrIndex},
		{"Gather/index", NewGather(e, bad, 0), []*tensor.Tensor[float64]{a}, tensor.ErrIndex},
		{"Concat/shapes", NewConcat[float64](e, 0), []*tensor.Tensor[float64]{a, b}, tensor.ErrShape},
		{"Concat/none", NewConcat[float64](e, 0), nil, graph.ErrArity},
		{"Split/sizes", NewSplit[float64](e, 0, []int{1, 2}, 0), []*tensor.Tensor[float64]{a}, tensor.ErrShape},
		{"Split/index", NewSplit[float64](e, 0, []int{1, 1}, 2), []*tensor.Tensor[float64]{a}, tensor.ErrIndex},
		{"Slice/lengths", NewSlice[float64](e, []int{0}, []int{1, 2}, nil), []*tensor.Tensor[float64]{a}, tensor.ErrShape},
		{"ScatterAdd/index", mustScatter(e, 3), []*tensor.Tensor[float64]{seq(3, 1), seq(1, 1)}, tensor.ErrIndex},
		{"ScatterAdd/updates", mustScatter(e, 0), []*tensor.Tensor[float64]{seq(3, 2), seq(1, 1)}, tensor.ErrShape},
		{"Reshape/size", NewReshape[float64](e, []int{4, -1}), []*tensor.Tensor[float64]{a}, tensor.ErrShape},
	}
	for _, tc := range fwd {
		t.Run("Forward/"+tc.name, func(t *testing.T) {
			if _, err := tc.node.Forward(ctx, tc.inputs...); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want an error wrapping %v", err, tc.want)
			}
			if _, err := tc.node.Backward(ctx, a, tc.inputs...); !errors.Is(err, tc.want) {
				t.Fatalf("Backward: got %v, want an error wrapping %v", err, tc.want)
			}
		})
	}
	// A wrongly shaped or missing output gradient.
	for _, g := range []*tensor.Tensor[float64]{seq(3, 2), nil} {
		want := tensor.ErrShape
		if g == nil {
			want = graph.ErrInput
		}
		for _, n := range []graph.Node[float64]{NewAdd(e), NewExp(e), NewMatMul(e), NewReduceSum[float64](e, nil, false), NewSoftmax(e, -1)} {
			in := []*tensor.Tensor[float64]{a, a}
			if n.OpType() == "MatMul" {
				in[1] = b
			} else if n.OpType() != "Add" {
				in = in[:1]
			}
			if _, err := n.Backward(ctx, g, in...); !errors.Is(err, want) {
				t.Errorf("%s.Backward with gradient %v: got %v, want an error wrapping %v", n.OpType(), g, err, want)
			}
		}
	}
	if _, err := NewScatterAdd(e, tensor.Must(tensor.New([]int{1, 1}, []int64{0}))); !errors.Is(err, graph.ErrInput) {
		t.Errorf("NewScatterAdd with rank-2 indices: got %v, want an error wrapping graph.ErrInput", err)
	}
	if _, err := NewGelu(e, "erf"); !errors.Is(err, graph.ErrInput) {
		t.Errorf("NewGelu(\"erf\"): got %v, want an error wrapping graph.ErrInput", err)
	}
}

func TestInferShapeDynamic(t *testing.T) {
	e := eng()
	tests := []struct {
		name string
		node graph.ShapeInferer
		in   [][]int
		want []int
	}{
		{"Add/dynamic", NewAdd(e), [][]int{{-1, 3}, {4, 1, 1}}, []int{4, -1, 3}},
		{"Add/unknown rank", NewAdd(e), [][]int{nil, {3}}, nil},
		{"MatMul/dynamic batch", NewMatMul(e), [][]int{{-1, 2, 3}, {3, -1}}, []int{-1, 2, -1}},
		{"MatMul/vec", NewMatMul(e), [][]int{{3}, {2, 3, 4}}, []int{2, 4}},
		{"ReduceMean/dynamic", NewReduceMean(e, []int{-1}, false), [][]int{{-1, 5}}, []int{-1}},
		{"Concat/dynamic", NewConcat[float64](e, 0), [][]int{{-1, 3}, {2, -1}}, []int{-1, 3}},
		{"Split/dynamic", NewSplit[float64](e, 1, []int{2, 3}, 1), [][]int{{-1, -1}}, []int{-1, 3}},
		{"Slice/dynamic", NewSlice[float64](e, []int{0}, []int{2}, []int{1}), [][]int{{4, -1}}, []int{4, -1}},
		{"Reshape/dynamic", NewReshape[float64](e, []int{0, -1, 2}), [][]int{{-1, 6}}, []int{-1, -1, 2}},
		{"Reshape/unknown", NewReshape[float64](e, []int{3, 2}), [][]int{nil}, []int{3, 2}},
		{"Gather/dynamic", NewGather(e, tensor.Must(tensor.New([]int{4}, []int64{0, 1, 2, 3})), 0), [][]int{{-1, 8}}, []int{4, 8}},
		{"Transpose", NewTranspose(e, []int{1, 2, 0}), [][]int{{-1, 2, 3}}, []int{2, 3, -1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.node.InferShape(tc.in...)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("InferShape(%v) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestAttributes(t *testing.T) {
	e := eng()
	gelu, _ := NewGelu(e, "tanh")
	tests := []struct {
		node graph.Node[float64]
		op   string
		want map[string]any
	}{
		{gelu, "Gelu", map[string]any{"approximate": "tanh"}},
		{NewReduceSum(e, []int{1}, true), "ReduceSum", map[string]any{"axes": []int{1}, "keepdims": 1}},
		{NewReduceMax[float64](e, nil, false), "ReduceMax", map[string]any{"keepdims": 0}},
		{NewTranspose(e, []int{1, 0}), "Transpose", map[string]any{"perm": []int{1, 0}}},
		{NewSoftmax(e, -1), "Softmax", map[string]any{"axis": -1}},
		{NewSplit[float64](e, 0, []int{1, 2}, 1), "Split", map[string]any{"axis": 0, "split": []int{1, 2}, "index": 1}},
		{NewSlice[float64](e, []int{0}, []int{2}, []int{1}), "Slice", map[string]any{"starts": []int{0}, "ends": []int{2}, "axes": []int{1}}},
		{NewReshape[float64](e, []int{2, 3}), "Reshape", map[string]any{"shape": []int{2, 3}}},
		{NewSilu(e), "Silu", map[string]any{}},
	}
	for _, tc := range tests {
		if got := tc.node.OpType(); got != tc.op {
			t.Errorf("OpType() = %q, want %q", got, tc.op)
		}
		if got := tc.node.Attributes(); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s.Attributes() = %v, want %v", tc.op, got, tc.want)
		}
	}
	if got := NewReshape[float64](e, []int{2, 3}).OutputShape(); !reflect.DeepEqual(got, []int{2, 3}) {
		t.Errorf("Reshape OutputShape() = %v, want [2 3]", got)
	}
	if got := NewReshape[float64](e, []int{2, -1}).OutputShape(); got != nil {
		t.Errorf("Reshape{2,-1} OutputShape() = %v, want nil", got)
	}
}
