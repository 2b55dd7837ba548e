package train

import (
	"context"
	"errors"
	"math"

	"github.com/zerfoo/zerfoo/internal/gemm"
	"github.com/zerfoo/zerfoo/internal/workerpool"
)

// This file holds the forward and backward kernels of the decoder's
// layers on row-major float32 slices. Every backward is checked against
// finite differences in ops_test.go. Backward functions write (=) input
// gradients and accumulate (+=) weight gradients.

// linearFwd sets y = x·Wᵀ for rows×k x and n×k W (GGUF row order).
func linearFwd(ctx context.Context, y, x, w []float32, rows, n, k int) error {
	return gemm.Sgemm(ctx, false, true, rows, n, k, 1, x, k, w, k, 0, y, n)
}

// linearBwd sets dx = dy·W (if dx is not nil) and adds dyᵀ·x to dw.
func linearBwd(ctx context.Context, dx, dw, dy, x, w []float32, rows, n, k int) error {
	if dx != nil {
		if err := gemm.Sgemm(ctx, false, false, rows, k, n, 1, dy, n, w, k, 0, dx, k); err != nil {
			return err
		}
	}
	return gemm.Sgemm(ctx, true, false, n, k, rows, 1, dy, n, x, k, 1, dw, k)
}

// rmsFwd sets y = x·r·(1+w) row by row (n values per row), with
// r = 1/√(mean(x²)+eps) computed as models/gemma3 (and llama.cpp) do, and
// stores r per row in rs. y may alias x.
func rmsFwd(y, x, w, rs []float32, n int, eps float32) {
	for row := range rs {
		xr, yr := x[row*n:(row+1)*n], y[row*n:(row+1)*n]
		var sum float64
		for _, v := range xr {
			sum += float64(v * v)
		}
		mean := float32(sum / float64(n))
		r := 1 / float32(math.Sqrt(float64(mean+eps)))
		rs[row] = r
		for i, v := range xr {
			yr[i] = (v * r) * (1 + w[i])
		}
	}
}

// rmsBwd sets dx from dy through y = x·r·(1+w) and adds the weight
// gradient to dw. dx may alias dy.
func rmsBwd(dx, dw, dy, x, w, rs []float32, n int) {
	for row, r := range rs {
		xr, dyr, dxr := x[row*n:(row+1)*n], dy[row*n:(row+1)*n], dx[row*n:(row+1)*n]
		var dot float64
		for i, v := range xr {
			g := dyr[i]
			dw[i] += g * v * r
			dot += float64(g * (1 + w[i]) * v)
		}
		c := float32(dot/float64(n)) * r * r * r
		for i, v := range xr {
			dxr[i] = r*dyr[i]*(1+w[i]) - c*v
		}
	}
}

// ropeTable holds cos and sin of one RoPE flavour for positions 0..T−1,
// with ggml's float32 recurrence (as models/gemma3).
type ropeTable struct {
	half     int
	cos, sin []float32 // T×half
}

func newRopeTable(base, scale float64, headDim, T int) ropeTable {
	half := headDim / 2
	ts := float32(math.Pow(float64(float32(base)), float64(float32(-2)/float32(headDim))))
	fs := float32(1 / scale)
	rt := ropeTable{half: half, cos: make([]float32, T*half), sin: make([]float32, T*half)}
	for p := 0; p < T; p++ {
		theta := float32(p)
		for i := 0; i < half; i++ {
			t := float64(fs * theta)
			rt.cos[p*half+i] = float32(math.Cos(t))
			rt.sin[p*half+i] = float32(math.Sin(t))
			theta *= ts
		}
	}
	return rt
}

// rotate applies the rotation of position p to head vector x in place
// (NeoX pairing i, i+d/2); inverse rotates by −θ (the backward pass).
func (rt ropeTable) rotate(x []float32, p int, inverse bool) {
	cs, sn := rt.cos[p*rt.half:(p+1)*rt.half], rt.sin[p*rt.half:(p+1)*rt.half]
	lo, hi := x[:rt.half], x[rt.half:2*rt.half]
	for i, c := range cs {
		s := sn[i]
		if inverse {
			s = -s
		}
		a, b := lo[i], hi[i]
		lo[i] = a*c - b*s
		hi[i] = a*s + b*c
	}
}

// attnShape describes causal grouped-query attention over B sequences of T
// positions: q is (B·T)×(Heads·D), k and v (B·T)×(KVHeads·D). A query at
// position t sees keys first..t with first = max(0, t−Window+1) (Window ≤ 0:
// all).
type attnShape struct {
	B, T, Heads, KVHeads, D, Window int
}

func (s attnShape) first(t int) int {
	if s.Window <= 0 {
		return 0
	}
	return max(0, t-s.Window+1)
}

// attnFwd sets out = softmax(q·kᵀ)·v per (sequence, head) and stores the
// probabilities in p (B·Heads·T·T, zero outside the visible band). The
// products run through the SGEMM kernels on strided views of q, k and v.
func attnFwd(ctx context.Context, s attnShape, out, p, q, k, v []float32) error {
	Q, KV, D, T := s.Heads*s.D, s.KVHeads*s.D, s.D, s.T
	group := s.Heads / s.KVHeads
	errs := make([]error, s.B*s.Heads)
	err := workerpool.For(ctx, s.B*s.Heads, 1, func(lo, hi int) {
		for job := lo; job < hi; job++ {
			b, h := job/s.Heads, job%s.Heads
			qo, ko := b*T*Q+h*D, b*T*KV+(h/group)*D
			pm := p[job*T*T : (job+1)*T*T]
			if err := gemm.Sgemm(ctx, false, true, T, T, D, 1, q[qo:], Q, k[ko:], KV, 0, pm, T); err != nil {
				errs[job] = err
				return
			}
			for t := 0; t < T; t++ {
				row := pm[t*T : (t+1)*T]
				f := s.first(t)
				mx := float32(math.Inf(-1))
				for _, d := range row[f : t+1] {
					mx = max(mx, d)
				}
				var sum float64
				for j := f; j <= t; j++ {
					e := float32(math.Exp(float64(row[j] - mx)))
					row[j] = e
					sum += float64(e)
				}
				inv := float32(1 / sum)
				clear(row[:f])
				clear(row[t+1:])
				for j := f; j <= t; j++ {
					row[j] *= inv
				}
			}
			if err := gemm.Sgemm(ctx, false, false, T, D, T, 1, pm, T, v[ko:], KV, 0, out[qo:], Q); err != nil {
				errs[job] = err
				return
			}
		}
	})
	if err != nil {
		return err
	}
	return errors.Join(errs...)
}

// attnBwd sets dq, dk, dv from dout through attnFwd (p from the forward).
// Key/value heads shared by a group of query heads are handled one KV head
// per job so that no two jobs write the same dk, dv rows.
func attnBwd(ctx context.Context, s attnShape, dq, dk, dv, dout, p, q, k, v []float32) error {
	Q, KV, D, T := s.Heads*s.D, s.KVHeads*s.D, s.D, s.T
	group := s.Heads / s.KVHeads
	jobErrs := make([]error, s.B*s.KVHeads)
	err := workerpool.For(ctx, s.B*s.KVHeads, 1, func(lo, hi int) {
		ds := make([]float32, T*T)
		for job := lo; job < hi; job++ {
			b, kh := job/s.KVHeads, job%s.KVHeads
			ko := b*T*KV + kh*D
			for t := 0; t < T; t++ {
				clear(dk[ko+t*KV : ko+t*KV+D])
				clear(dv[ko+t*KV : ko+t*KV+D])
			}
			for h := kh * group; h < (kh+1)*group; h++ {
				qo := b*T*Q + h*D
				pm := p[(b*s.Heads+h)*T*T : (b*s.Heads+h+1)*T*T]
				errs := []error{
					gemm.Sgemm(ctx, false, true, T, T, D, 1, dout[qo:], Q, v[ko:], KV, 0, ds, T),  // dP
					gemm.Sgemm(ctx, true, false, T, D, T, 1, pm, T, dout[qo:], Q, 1, dv[ko:], KV), // dV += Pᵀ·dO
				}
				for t := 0; t < T; t++ {
					pr, dr := pm[t*T:(t+1)*T], ds[t*T:(t+1)*T]
					var sum float32
					for j, pj := range pr {
						sum += pj * dr[j]
					}
					for j, pj := range pr {
						dr[j] = pj * (dr[j] - sum)
					}
				}
				errs = append(errs,
					gemm.Sgemm(ctx, false, false, T, D, T, 1, ds, T, k[ko:], KV, 0, dq[qo:], Q), // dQ = dS·K
					gemm.Sgemm(ctx, true, false, T, D, T, 1, ds, T, q[qo:], Q, 1, dk[ko:], KV))  // dK += dSᵀ·Q
				if e := errors.Join(errs...); e != nil {
					jobErrs[job] = e
					return
				}
			}
		}
	})
	if err != nil {
		return err
	}
	return errors.Join(jobErrs...)
}

// gelu returns GELU with the tanh approximation and its derivative.
func gelu(x float32) (y, dy float32) {
	const c, a = 0.7978845608028654, 0.044715
	xf := float64(x)
	t := math.Tanh(c * (xf + a*xf*xf*xf))
	y64 := 0.5 * xf * (1 + t)
	d := 0.5*(1+t) + 0.5*xf*(1-t*t)*c*(1+3*a*xf*xf)
	return float32(y64), float32(d)
}

// gegluFwd sets h = gelu(g)·u, keeping gelu(g) in gy and gelu'(g) in gd
// for the backward pass.
func gegluFwd(ctx context.Context, h, gy, gd, g, u []float32) error {
	return workerpool.For(ctx, len(h), 4096, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			y, d := gelu(g[i])
			gy[i], gd[i] = y, d
			h[i] = y * u[i]
		}
	})
}

// gegluBwd sets dg and du from dh through h = gelu(g)·u (gy, gd from
// gegluFwd).
func gegluBwd(ctx context.Context, dg, du, dh, gy, gd, u []float32) error {
	return workerpool.For(ctx, len(dh), 4096, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			dg[i] = dh[i] * u[i] * gd[i]
			du[i] = dh[i] * gy[i]
		}
	})
}

// crossEntropy returns the mean over rows of −log softmax(logits)[target]
// (rows with a negative target are skipped) and, if dlogits is not nil,
// writes its gradient (scaled by 1/counted rows) there. dlogits may alias
// logits.
func crossEntropy(ctx context.Context, dlogits, logits []float32, targets []int32, vocab int) (float64, error) {
	rows := len(targets)
	losses := make([]float64, rows)
	n := 0
	for _, t := range targets {
		if t >= 0 {
			n++
		}
	}
	if n == 0 {
		return 0, nil
	}
	inv := float32(1 / float64(n))
	err := workerpool.For(ctx, rows, 8, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			z := logits[r*vocab : (r+1)*vocab]
			mx := float32(math.Inf(-1))
			for _, v := range z {
				mx = max(mx, v)
			}
			var sum float64
			for _, v := range z {
				sum += math.Exp(float64(v - mx))
			}
			lse := float64(mx) + math.Log(sum)
			t := targets[r]
			if t >= 0 {
				losses[r] = lse - float64(z[t])
			}
			if dlogits == nil {
				continue
			}
			d := dlogits[r*vocab : (r+1)*vocab]
			if t < 0 {
				clear(d)
				continue
			}
			for i, v := range z {
				d[i] = float32(math.Exp(float64(v)-lse)) * inv
			}
			d[t] -= inv
		}
	})
	var loss float64
	for _, l := range losses {
		loss += l
	}
	return loss / float64(n), err
}
