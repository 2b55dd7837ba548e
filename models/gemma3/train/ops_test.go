package train

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/zerfoo/zerfoo/graph"
	"github.com/zerfoo/zerfoo/graph/gradcheck"
	"github.com/zerfoo/zerfoo/tensor"
)

func randT(r *rand.Rand, std float64, shape ...int) *tensor.Tensor[float32] {
	n := 1
	for _, d := range shape {
		n *= d
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64() * std)
	}
	return tensor.Must(tensor.New(shape, v))
}

func newT(v []float32, shape ...int) *tensor.Tensor[float32] {
	return tensor.Must(tensor.New(shape, v))
}

// check runs gradcheck.CheckFunc with float32 tolerances.
func check(t *testing.T, name string, f gradcheck.Func[float32], inputs []*tensor.Tensor[float32], opt gradcheck.Options) {
	t.Helper()
	if err := gradcheck.CheckFunc(context.Background(), f, inputs, nil, opt); err != nil {
		t.Errorf("%s: %v", name, err)
	}
}

func TestGradLinear(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	const rows, n, k = 3, 5, 4
	w, _ := graph.NewParameter("w", randT(r, 1, n, k))
	f := gradcheck.Func[float32]{
		Forward: func(ctx context.Context, in ...*tensor.Tensor[float32]) (*tensor.Tensor[float32], error) {
			y := make([]float32, rows*n)
			return newT(y, rows, n), linearFwd(ctx, y, in[0].Data(), w.Value.Data(), rows, n, k)
		},
		Backward: func(ctx context.Context, dy *tensor.Tensor[float32], in ...*tensor.Tensor[float32]) ([]*tensor.Tensor[float32], error) {
			dx := make([]float32, rows*k)
			return []*tensor.Tensor[float32]{newT(dx, rows, k)}, linearBwd(ctx, dx, grad(w), dy.Data(), in[0].Data(), w.Value.Data(), rows, n, k)
		},
		Parameters: []*graph.Parameter[float32]{w},
	}
	check(t, "linear", f, []*tensor.Tensor[float32]{randT(r, 1, rows, k)}, gradcheck.Options{})
	_ = ctx
}

func TestGradRMSNorm(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const rows, n = 4, 6
	w, _ := graph.NewParameter("w", randT(r, 0.3, n))
	f := gradcheck.Func[float32]{
		Forward: func(ctx context.Context, in ...*tensor.Tensor[float32]) (*tensor.Tensor[float32], error) {
			y := make([]float32, rows*n)
			rmsFwd(y, in[0].Data(), w.Value.Data(), make([]float32, rows), n, 1e-6)
			return newT(y, rows, n), nil
		},
		Backward: func(ctx context.Context, dy *tensor.Tensor[float32], in ...*tensor.Tensor[float32]) ([]*tensor.Tensor[float32], error) {
			rs := make([]float32, rows)
			rmsFwd(make([]float32, rows*n), in[0].Data(), w.Value.Data(), rs, n, 1e-6)
			dx := make([]float32, rows*n)
			rmsBwd(dx, grad(w), dy.Data(), in[0].Data(), w.Value.Data(), rs, n)
			return []*tensor.Tensor[float32]{newT(dx, rows, n)}, nil
		},
		Parameters: []*graph.Parameter[float32]{w},
	}
	check(t, "rmsnorm", f, []*tensor.Tensor[float32]{randT(r, 1, rows, n)}, gradcheck.Options{})
}

func TestGradRoPE(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const T, D = 5, 8
	rt := newRopeTable(10000, 2, D, T)
	run := func(x []float32, inverse bool) []float32 {
		y := append([]float32(nil), x...)
		for p := 0; p < T; p++ {
			rt.rotate(y[p*D:(p+1)*D], p, inverse)
		}
		return y
	}
	f := gradcheck.Func[float32]{
		Forward: func(ctx context.Context, in ...*tensor.Tensor[float32]) (*tensor.Tensor[float32], error) {
			return newT(run(in[0].Data(), false), T, D), nil
		},
		Backward: func(ctx context.Context, dy *tensor.Tensor[float32], in ...*tensor.Tensor[float32]) ([]*tensor.Tensor[float32], error) {
			return []*tensor.Tensor[float32]{newT(run(dy.Data(), true), T, D)}, nil
		},
	}
	check(t, "rope", f, []*tensor.Tensor[float32]{randT(r, 1, T, D)}, gradcheck.Options{})
}

func TestGradAttention(t *testing.T) {
	for _, window := range []int{0, 3} {
		r := rand.New(rand.NewPCG(7, uint64(window)))
		s := attnShape{B: 2, T: 5, Heads: 4, KVHeads: 2, D: 4, Window: window}
		R, Q, KV := s.B*s.T, s.Heads*s.D, s.KVHeads*s.D
		fwd := func(ctx context.Context, in []*tensor.Tensor[float32]) ([]float32, []float32, error) {
			out, p := make([]float32, R*Q), make([]float32, s.B*s.Heads*s.T*s.T)
			return out, p, attnFwd(ctx, s, out, p, in[0].Data(), in[1].Data(), in[2].Data())
		}
		f := gradcheck.Func[float32]{
			Forward: func(ctx context.Context, in ...*tensor.Tensor[float32]) (*tensor.Tensor[float32], error) {
				out, _, err := fwd(ctx, in)
				return newT(out, R, Q), err
			},
			Backward: func(ctx context.Context, dy *tensor.Tensor[float32], in ...*tensor.Tensor[float32]) ([]*tensor.Tensor[float32], error) {
				_, p, err := fwd(ctx, in)
				if err != nil {
					return nil, err
				}
				dq, dk, dv := make([]float32, R*Q), make([]float32, R*KV), make([]float32, R*KV)
				err = attnBwd(ctx, s, dq, dk, dv, dy.Data(), p, in[0].Data(), in[1].Data(), in[2].Data())
				return []*tensor.Tensor[float32]{newT(dq, R, Q), newT(dk, R, KV), newT(dv, R, KV)}, err
			},
		}
		check(t, "attention", f, []*tensor.Tensor[float32]{randT(r, 1, R, Q), randT(r, 1, R, KV), randT(r, 1, R, KV)}, gradcheck.Options{})
	}
}

func TestGradGeGLU(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	const n = 40
	f := gradcheck.Func[float32]{
		Forward: func(ctx context.Context, in ...*tensor.Tensor[float32]) (*tensor.Tensor[float32], error) {
			h := make([]float32, n)
			return newT(h, n), gegluFwd(ctx, h, make([]float32, n), make([]float32, n), in[0].Data(), in[1].Data())
		},
		Backward: func(ctx context.Context, dy *tensor.Tensor[float32], in ...*tensor.Tensor[float32]) ([]*tensor.Tensor[float32], error) {
			dg, du, gy, gd := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
			if err := gegluFwd(ctx, make([]float32, n), gy, gd, in[0].Data(), in[1].Data()); err != nil {
				return nil, err
			}
			return []*tensor.Tensor[float32]{newT(dg, n), newT(du, n)}, gegluBwd(ctx, dg, du, dy.Data(), gy, gd, in[1].Data())
		},
	}
	check(t, "geglu", f, []*tensor.Tensor[float32]{randT(r, 2, n), randT(r, 1, n)}, gradcheck.Options{})
}

func TestGradCrossEntropy(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	const rows, vocab = 4, 7
	targets := []int32{3, -1, 0, 6}
	f := gradcheck.Func[float32]{
		Forward: func(ctx context.Context, in ...*tensor.Tensor[float32]) (*tensor.Tensor[float32], error) {
			l, err := crossEntropy(ctx, nil, in[0].Data(), targets, vocab)
			return newT([]float32{float32(l)}, 1), err
		},
		Backward: func(ctx context.Context, dy *tensor.Tensor[float32], in ...*tensor.Tensor[float32]) ([]*tensor.Tensor[float32], error) {
			d := make([]float32, rows*vocab)
			_, err := crossEntropy(ctx, d, in[0].Data(), targets, vocab)
			for i := range d {
				d[i] *= dy.Data()[0]
			}
			return []*tensor.Tensor[float32]{newT(d, rows, vocab)}, err
		},
	}
	check(t, "cross-entropy", f, []*tensor.Tensor[float32]{randT(r, 2, rows, vocab)}, gradcheck.Options{})
}
