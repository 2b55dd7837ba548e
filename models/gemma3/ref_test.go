package gemma3

import (
	"math"
	"math/rand/v2"

	"github.com/zerfoo/zerfoo/numeric"
)

// tinyConfig is a Gemma-3-shaped configuration small enough for unit
// tests: 7 layers (layer 5 global), GQA 4:2, head dim 16 ≠ hidden/heads,
// window 5.
func tinyConfig() Config {
	c := Config{
		Layers: 7, Hidden: 64, FFN: 96, Heads: 4, KVHeads: 2, HeadDim: 32, Vocab: 300,
		Context: 64, Window: 5, Period: 6, Eps: 1e-6, GlobalBase: 1e6, LocalBase: 1e4, GlobalScale: 8,
	}
	c.QueryScale = float32(1 / math.Sqrt(float64(c.HeadDim)))
	c.EmbedScale = float32(math.Sqrt(float64(c.Hidden)))
	return c
}

// randomDense fills an n×k matrix with N(0, std²) values.
func randomDense(r *rand.Rand, n, k int, std float64) *Dense {
	d := &Dense{N: n, K: k, Data: make([]float32, n*k)}
	for i := range d.Data {
		d.Data[i] = float32(r.NormFloat64() * std)
	}
	return d
}

func randomNorm(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(1 + 0.2*r.NormFloat64())
	}
	return v
}

// randomWeights returns float32 weights for c, scaled so that activations
// stay O(1) and logits have a spread of a few units.
func randomWeights(c Config, seed uint64) *Weights {
	r := rand.New(rand.NewPCG(seed, 7))
	H, Q, KV, F := c.Hidden, c.QDim(), c.KVDim(), c.FFN
	w := &Weights{Embed: randomDense(r, c.Vocab, H, 0.05), Norm: randomNorm(r, H)}
	for l := 0; l < c.Layers; l++ {
		w.Layers = append(w.Layers, Layer{
			AttnNorm: randomNorm(r, H), QNorm: randomNorm(r, c.HeadDim), KNorm: randomNorm(r, c.HeadDim),
			PostAttnNorm: randomNorm(r, H), FFNNorm: randomNorm(r, H), PostFFNNorm: randomNorm(r, H),
			Q: randomDense(r, Q, H, 1/math.Sqrt(float64(H))), K: randomDense(r, KV, H, 1/math.Sqrt(float64(H))),
			V: randomDense(r, KV, H, 1/math.Sqrt(float64(H))), O: randomDense(r, H, Q, 1/math.Sqrt(float64(Q))),
			Gate: randomDense(r, F, H, 1/math.Sqrt(float64(H))), Up: randomDense(r, F, H, 1/math.Sqrt(float64(H))),
			Down: randomDense(r, H, F, 1/math.Sqrt(float64(F))),
		})
	}
	return w
}

// refLogits is an independent float64 implementation of the Gemma 3
// forward pass straight from the spec (no cache, whole sequence at once).
// It returns the logits of every position. The only llama.cpp numerics it
// copies is the fp16 rounding around GELU (ggml's GELU table).
func refLogits(c Config, w *Weights, toks []int32) [][]float64 {
	T, H, hd := len(toks), c.Hidden, c.HeadDim
	mat := func(m Matrix) [][]float64 {
		n, k := m.Dims()
		out := make([][]float64, n)
		row := make([]float32, k)
		for j := range out {
			m.Row(j, row)
			out[j] = make([]float64, k)
			for i, v := range row {
				out[j][i] = float64(v)
			}
		}
		return out
	}
	mul := func(x [][]float64, m [][]float64) [][]float64 {
		y := make([][]float64, len(x))
		for t := range x {
			y[t] = make([]float64, len(m))
			for j, row := range m {
				var s float64
				for i, v := range row {
					s += v * x[t][i]
				}
				y[t][j] = s
			}
		}
		return y
	}
	norm := func(x []float64, w []float32) []float64 {
		var ss float64
		for _, v := range x {
			ss += v * v
		}
		s := 1 / math.Sqrt(ss/float64(len(x))+float64(c.Eps))
		y := make([]float64, len(x))
		for i, v := range x {
			y[i] = v * s * float64(w[i])
		}
		return y
	}
	ropeV := func(x []float64, pos int, base, scale float64) {
		d := len(x)
		for i := 0; i < d/2; i++ {
			th := float64(pos) / scale * math.Pow(base, -2*float64(i)/float64(d))
			a, b := x[i], x[i+d/2]
			x[i] = a*math.Cos(th) - b*math.Sin(th)
			x[i+d/2] = a*math.Sin(th) + b*math.Cos(th)
		}
	}
	gelu := func(x float64) float64 {
		if x <= -10 {
			return 0
		}
		if x >= 10 {
			return x
		}
		x = float64(numeric.Float16FromFloat64(x).Float32())
		y := 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
		return float64(numeric.Float16FromFloat64(y).Float32())
	}
	emb := mat(w.Embed)
	x := make([][]float64, T)
	for t, tok := range toks {
		x[t] = make([]float64, H)
		for i := range x[t] {
			x[t][i] = emb[tok][i] * math.Sqrt(float64(H))
		}
	}
	for l := range w.Layers {
		lw := &w.Layers[l]
		a := make([][]float64, T)
		for t := range x {
			a[t] = norm(x[t], lw.AttnNorm)
		}
		q, k, v := mul(a, mat(lw.Q)), mul(a, mat(lw.K)), mul(a, mat(lw.V))
		base, scale := c.LocalBase, 1.0
		if (l+1)%c.Period == 0 {
			base, scale = c.GlobalBase, c.GlobalScale
		}
		for t := 0; t < T; t++ {
			for h := 0; h < c.Heads; h++ {
				qh := norm(q[t][h*hd:(h+1)*hd], lw.QNorm)
				ropeV(qh, t, base, scale)
				copy(q[t][h*hd:], qh)
			}
			for h := 0; h < c.KVHeads; h++ {
				kh := norm(k[t][h*hd:(h+1)*hd], lw.KNorm)
				ropeV(kh, t, base, scale)
				copy(k[t][h*hd:], kh)
			}
		}
		att := make([][]float64, T)
		for t := 0; t < T; t++ {
			att[t] = make([]float64, c.Heads*hd)
			for h := 0; h < c.Heads; h++ {
				kvh := h * c.KVHeads / c.Heads
				var sc []float64
				var js []int
				for j := 0; j <= t; j++ {
					if (l+1)%c.Period != 0 && t-j >= c.Window {
						continue
					}
					var s float64
					for i := 0; i < hd; i++ {
						s += q[t][h*hd+i] * k[j][kvh*hd+i]
					}
					sc = append(sc, s/math.Sqrt(float64(hd)))
					js = append(js, j)
				}
				mx := math.Inf(-1)
				for _, s := range sc {
					mx = math.Max(mx, s)
				}
				var sum float64
				for i := range sc {
					sc[i] = math.Exp(sc[i] - mx)
					sum += sc[i]
				}
				for i, j := range js {
					for d := 0; d < hd; d++ {
						att[t][h*hd+d] += sc[i] / sum * v[j][kvh*hd+d]
					}
				}
			}
		}
		o := mul(att, mat(lw.O))
		for t := range x {
			o[t] = norm(o[t], lw.PostAttnNorm)
			for i := range x[t] {
				x[t][i] += o[t][i]
			}
			a[t] = norm(x[t], lw.FFNNorm)
		}
		g, u := mul(a, mat(lw.Gate)), mul(a, mat(lw.Up))
		for t := range g {
			for i := range g[t] {
				g[t][i] = gelu(g[t][i]) * u[t][i]
			}
		}
		f := mul(g, mat(lw.Down))
		for t := range x {
			f[t] = norm(f[t], lw.PostFFNNorm)
			for i := range x[t] {
				x[t][i] += f[t][i]
			}
		}
	}
	head := w.Output
	if head == nil {
		head = w.Embed
	}
	for t := range x {
		x[t] = norm(x[t], w.Norm)
	}
	return mul(x, mat(head))
}
