package exec

import (
	"math"
	"testing"

	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/tensor"
)

// seqLossRef is the ONNX reference's loss (negativeloglikelihoodloss.py,
// softmaxcrossentropy.py) written as plain loops: x [n, c, inner] (already
// log-softmaxed for SoftmaxCrossEntropyLoss), target [n, inner].
func seqLossRef(x []float64, target []int64, w []float64, n, c, inner int, reduction string, ignore *int64) []float64 {
	loss := make([]float64, n*inner)
	var sum, wsum float64
	for b := 0; b < n; b++ {
		for d := 0; d < inner; d++ {
			t := target[b*inner+d]
			if ignore != nil && t == *ignore {
				continue
			}
			wt := 1.0
			if w != nil {
				wt = w[t]
			}
			loss[b*inner+d] = -x[(b*c+int(t))*inner+d] * wt
			sum += loss[b*inner+d]
			wsum += wt
		}
	}
	switch reduction {
	case "none":
		return loss
	case "sum":
		return []float64{sum}
	}
	return []float64{sum / wsum}
}

func TestLosses(t *testing.T) {
	r := rnd(6)
	type lcase struct {
		name      string
		shape     []int // input shape [N, C, d...]
		reduction string
		weight    bool
		ignore    *int64
	}
	ii := func(v int64) *int64 { return &v }
	cases := []lcase{
		{"NC_none", []int{3, 5}, "none", false, nil},
		{"NC_mean", []int{3, 5}, "mean", false, nil},
		{"NCd1_sum_weight", []int{2, 4, 3}, "sum", true, nil},
		{"NCd1_mean_weight_ii", []int{2, 4, 3}, "mean", true, ii(1)},
		{"NCd1d2_mean_ii", []int{2, 3, 2, 2}, "mean", false, ii(0)},
		{"NCd1d2d3_none_negative_ii", []int{2, 3, 2, 1, 2}, "none", false, ii(-5)},
		{"NCd1d2_sum_weight_high_ii", []int{2, 3, 2, 3}, "sum", true, ii(10)},
	}
	for _, op := range []string{"NegativeLogLikelihoodLoss", "SoftmaxCrossEntropyLoss"} {
		for _, c := range cases {
			t.Run(op+"/"+c.name, func(t *testing.T) {
				n, cl, inner := c.shape[0], c.shape[1], prod(c.shape[2:])
				xs := randF32(r, c.shape...)
				tshape := append([]int{n}, c.shape[2:]...)
				target := make([]int64, n*inner)
				for i := range target {
					target[i] = int64(r.IntN(cl))
					if c.ignore != nil && i%3 == 1 {
						target[i] = *c.ignore
					}
				}
				ins := []in{x(xs), y(tensor.Must(tensor.New(tshape, target)))}
				var wv []float64
				if c.weight {
					wt := randF32(r, cl)
					for i, v := range wt.Data() {
						wt.Data()[i] = float32(math.Abs(float64(v))) + 0.1
					}
					ins = append(ins, inp("w", wt))
					wv = convSlice[float32, float64](wt.Data())
				}
				attrs := []onnx.Attr{at("reduction", c.reduction)}
				if c.ignore != nil {
					attrs = append(attrs, at("ignore_index", int(*c.ignore)))
				}
				xv := convSlice[float32, float64](xs.Data())
				outs := f32Out
				if op == "SoftmaxCrossEntropyLoss" {
					xv = seqLogSoftmaxRef(xv, n, cl, inner)
					outs = []out{{"z", onnx.Float32}, {"lp", onnx.Float32}}
				}
				res, err := runSeqNode(t, op, "", 13, ins, outs, attrs...)
				if err != nil {
					t.Fatal(err)
				}
				want := seqLossRef(xv, target, wv, n, cl, inner, c.reduction, c.ignore)
				ws := []int{}
				if c.reduction == "none" {
					ws = tshape
				}
				seqClose(t, "loss", res["z"], want, ws, 1e-5, 1e-6)
				if op == "SoftmaxCrossEntropyLoss" {
					seqClose(t, "log_prob", res["lp"], xv, c.shape, 1e-5, 1e-6)
				}
			})
		}
	}
	xs := randF32(r, 2, 3)
	_, err := runSeqNode(t, "NegativeLogLikelihoodLoss", "", 13, []in{x(xs), y(i64s([]int{2}, 0, 3))}, f32Out)
	seqRunErr(t, err, "target 3 of 3 classes", tensor.ErrShape)
	_, err = runSeqNode(t, "NegativeLogLikelihoodLoss", "", 13, []in{x(xs), y(i64s([]int{3}, 0, 1, 2))}, f32Out)
	seqRunErr(t, err, "target of the wrong shape", tensor.ErrShape)
	_, err = runSeqNode(t, "SoftmaxCrossEntropyLoss", "", 13, []in{x(xs), y(i64s([]int{2}, 0, 1))}, f32Out, at("reduction", "max"))
	seqAttrErr(t, err, "reduction max")
	_, err = runSeqNode(t, "SoftmaxCrossEntropyLoss", "", 13, []in{x(xs), y(i64s([]int{2}, 0, 1)), inp("w", randF32(r, 2))}, f32Out)
	seqRunErr(t, err, "weight of 2 for 3 classes", tensor.ErrShape)
}

func seqLogSoftmaxRef(x []float64, n, c, inner int) []float64 {
	y := make([]float64, len(x))
	for b := 0; b < n; b++ {
		for d := 0; d < inner; d++ {
			s := 0.0
			for k := 0; k < c; k++ {
				s += math.Exp(x[(b*c+k)*inner+d])
			}
			for k := 0; k < c; k++ {
				y[(b*c+k)*inner+d] = x[(b*c+k)*inner+d] - math.Log(s)
			}
		}
	}
	return y
}
