package exec

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/budget"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/onnx/onnxpb"
	"github.com/zerfoo/zerfoo/tensor"
)

// runSingle compiles and runs a one-node model (node "n") of op with the
// given inputs (named x0, x1, ...; nil: absent) and outputs.
func runSingle(op string, opset int64, ins []tensor.Any, nout int, attrs []onnx.Attr, opts ...CompileOption) ([]tensor.Any, error) {
	var is []in
	for i, v := range ins {
		name := ""
		if v != nil {
			name = fmt.Sprintf("x%d", i)
		}
		typ := onnx.Undefined
		if v != nil {
			typ = map[numeric.DType]onnx.DataType{numeric.Uint16: onnx.Uint16, numeric.Uint32: onnx.Uint32, numeric.Uint64: onnx.Uint64}[v.DType()]
		}
		is = append(is, in{name: name, v: v, typ: typ})
	}
	var os []out
	for i := range nout {
		os = append(os, out{fmt.Sprintf("y%d", i), onnx.Float32})
	}
	b, feeds := single(op, "", opset, is, os, attrs...)()
	mp, err := b.Model()
	if err != nil {
		return nil, err
	}
	p, err := Compile(onnx.New(mp, onnx.ReadOptions{}), opts...)
	if err != nil {
		return nil, err
	}
	res, err := p.Run(context.Background(), feeds)
	if err != nil {
		return nil, err
	}
	var r []tensor.Any
	for i := range nout {
		r = append(r, res[fmt.Sprintf("y%d", i)])
	}
	return r, nil
}

func tt[T tensor.Numeric](shape []int, v ...T) tensor.Any {
	return tensor.Must(tensor.New(shape, v))
}

func vec[T tensor.Numeric](v ...T) tensor.Any { return tt([]int{len(v)}, v...) }

// TestOpSemantics checks the cases the node tests do not: integer
// semantics, ties, NaN, edge attributes.
func TestOpSemantics(t *testing.T) {
	nan := float32(math.NaN())
	cases := []struct {
		name  string
		op    string
		opset int64
		in    []tensor.Any
		attrs []onnx.Attr
		want  []string // String() of each output
	}{
		{"Mod python", "Mod", 13, []tensor.Any{vec[int32](-4, 7, 5, 4, -7, 8), vec[int32](2, -3, 8, -2, 3, 5)}, nil, []string{fmt.Sprint(vec[int32](0, -2, 5, 0, 2, 3))}},
		{"Mod fmod int", "Mod", 13, []tensor.Any{vec[int32](-4, 7, 5, 4, -7, 8), vec[int32](2, -3, 8, -2, 3, 5)}, []onnx.Attr{at("fmod", 1)}, []string{fmt.Sprint(vec[int32](0, 1, 5, 0, -1, 3))}},
		{"Mod min int8", "Mod", 13, []tensor.Any{vec[int8](-128, -128), vec[int8](-1, 3)}, nil, []string{fmt.Sprint(vec[int8](0, 1))}},
		{"Mod fmod float", "Mod", 13, []tensor.Any{vec[float32](-4.5, 7), vec[float32](2, -3)}, []onnx.Attr{at("fmod", 1)}, []string{fmt.Sprint(vec[float32](-0.5, 1))}},
		{"Round half even", "Round", 11, []tensor.Any{vec[float32](0.5, 1.5, 2.5, -0.5, -1.5, 2.4, nan)}, nil, []string{fmt.Sprint(vec[float32](0, 2, 2, float32(math.Copysign(0, -1)), -2, 2, nan))}},
		{"Sign int", "Sign", 13, []tensor.Any{vec[int32](-3, 0, 5)}, nil, []string{fmt.Sprint(vec[int32](-1, 0, 1))}},
		{"Sign float", "Sign", 13, []tensor.Any{vec[float32](-3, 0, 0.1, nan)}, nil, []string{fmt.Sprint(vec[float32](-1, 0, 1, nan))}},
		{"BitShift", "BitShift", 11, []tensor.Any{vec[uint8](16, 4, 1, 255), vec[uint8](1, 2, 8, 7)}, []onnx.Attr{at("direction", "LEFT")}, []string{fmt.Sprint(vec[uint8](32, 16, 0, 128))}},
		{"BitShift right", "BitShift", 11, []tensor.Any{vec[uint8](16, 4, 255), vec[uint8](1, 3, 9)}, []onnx.Attr{at("direction", "RIGHT")}, []string{fmt.Sprint(vec[uint8](8, 0, 0))}},
		{"Clip int8", "Clip", 13, []tensor.Any{vec[int8](-100, 0, 100), tt[int8](nil, -10), tt[int8](nil, 50)}, nil, []string{fmt.Sprint(vec[int8](-10, 0, 50))}},
		{"Clip max only", "Clip", 13, []tensor.Any{vec[float32](-100, 0, 100, nan), nil, tt[float32](nil, 50)}, nil, []string{fmt.Sprint(vec[float32](-100, 0, 50, nan))}},
		{"Clip 6", "Clip", 6, []tensor.Any{vec[float32](-100, 0, 100)}, []onnx.Attr{at("min", float32(-1)), at("max", float32(1))}, []string{fmt.Sprint(vec[float32](-1, 0, 1))}},
		{"Pow int exact", "Pow", 15, []tensor.Any{vec[int64](3, -2, 2), vec[int64](39, 3, -1)}, nil, []string{fmt.Sprint(vec[int64](4052555153018976267, -8, 0))}},
		{"Pow int float", "Pow", 15, []tensor.Any{vec[int32](2, 9), vec[float32](0.5, 0.5)}, nil, []string{fmt.Sprint(vec[int32](1, 3))}},
		{"Max int64 exact", "Max", 13, []tensor.Any{vec[int64](9007199254740993, -1), vec[int64](9007199254740992, -2)}, nil, []string{fmt.Sprint(vec[int64](9007199254740993, -1))}},
		{"Min NaN", "Min", 13, []tensor.Any{vec[float32](1, nan), vec[float32](nan, 1)}, nil, []string{fmt.Sprint(vec[float32](nan, nan))}},
		{"Sum 3", "Sum", 13, []tensor.Any{vec[float32](1, 2), tt[float32](nil, 10), vec[float32](100, 200)}, nil, []string{fmt.Sprint(vec[float32](111, 212))}},
		{"Mean bcast", "Mean", 13, []tensor.Any{vec[float32](1, 2), tt[float32]([]int{2, 1}, 3, 5)}, nil, []string{fmt.Sprint(tt[float32]([]int{2, 2}, 2, 2.5, 3, 3.5))}},
		{"IsInf neg", "IsInf", 10, []tensor.Any{vec[float32](float32(math.Inf(1)), float32(math.Inf(-1)), nan, 1)}, []onnx.Attr{at("detect_positive", 0)}, []string{fmt.Sprint(vec[uint8](0, 1, 0, 0))}},
		{"Shrink int", "Shrink", 9, []tensor.Any{vec[int32](-3, -1, 0, 1, 3)}, []onnx.Attr{at("lambd", float32(1.5)), at("bias", float32(1))}, []string{fmt.Sprint(vec[int32](-2, 0, 0, 0, 2))}},
		{"PRelu int", "PRelu", 16, []tensor.Any{tt[int32]([]int{2, 2}, -3, 4, -5, 6), vec[int32](2, 3)}, nil, []string{fmt.Sprint(tt[int32]([]int{2, 2}, -6, 4, -10, 6))}},
		{"Hardmax ties", "Hardmax", 13, []tensor.Any{tt[float32]([]int{2, 3}, 1, 3, 3, -1, -1, -2)}, nil, []string{fmt.Sprint(tt[float32]([]int{2, 3}, 0, 1, 0, 1, 0, 0))}},
		{"Hardmax float64", "Hardmax", 13, []tensor.Any{vec[float64](1, 1+1e-12, 1)}, nil, []string{fmt.Sprint(vec[float64](0, 1, 0))}},
		{"ArgMax last", "ArgMax", 13, []tensor.Any{tt[float32]([]int{2, 3}, 1, 3, 3, 2, 2, 1)}, []onnx.Attr{at("axis", 1), at("select_last_index", 1), at("keepdims", 0)}, []string{fmt.Sprint(vec[int64](2, 1))}},
		{"ArgMin first int", "ArgMin", 13, []tensor.Any{tt[int64]([]int{2, 2}, 5, 1, 1, 7)}, nil, []string{fmt.Sprint(tt[int64]([]int{1, 2}, 1, 0))}},
		{"TopK ties", "TopK", 11, []tensor.Any{vec[float32](1, 3, 3, 2), vec[int64](2)}, nil, []string{fmt.Sprint(vec[float32](3, 3)), fmt.Sprint(vec[int64](1, 2))}},
		{"TopK smallest NaN", "TopK", 11, []tensor.Any{vec[float32](nan, 3, 1, 2), vec[int64](4)}, []onnx.Attr{at("largest", 0)}, []string{fmt.Sprint(vec[float32](1, 2, 3, nan)), fmt.Sprint(vec[int64](2, 3, 1, 0))}},
		{"CumSum excl rev", "CumSum", 14, []tensor.Any{vec[int32](1, 2, 3, 4), tt[int64](nil, 0)}, []onnx.Attr{at("exclusive", 1), at("reverse", 1)}, []string{fmt.Sprint(vec[int32](9, 7, 4, 0))}},
		{"Unique unsorted", "Unique", 11, []tensor.Any{vec[int64](3, 1, 3, 2, 1)}, []onnx.Attr{at("sorted", 0)}, []string{fmt.Sprint(vec[int64](3, 1, 2)), fmt.Sprint(vec[int64](0, 1, 3)), fmt.Sprint(vec[int64](0, 1, 0, 2, 1)), fmt.Sprint(vec[int64](2, 2, 1))}},
		{"ScatterElements max", "ScatterElements", 18, []tensor.Any{vec[float32](1, 5, 3), vec[int64](0, 0, -1), vec[float32](4, 2, 1)}, []onnx.Attr{at("reduction", "max")}, []string{fmt.Sprint(vec[float32](4, 5, 3))}},
		{"ScatterND mul", "ScatterND", 16, []tensor.Any{tt[int32]([]int{2, 2}, 1, 2, 3, 4), tt[int64]([]int{2, 1}, 1, 1), tt[int32]([]int{2, 2}, 2, 3, 4, 5)}, []onnx.Attr{at("reduction", "mul")}, []string{fmt.Sprint(tt[int32]([]int{2, 2}, 1, 2, 24, 60))}},
		{"GatherND batch", "GatherND", 13, []tensor.Any{tt[int32]([]int{2, 2}, 1, 2, 3, 4), tt[int64]([]int{2, 1}, 1, -2)}, []onnx.Attr{at("batch_dims", 1)}, []string{fmt.Sprint(vec[int32](2, 3))}},
		{"OneHot out of range", "OneHot", 11, []tensor.Any{vec[int64](0, -1, 5), tt[float32](nil, 3), vec[float32](0, 1)}, []onnx.Attr{at("axis", 0)}, []string{fmt.Sprint(tt[float32]([]int{3, 3}, 1, 0, 0, 0, 0, 0, 0, 1, 0))}},
		{"Tile", "Tile", 13, []tensor.Any{tt[uint8]([]int{1, 2}, 1, 2), vec[int64](2, 2)}, nil, []string{fmt.Sprint(tt[uint8]([]int{2, 4}, 1, 2, 1, 2, 1, 2, 1, 2))}},
		{"Compress no axis", "Compress", 11, []tensor.Any{tt[float32]([]int{2, 2}, 1, 2, 3, 4), vec[uint8](0, 1, 0, 1)}, nil, []string{fmt.Sprint(vec[float32](2, 4))}},
		{"NonZero", "NonZero", 13, []tensor.Any{tt[int32]([]int{2, 2}, 0, 3, 4, 0)}, nil, []string{fmt.Sprint(tt[int64]([]int{2, 2}, 0, 1, 1, 0))}},
		{"EyeLike k", "EyeLike", 9, []tensor.Any{tt[int32]([]int{2, 3}, 0, 0, 0, 0, 0, 0)}, []onnx.Attr{at("k", -1)}, []string{fmt.Sprint(tt[int32]([]int{2, 3}, 0, 0, 0, 1, 0, 0))}},
		{"Det", "Det", 11, []tensor.Any{tt[float64]([]int{3, 3}, 0, 2, 1, 1, 1, 1, 2, 0, 3)}, nil, []string{fmt.Sprint(tt[float64](nil, -4))}},
		{"ReduceMax int64 exact", "ReduceMax", 18, []tensor.Any{vec[int64](9007199254740993, 9007199254740992)}, []onnx.Attr{at("keepdims", 0)}, []string{fmt.Sprint(tt[int64](nil, 9007199254740993))}},
		{"ReduceMin uint64", "ReduceMin", 13, []tensor.Any{vec[uint64](1<<63+1, 1<<63)}, []onnx.Attr{at("keepdims", 0)}, []string{fmt.Sprint(tt[uint64](nil, 1<<63))}},
		{"ReduceProd int64 exact", "ReduceProd", 13, []tensor.Any{vec[int64](3037000499, 3037000499)}, []onnx.Attr{at("keepdims", 0)}, []string{fmt.Sprint(tt[int64](nil, 9223372030926249001))}},
		{"ReduceSum float64", "ReduceSum", 13, []tensor.Any{vec[float64](1, 1e-12)}, []onnx.Attr{at("keepdims", 0)}, []string{fmt.Sprint(tt[float64](nil, 1+1e-12))}},
		{"ReduceLogSum axes input", "ReduceLogSum", 18, []tensor.Any{tt[float32]([]int{2, 2}, 1, 2, 3, 4), vec[int64](-1)}, nil, []string{fmt.Sprint(tt[float32]([]int{2, 1}, float32(math.Log(3)), float32(math.Log(7))))}},
		{"ReduceL1 noop", "ReduceL1", 18, []tensor.Any{vec[float32](-1, 2), vec[int64]()}, []onnx.Attr{at("noop_with_empty_axes", 1)}, []string{fmt.Sprint(vec[float32](-1, 2))}},
		{"ReduceL1 attr axes", "ReduceL1", 13, []tensor.Any{tt[int32]([]int{2, 2}, -1, 2, -3, 4)}, []onnx.Attr{at("axes", []int64{0}), at("keepdims", 0)}, []string{fmt.Sprint(vec[int32](4, 6))}},
		{"ReduceL2 int", "ReduceL2", 18, []tensor.Any{vec[int32](3, 4)}, []onnx.Attr{at("keepdims", 0)}, []string{fmt.Sprint(tt[int32](nil, 5))}},
		{"ReduceLogSumExp large", "ReduceLogSumExp", 13, []tensor.Any{vec[float32](1000, 1000)}, []onnx.Attr{at("keepdims", 0)}, []string{fmt.Sprint(tt[float32](nil, float32(1000+math.Ln2)))}},
		{"NMS center", "NonMaxSuppression", 11, []tensor.Any{
			tt[float32]([]int{1, 3, 4}, 0.5, 0.5, 1, 1, 0.5, 0.6, 1, 1, 5, 5, 1, 1),
			tt[float32]([]int{1, 1, 3}, 0.8, 0.9, 0.1),
			vec[int64](5), vec[float32](0.5), vec[float32](0.05),
		}, []onnx.Attr{at("center_point_box", 1)}, []string{fmt.Sprint(tt[int64]([]int{2, 3}, 0, 0, 1, 0, 0, 2))}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := runSingle(c.op, c.opset, c.in, len(c.want), c.attrs)
			if err != nil {
				t.Fatal(err)
			}
			for i, w := range c.want {
				if g := fmt.Sprint(got[i]); g != w {
					t.Errorf("%s%v output %d = %s, want %s", c.op, c.in, i, g, w)
				}
			}
		})
	}
}

// TestOpErrors checks that bad attributes, shapes and indices are errors
// naming the node, of the right kind, and never panics.
func TestOpErrors(t *testing.T) {
	small := budget.Limit(1 << 20)
	f := vec[float32](1, 2, 3)
	cases := []struct {
		name  string
		op    string
		opset int64
		in    []tensor.Any
		attrs []onnx.Attr
		want  error
		opts  []CompileOption
	}{
		{"Mod fmod", "Mod", 13, []tensor.Any{f, f}, []onnx.Attr{at("fmod", 2)}, ErrAttribute, nil},
		{"Mod float fmod 0", "Mod", 13, []tensor.Any{f, f}, nil, ErrInput, nil},
		{"Mod by zero", "Mod", 13, []tensor.Any{vec[int32](1), vec[int32](0)}, nil, ErrInput, nil},
		{"BitShift direction", "BitShift", 11, []tensor.Any{vec[uint8](1), vec[uint8](1)}, []onnx.Attr{at("direction", "UP")}, ErrAttribute, nil},
		{"BitShift signed", "BitShift", 11, []tensor.Any{vec[int32](1), vec[int32](1)}, []onnx.Attr{at("direction", "LEFT")}, ErrInput, nil},
		{"Clip bound shape", "Clip", 13, []tensor.Any{f, f}, nil, tensor.ErrShape, nil},
		{"PRelu slope", "PRelu", 16, []tensor.Any{f, tt[float32]([]int{2, 3}, 1, 2, 3, 4, 5, 6)}, nil, tensor.ErrShape, nil},
		{"GatherElements index", "GatherElements", 13, []tensor.Any{f, vec[int64](3)}, nil, tensor.ErrIndex, nil},
		{"GatherElements rank", "GatherElements", 13, []tensor.Any{f, tt[int64]([]int{1, 1}, 0)}, nil, tensor.ErrShape, nil},
		{"GatherND index", "GatherND", 13, []tensor.Any{f, tt[int64]([]int{1, 1}, -4)}, nil, tensor.ErrIndex, nil},
		{"GatherND tuple", "GatherND", 13, []tensor.Any{f, tt[int64]([]int{1, 2}, 0, 0)}, nil, tensor.ErrShape, nil},
		{"ScatterElements index", "ScatterElements", 16, []tensor.Any{f, vec[int64](7), vec[float32](1)}, nil, tensor.ErrIndex, nil},
		{"ScatterElements reduction", "ScatterElements", 16, []tensor.Any{f, vec[int64](0), vec[float32](1)}, []onnx.Attr{at("reduction", "avg")}, ErrAttribute, nil},
		{"ScatterND updates", "ScatterND", 16, []tensor.Any{f, tt[int64]([]int{1, 1}, 0), vec[float32](1, 2)}, nil, tensor.ErrShape, nil},
		{"ScatterND type", "ScatterND", 16, []tensor.Any{f, tt[int64]([]int{1, 1}, 0), vec[int32](1)}, nil, ErrInput, nil},
		{"Compress long", "Compress", 11, []tensor.Any{f, vec[uint8](0, 0, 0, 1)}, []onnx.Attr{at("axis", 0)}, tensor.ErrShape, nil},
		{"OneHot depth", "OneHot", 11, []tensor.Any{vec[int64](0), tt[int64](nil, 0), vec[float32](0, 1)}, nil, tensor.ErrShape, nil},
		{"OneHot budget", "OneHot", 11, []tensor.Any{vec[int64](0), tt[int64](nil, 1<<30), vec[float32](0, 1)}, nil, budget.ErrExceeded, []CompileOption{WithBudget(small)}},
		{"Tile negative", "Tile", 13, []tensor.Any{f, vec[int64](-1)}, nil, tensor.ErrShape, nil},
		{"Tile budget", "Tile", 13, []tensor.Any{f, vec[int64](1 << 30)}, nil, budget.ErrExceeded, []CompileOption{WithBudget(small)}},
		{"TopK k", "TopK", 11, []tensor.Any{f, vec[int64](4)}, nil, tensor.ErrShape, nil},
		{"ArgMax axis", "ArgMax", 13, []tensor.Any{f}, []onnx.Attr{at("axis", 1)}, tensor.ErrShape, nil},
		{"CumSum axis", "CumSum", 14, []tensor.Any{f, tt[int64](nil, 2)}, nil, tensor.ErrShape, nil},
		{"Unique axis", "Unique", 11, []tensor.Any{f}, []onnx.Attr{at("axis", 1)}, tensor.ErrShape, nil},
		{"ReverseSequence axes", "ReverseSequence", 10, []tensor.Any{tt[float32]([]int{1, 1}, 1), vec[int64](1)}, []onnx.Attr{at("batch_axis", 1), at("time_axis", 1)}, ErrAttribute, nil},
		{"ReverseSequence length", "ReverseSequence", 10, []tensor.Any{tt[float32]([]int{1, 1}, 1), vec[int64](2)}, nil, tensor.ErrShape, nil},
		{"EyeLike rank", "EyeLike", 9, []tensor.Any{f}, nil, tensor.ErrShape, nil},
		{"Einsum equation", "Einsum", 12, []tensor.Any{f}, []onnx.Attr{at("equation", "i,j->ij")}, ErrAttribute, nil},
		{"Einsum label", "Einsum", 12, []tensor.Any{f}, []onnx.Attr{at("equation", "i->j")}, ErrAttribute, nil},
		{"Einsum sizes", "Einsum", 12, []tensor.Any{f, vec[float32](1, 2)}, []onnx.Attr{at("equation", "i,i->")}, tensor.ErrShape, nil},
		{"Einsum rank", "Einsum", 12, []tensor.Any{f}, []onnx.Attr{at("equation", "ij->i")}, tensor.ErrShape, nil},
		{"Det shape", "Det", 11, []tensor.Any{f}, nil, tensor.ErrShape, nil},
		{"NMS shape", "NonMaxSuppression", 11, []tensor.Any{tt[float32]([]int{1, 1, 3}, 0, 0, 1), tt[float32]([]int{1, 1, 1}, 1)}, nil, tensor.ErrShape, nil},
		{"Celu alpha", "Celu", 12, []tensor.Any{f}, []onnx.Attr{at("alpha", float32(0))}, ErrAttribute, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := runSingle(c.op, c.opset, c.in, 1, c.attrs, c.opts...)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want an error wrapping %v", err, c.want)
			}
			if !strings.Contains(err.Error(), "node n ("+c.op+")") {
				t.Errorf("error %q does not name node n (%s)", err, c.op)
			}
		})
	}
}

// naiveEinsum evaluates an explicit equation (single-letter labels, no
// ellipsis) by summing over every assignment of the labels.
func naiveEinsum(eq string, ins []*tensor.Tensor[float64]) ([]int, []float64) {
	lhs, rhs, _ := strings.Cut(eq, "->")
	terms := strings.Split(lhs, ",")
	size := map[rune]int{}
	var all []rune
	for i, term := range terms {
		for d, c := range term {
			if _, ok := size[c]; !ok {
				all = append(all, c)
			}
			size[c] = ins[i].Shape()[d]
		}
	}
	var os []int
	for _, c := range rhs {
		os = append(os, size[c])
	}
	out := make([]float64, prod(os))
	val := map[rune]int{}
	var rec func(k int)
	rec = func(k int) {
		if k == len(all) {
			p := 1.0
			for i, term := range terms {
				off := 0
				for d, c := range term {
					off = off*ins[i].Shape()[d] + val[c]
				}
				p *= ins[i].Data()[off]
			}
			o := 0
			for j, c := range rhs {
				o = o*os[j] + val[c]
			}
			out[o] += p
			return
		}
		for v := range size[all[k]] {
			val[all[k]] = v
			rec(k + 1)
		}
	}
	rec(0)
	return os, out
}

// TestEinsum checks equations with diagonals, batch labels, sums and three
// inputs against a brute-force evaluation, and the implicit and ellipsis
// forms against their explicit equivalents.
func TestEinsum(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	dims := map[rune]int{'a': 2, 'b': 3, 'c': 4, 'd': 2, 'i': 3, 'j': 3, 'k': 2}
	mk := func(term string) *tensor.Tensor[float64] {
		var s []int
		for _, c := range term {
			s = append(s, dims[c])
		}
		v := make([]float64, prod(s))
		for i := range v {
			v[i] = float64(r.IntN(7) - 3)
		}
		return tensor.Must(tensor.New(s, v))
	}
	for _, eq := range []string{
		"ij->ji", "ii->i", "ii->", "iij->j", "abc,acd->abd", "ab,bc,cd->ad", "abc,cb->a", "ij,ij->", "ab,cd->abcd",
		"aib,bia->ab", "a,a,a->a", "abk,kc->abc", "ij,jk->ik",
	} {
		t.Run(eq, func(t *testing.T) {
			lhs, _, _ := strings.Cut(eq, "->")
			var ins []tensor.Any
			var fs []*tensor.Tensor[float64]
			for _, term := range strings.Split(lhs, ",") {
				x := mk(term)
				ins, fs = append(ins, x), append(fs, x)
			}
			got, err := runSingle("Einsum", 12, ins, 1, []onnx.Attr{at("equation", eq)})
			if err != nil {
				t.Fatal(err)
			}
			ws, w := naiveEinsum(eq, fs)
			g := got[0].(*tensor.Tensor[float64])
			if !slices.Equal(g.Shape(), ws) && !(len(ws) == 0 && g.Size() == 1) || !slices.Equal(g.Data(), w) {
				t.Errorf("Einsum %q = %v %v, want %v %v", eq, g.Shape(), g.Data(), ws, w)
			}
		})
	}
	pairs := []struct {
		eq, same string
		shapes   [][]int
		dup      bool // the explicit form gets input 1 repeated twice on dim 0
	}{
		{"ij,jk", "ij,jk->ik", [][]int{{2, 3}, {3, 4}}, false},
		{"ba", "ba->ab", [][]int{{2, 3}}, false},
		{"ii", "ii->", [][]int{{3, 3}}, false},
		{"...ij,...jk->...ik", "bij,bjk->bik", [][]int{{2, 2, 3}, {2, 3, 4}}, false},
		{"...ij,...jk", "bij,bjk->bik", [][]int{{2, 2, 3}, {2, 3, 4}}, false},
		{"...ij,jk->...ik", "abij,jk->abik", [][]int{{2, 2, 2, 3}, {3, 4}}, false},
		{"i...->...", "ibc->bc", [][]int{{3, 2, 4}}, false},
		{"...i,...i->...", "abi,bi->ab", [][]int{{2, 3, 4}, {3, 4}}, false},
		{"...i,...i->...", "abi,abi->ab", [][]int{{2, 3, 4}, {1, 3, 4}}, true},
	}
	for _, p := range pairs {
		t.Run(p.eq, func(t *testing.T) {
			var ins []tensor.Any
			for _, s := range p.shapes {
				v := make([]float64, prod(s))
				for i := range v {
					v[i] = float64(r.IntN(7) - 3)
				}
				ins = append(ins, tensor.Must(tensor.New(s, v)))
			}
			got, err := runSingle("Einsum", 12, ins, 1, []onnx.Attr{at("equation", p.eq)})
			if err != nil {
				t.Fatal(err)
			}
			want := ins
			if p.dup {
				x := ins[1].(*tensor.Tensor[float64])
				want = []tensor.Any{ins[0], tensor.Must(tensor.New(p.shapes[0], append(append([]float64(nil), x.Data()...), x.Data()...)))}
			}
			w, err := runSingle("Einsum", 12, want, 1, []onnx.Attr{at("equation", p.same)})
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got[0]) != fmt.Sprint(w[0]) {
				t.Errorf("Einsum %q = %v, want %v (as %q)", p.eq, got[0], w[0], p.same)
			}
		})
	}
}

// TestOpsNoPanic runs the kernels of the ops above on random small inputs
// (odd ranks, empty dims, mixed element types, absent inputs, indices and
// attributes in and out of range): each must return a result or an error.
func TestOpsNoPanic(t *testing.T) {
	ints := []int64{-3, -1, 0, 1, 2, 5, 1 << 40}
	attrs := map[string][]any{
		"axis": {int64(-2), int64(0), int64(1), int64(3)}, "keepdims": {int64(0), int64(1)},
		"select_last_index": {int64(1)}, "fmod": {int64(0), int64(1)}, "direction": {"LEFT", "RIGHT"},
		"exclusive": {int64(1)}, "reverse": {int64(1)}, "largest": {int64(0)}, "sorted": {int64(0)},
		"batch_dims": {int64(0), int64(1), int64(2)}, "reduction": {"add", "mul", "max", "min"},
		"batch_axis": {int64(0)}, "time_axis": {int64(1)}, "k": {int64(-1), int64(1)}, "dtype": {int64(onnx.Int32), int64(onnx.Bool)},
		"center_point_box": {int64(1)}, "equation": {"ij,jk->ik", "i,i", "...i->i", "ii->i", "ab...,b->...a", "i,j,k->ijk"},
		"min": {float32(-1)}, "max": {float32(1)}, "alpha": {float32(0.5)}, "noop_with_empty_axes": {int64(1)}, "axes": {[]int64{0}, []int64{-1, 1}},
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range attrs {
			if !yield(k) {
				return
			}
		}
	})
	rnd := func(r *rand.Rand, dt numeric.DType, lo, hi int, shape ...int) tensor.Any {
		v := make([]float64, prod(shape))
		for j := range v {
			v[j] = float64(lo + r.IntN(hi-lo+1))
		}
		x, err := cast(tensor.Must(tensor.New(shape, v)), dt, false)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	// shape-consistent inputs for the ops random shapes rarely fit
	special := map[string]func(r *rand.Rand, dt numeric.DType) []tensor.Any{
		"NonMaxSuppression": func(r *rand.Rand, dt numeric.DType) []tensor.Any {
			b, c, n := r.IntN(3), r.IntN(3), r.IntN(5)
			return []tensor.Any{rnd(r, numeric.Float32, -2, 2, b, n, 4), rnd(r, numeric.Float32, -1, 2, b, c, n),
				rnd(r, numeric.Int64, -1, 3, 1), rnd(r, numeric.Float32, 0, 1, 1), rnd(r, numeric.Float32, -1, 1)}
		},
		"Einsum": func(r *rand.Rand, dt numeric.DType) []tensor.Any {
			i, j, k := r.IntN(4), r.IntN(4), r.IntN(4)
			return []tensor.Any{rnd(r, dt, -2, 2, i, j), rnd(r, dt, -2, 2, j, k)} // ij,jk->ik (others error)
		},
		"ScatterElements": func(r *rand.Rand, dt numeric.DType) []tensor.Any {
			a, b := r.IntN(4), r.IntN(4)
			return []tensor.Any{rnd(r, dt, -2, 2, a, b), rnd(r, numeric.Int64, -4, 4, a, b), rnd(r, dt, -2, 2, a, b)}
		},
		"ScatterND": func(r *rand.Rand, dt numeric.DType) []tensor.Any {
			a, b, m := 1+r.IntN(3), r.IntN(4), r.IntN(3)
			shape := []int{a, b}
			return []tensor.Any{rnd(r, dt, -2, 2, shape...), rnd(r, numeric.Int64, -3, 3, 2, m), rnd(r, dt, -2, 2, append([]int{2}, shape[m:]...)...)}
		},
		"ReverseSequence": func(r *rand.Rand, dt numeric.DType) []tensor.Any {
			a, b := r.IntN(4), r.IntN(4)
			return []tensor.Any{rnd(r, dt, -2, 2, a, b, 2), rnd(r, numeric.Int64, -1, 4, []int{a, b}[r.IntN(2)])}
		},
	}
	special["Scatter"] = special["ScatterElements"]
	ops := []string{"Sign", "IsNaN", "IsInf", "Mod", "BitShift", "And", "Or", "Xor", "Sum", "Mean", "Clip", "CastLike",
		"Elu", "Selu", "Celu", "LeakyRelu", "ThresholdedRelu", "HardSigmoid", "HardSwish", "Shrink", "PRelu", "Hardmax",
		"ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceProd",
		"GatherElements", "GatherND", "Scatter", "ScatterElements", "ScatterND", "Compress", "NonZero", "OneHot", "Tile",
		"ReverseSequence", "EyeLike", "ArgMax", "ArgMin", "TopK", "Unique", "CumSum", "Einsum", "Det", "NonMaxSuppression", "Pow", "Max"}
	dts := []numeric.DType{numeric.Float32, numeric.Float16Type, numeric.Float64, numeric.Int64, numeric.Int32, numeric.Uint8, numeric.Uint64}
	r := rand.New(rand.NewPCG(3, 4))
	ctx := context.Background()
	ran := map[string]int{}
	for it := range 8000 {
		op := ops[it%len(ops)]
		opset := []int64{9, 11, 13, 18}[r.IntN(4)]
		build := lookup("", op, opset)
		if build == nil {
			continue
		}
		p := &onnxpb.NodeProto{OpType: &op}
		for _, a := range names {
			if r.IntN(4) == 0 {
				vs := attrs[a]
				ap, err := onnx.NewAttribute(a, vs[r.IntN(len(vs))])
				if err != nil {
					t.Fatal(err)
				}
				p.Attribute = append(p.Attribute, ap)
			}
		}
		if op == "Einsum" && r.IntN(2) == 0 {
			p.Attribute = nil // the equation the special inputs fit
			ap, _ := onnx.NewAttribute("equation", []string{"ij,jk->ik", "ij,jk", "ij,jk->", "ij,jk->ki"}[r.IntN(4)])
			p.Attribute = append(p.Attribute, ap)
		}
		main := dts[r.IntN(len(dts))]
		base := make([]int, r.IntN(4))
		for d := range base {
			base[d] = 1 + r.IntN(3)
		}
		var in []tensor.Any
		for range 1 + r.IntN(5) {
			if r.IntN(10) == 0 {
				in = append(in, nil)
				continue
			}
			dt := main
			if r.IntN(4) == 0 {
				dt = dts[r.IntN(len(dts))]
			}
			shape := base
			if r.IntN(3) == 0 {
				shape = make([]int, r.IntN(4))
				for d := range shape {
					shape[d] = r.IntN(4)
				}
			}
			v := make([]float64, prod(shape))
			for j := range v {
				v[j] = float64(ints[r.IntN(len(ints))])
				if r.IntN(3) != 0 {
					v[j] = float64(r.IntN(2))
				}
			}
			x, err := cast(tensor.Must(tensor.New(shape, v)), dt, false)
			if err != nil {
				t.Fatal(err)
			}
			in = append(in, x)
		}
		if sp := special[op]; sp != nil && r.IntN(2) == 0 {
			in = sp(r, main)
		}
		desc := fmt.Sprintf("%s opset %d %v inputs %v", op, opset, p.Attribute, in)
		func() {
			defer func() {
				if e := recover(); e != nil {
					t.Fatalf("panic %v: %s", e, desc)
				}
			}()
			k, err := build(&Node{Proto: p, Name: "n", Opset: opset})
			if err != nil {
				return
			}
			if _, err := k(ctx, in); err == nil {
				ran[op]++
			}
		}()
	}
	t.Logf("successful runs per op: %v", ran)
}

// TestEinsumEngine checks a float32 contraction large enough for the
// engine's MatMul against the float64 loop, with a diagonal and a summed
// label on the way.
func TestEinsumEngine(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	mk := func(s ...int) *tensor.Tensor[float32] {
		v := make([]float32, prod(s))
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		return tensor.Must(tensor.New(s, v))
	}
	eq := "bijj,bjkc->bki"
	a, b := mk(3, 20, 30, 30), mk(3, 30, 40, 2)
	got, err := runSingle("Einsum", 12, []tensor.Any{a, b}, 1, []onnx.Attr{at("equation", eq)})
	if err != nil {
		t.Fatal(err)
	}
	a64, _ := cast(a, numeric.Float64, false)
	b64, _ := cast(b, numeric.Float64, false)
	want, err := runSingle("Einsum", 12, []tensor.Any{a64, b64}, 1, []onnx.Attr{at("equation", eq)})
	if err != nil {
		t.Fatal(err)
	}
	g, w := got[0].(*tensor.Tensor[float32]), want[0].(*tensor.Tensor[float64])
	if !slices.Equal(g.Shape(), []int{3, 40, 20}) || !slices.Equal(w.Shape(), g.Shape()) {
		t.Fatalf("shapes %v and %v, want [3 40 20]", g.Shape(), w.Shape())
	}
	for i, v := range w.Data() {
		if d := math.Abs(float64(g.Data()[i]) - v); d > 1e-4*(1+math.Abs(v)) {
			t.Fatalf("element %d = %v, want %v", i, g.Data()[i], v)
		}
	}
}

// TestTopRanked checks the small-k selection of TopK against a full sort,
// on values with many ties.
func TestTopRanked(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	before := func(a, b ranked[int32]) int {
		if c := cmpT(b.v, a.v); c != 0 {
			return c
		}
		return a.i - b.i
	}
	for _, n := range []int{1, 9, 100, 1000} {
		lane := make([]ranked[int32], n)
		for i := range lane {
			lane[i] = ranked[int32]{int32(r.IntN(10)), i}
		}
		all := topRanked(nil, slices.Clone(lane), n, before)
		for _, k := range []int{0, 1, 2, n / 9, n / 8, n - 1} {
			if k > n {
				continue
			}
			if got := topRanked(nil, slices.Clone(lane), k, before); !slices.Equal(got, all[:k]) {
				t.Errorf("n %d k %d: got %v, want %v", n, k, got, all[:k])
			}
		}
	}
}
