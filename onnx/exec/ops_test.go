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
