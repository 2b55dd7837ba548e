package training

import (
	"errors"
	"math"
	"testing"

	"github.com/zerfoo/zerfoo/graph"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

func params32(t *testing.T, grads ...[]float32) []*graph.Parameter[float32] {
	t.Helper()
	var ps []*graph.Parameter[float32]
	for i, g := range grads {
		p, err := graph.NewParameter(string(rune('a'+i)), tensor.Must(tensor.New[float32]([]int{len(g)}, nil)))
		if err != nil {
			t.Fatal(err)
		}
		copy(p.Gradient.Data(), g)
		ps = append(ps, p)
	}
	return ps
}

// TestClipGradNorm: gradients (3, 4) and (12) have global norm 13.
func TestClipGradNorm(t *testing.T) {
	cases := []struct {
		maxNorm float64
		want    [][]float32 // gradients after clipping
	}{
		{26, [][]float32{{3, 4}, {12}}}, // factor 2 > 1: unchanged
		{13, [][]float32{{3, 4}, {12}}}, // 13/(13+1e-6) < 1: scaled by 1−7.7e-8
		{6.5, [][]float32{{1.5, 2}, {6}}},
		{1.3, [][]float32{{0.3, 0.4}, {1.2}}},
	}
	for _, c := range cases {
		ps := params32(t, []float32{3, 4}, []float32{12})
		total, err := ClipGradNorm(ps, nil, c.maxNorm)
		if err != nil {
			t.Fatal(err)
		}
		if total != 13 {
			t.Errorf("max %v: total norm got %v, want 13", c.maxNorm, total)
		}
		for i, p := range ps {
			for j, got := range p.Gradient.Data() {
				if want := c.want[i][j]; math.Abs(float64(got-want)) > 1e-6*math.Abs(float64(want)) {
					t.Errorf("max %v: gradient %d[%d]: got %v, want %v", c.maxNorm, i, j, got, want)
				}
			}
		}
		n, _ := GradNorm(ps, nil)
		if n > c.maxNorm*(1+1e-6) {
			t.Errorf("max %v: norm after clipping %v", c.maxNorm, n)
		}
	}
}

func TestClipGradNormEdges(t *testing.T) {
	if _, err := ClipGradNorm(params32(t, []float32{1}), nil, 0); !errors.Is(err, graph.ErrInput) {
		t.Errorf("max norm 0: got %v, want graph.ErrInput", err)
	}
	ps := params32(t, []float32{float32(math.Inf(1)), 1})
	if total, err := ClipGradNorm(ps, nil, 1); !errors.Is(err, graph.ErrInput) || !math.IsInf(total, 1) {
		t.Errorf("infinite gradient: got %v, %v; want +Inf and graph.ErrInput", total, err)
	}
	if ps[0].Gradient.Data()[1] != 1 {
		t.Errorf("infinite gradient: gradients were changed")
	}
	// Float16 parameters go through ops: (0.6, 0.8) has norm 1; clip to 0.5.
	p, _ := graph.NewParameter("h", tensor.Must(tensor.New[numeric.Float16]([]int{2}, nil)))
	ops := numeric.Float16Ops{}
	p.Gradient.Data()[0], p.Gradient.Data()[1] = ops.FromFloat64(0.6), ops.FromFloat64(0.8)
	total, err := ClipGradNorm([]*graph.Parameter[numeric.Float16]{p}, ops, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(total-1) > 1e-3 {
		t.Errorf("float16 norm: got %v, want ≈1", total)
	}
	if got := ops.ToFloat64(p.Gradient.Data()[0]); math.Abs(got-0.3) > 1e-3 {
		t.Errorf("float16 clipped gradient[0]: got %v, want ≈0.3", got)
	}
	if _, err := GradNorm([]*graph.Parameter[numeric.Float16]{p}, nil); !errors.Is(err, graph.ErrInput) {
		t.Errorf("float16 without ops: got %v, want graph.ErrInput", err)
	}
}
