package exec

import (
	"math"
	"slices"
	"testing"

	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/tensor"
)

// seqMoments returns the mean and standard deviation of v.
func seqMoments(v []float64) (mean, std float64) {
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	for _, x := range v {
		std += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(std / float64(len(v)))
}

func TestRandom(t *testing.T) {
	const n = 20000
	for _, c := range []struct {
		name      string
		op        string
		ins       []in
		attrs     []onnx.Attr
		typ       onnx.DataType
		shape     []int
		lo, hi    float64 // uniform range, or mean and std for normal
		normal    bool
		withinTol float64
	}{
		{"uniform", "RandomUniform", nil, []onnx.Attr{at("shape", []int64{n}), at("low", -2.0), at("high", 3.0), at("seed", 1.5)}, onnx.Float32, []int{n}, -2, 3, false, 0.05},
		{"uniform_f64_2d", "RandomUniform", nil, []onnx.Attr{at("shape", []int64{100, n / 100}), at("dtype", int(onnx.Float64)), at("seed", 2.0)}, onnx.Float64, []int{100, n / 100}, 0, 1, false, 0.01},
		{"normal", "RandomNormal", nil, []onnx.Attr{at("shape", []int64{n}), at("mean", 1.0), at("scale", 2.0), at("seed", 3.0)}, onnx.Float32, []int{n}, 1, 2, true, 0.05},
		{"uniform_like", "RandomUniformLike", []in{x(randF16(rnd(1), 4, n/4))}, []onnx.Attr{at("seed", 4.0)}, onnx.Float16, []int{4, n / 4}, 0, 1, false, 0.01},
		{"normal_like_dtype", "RandomNormalLike", []in{x(i64s([]int{n}, make([]int64, n)...))}, []onnx.Attr{at("dtype", int(onnx.Float32)), at("seed", 5.0)}, onnx.Float32, []int{n}, 0, 1, true, 0.05},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := []out{{"z", c.typ}}
			res, err := runSeqNode(t, c.op, "", 17, c.ins, o, c.attrs...)
			if err != nil {
				t.Fatal(err)
			}
			z := res["z"]
			if !slices.Equal(z.Shape(), c.shape) {
				t.Fatalf("shape %v, want %v", z.Shape(), c.shape)
			}
			v, err := f64vals(z)
			if err != nil {
				t.Fatal(err)
			}
			mean, std := seqMoments(v)
			if c.normal {
				if math.Abs(mean-c.lo) > c.withinTol || math.Abs(std-c.hi) > c.withinTol {
					t.Errorf("mean %g std %g, want %g and %g", mean, std, c.lo, c.hi)
				}
			} else {
				lo, hi := slices.Min(v), slices.Max(v)
				if lo < c.lo || hi > c.hi || math.Abs(mean-(c.lo+c.hi)/2) > c.withinTol*(c.hi-c.lo) {
					t.Errorf("values in [%g, %g] with mean %g, want within [%g, %g) around %g", lo, hi, mean, c.lo, c.hi, (c.lo+c.hi)/2)
				}
			}
			again, err := runSeqNode(t, c.op, "", 17, c.ins, o, c.attrs...)
			if err != nil {
				t.Fatal(err)
			}
			w, _ := f64vals(again["z"])
			if !slices.Equal(v, w) {
				t.Errorf("two runs with one seed differ")
			}
		})
	}
	_, err := runSeqNode(t, "RandomUniform", "", 17, nil, f32Out)
	seqAttrErr(t, err, "RandomUniform without shape")
	_, err = runSeqNode(t, "RandomNormal", "", 17, nil, f32Out, at("shape", []int64{2}), at("dtype", int(onnx.Int32)))
	seqAttrErr(t, err, "RandomNormal of int32")
	_, err = runSeqNode(t, "RandomUniformLike", "", 17, []in{x(i64s([]int{2}, 1, 2))}, f32Out)
	seqRunErr(t, err, "RandomUniformLike of int64 without dtype", ErrInput)
}

func TestBernoulli(t *testing.T) {
	p := make([]float32, 4000)
	for i := range p {
		p[i] = []float32{0, 1, 0.25, 0.5}[i%4]
	}
	pt := seqF32([]int{1000, 4}, p...)
	for _, c := range []struct {
		name string
		typ  onnx.DataType
		dt   numeric.DType
	}{{"float", onnx.Float32, numeric.Float32}, {"double", onnx.Float64, numeric.Float64}, {"bool", onnx.Bool, numeric.Uint8}, {"int32", onnx.Int32, numeric.Int32}} {
		t.Run(c.name, func(t *testing.T) {
			attrs := []onnx.Attr{at("seed", 7.0)}
			if c.typ != onnx.Float32 {
				attrs = append(attrs, at("dtype", int(c.typ)))
			}
			res, err := runSeqNode(t, "Bernoulli", "", 15, []in{x(pt)}, []out{{"z", c.typ}}, attrs...)
			if err != nil {
				t.Fatal(err)
			}
			z := res["z"]
			if z.DType() != c.dt || !slices.Equal(z.Shape(), []int{1000, 4}) {
				t.Fatalf("got %s%v, want %s[1000 4]", z.DType(), z.Shape(), c.dt)
			}
			var v []float64
			if iv, err := ints(z); err == nil {
				v = convSlice[int64, float64](iv)
			} else if v, err = f64vals(z); err != nil {
				t.Fatal(err)
			}
			var sums [4]float64
			for i, e := range v {
				if e != 0 && e != 1 {
					t.Fatalf("value %g at %d, want 0 or 1", e, i)
				}
				sums[i%4] += e
			}
			if sums[0] != 0 || sums[1] != 1000 || math.Abs(sums[2]/1000-0.25) > 0.05 || math.Abs(sums[3]/1000-0.5) > 0.05 {
				t.Errorf("frequencies of ones %v per 1000, want 0, 1000, ≈250, ≈500", sums)
			}
		})
	}
	_, err := runSeqNode(t, "Bernoulli", "", 15, []in{x(seqF32([]int{2}, 0.5, 1.5))}, f32Out)
	seqRunErr(t, err, "probability 1.5", tensor.ErrShape)
}

func TestMultinomial(t *testing.T) {
	// row 0 always class 2; row 1 classes 0 and 1 equally likely, never 2
	logits := seqF32([]int{2, 3}, -50, -50, 10, 0, 0, float32(math.Inf(-1)))
	res, err := runSeqNode(t, "Multinomial", "", 17, []in{x(logits)}, i64Out, at("sample_size", 2000), at("dtype", int(onnx.Int64)), at("seed", 3.0))
	if err != nil {
		t.Fatal(err)
	}
	z := res["z"].(*tensor.Tensor[int64])
	if !slices.Equal(z.Shape(), []int{2, 2000}) {
		t.Fatalf("shape %v, want [2 2000]", z.Shape())
	}
	var counts [2][3]int
	for i, v := range z.Data() {
		counts[i/2000][v]++
	}
	if counts[0][2] != 2000 || counts[1][2] != 0 || counts[1][0] < 900 || counts[1][1] < 900 {
		t.Errorf("class counts %v, want row 0 all class 2, row 1 about 1000 each of 0 and 1", counts)
	}
	res, err = runSeqNode(t, "Multinomial", "", 17, []in{x(logits)}, []out{{"z", onnx.Int32}})
	if err != nil {
		t.Fatal(err)
	}
	if z := res["z"]; z.DType() != numeric.Int32 || !slices.Equal(z.Shape(), []int{2, 1}) {
		t.Errorf("default: got %s%v, want int32[2 1]", z.DType(), z.Shape())
	}
	_, err = runSeqNode(t, "Multinomial", "", 17, []in{x(logits)}, f32Out, at("dtype", int(onnx.Float32)))
	seqAttrErr(t, err, "Multinomial of float")
	_, err = runSeqNode(t, "Multinomial", "", 17, []in{x(logits)}, i64Out, at("sample_size", 0))
	seqAttrErr(t, err, "sample_size 0")
}
