package train

import (
	"context"

	"github.com/zerfoo/zerfoo/graph"
	"github.com/zerfoo/zerfoo/qat"
)

// layerCache holds what the backward pass of one decoder block needs.
type layerCache struct {
	xin, a, xmid, a2 []float32 // R×H residual at block start, attention input, residual after attention, FFN input
	ra, ra2, ro, rd  []float32 // R inverse RMS of the four norms
	qraw, q, att     []float32 // R×QDim: projection, normed+rotated+scaled, attention output
	kraw, k, v       []float32 // R×KVDim
	rq, rk           []float32 // R·Heads, R·KVHeads
	p                []float32 // B·Heads·T·T attention probabilities
	o, d             []float32 // R×H inputs of the post-attention and post-FFN norms
	g, u, h, gy, gd  []float32 // R×FFN: gate, up, product, gelu(gate), gelu'(gate)
}

// workspace holds the activations of one forward pass over B×T tokens and
// the scratch of the backward pass, reused while B and T stay the same.
type workspace struct {
	B, T         int
	tokens       []int32
	local, glob  ropeTable
	layers       []layerCache
	xf, xn, rn   []float32
	logits       []float32
	dx, da, dtmp []float32 // R×H
	dq, dk, dv   []float32
	datt         []float32
	dg, du, dh   []float32
	wq           map[*graph.Parameter[float32]][]float32 // fake-quantized matrices (QAT)
}

func (m *Model) workspace(B, T int) *workspace {
	if m.ws != nil && m.ws.B == B && m.ws.T == T {
		return m.ws
	}
	c := &m.Config
	R, H, Q, KV, F := B*T, c.Hidden, c.QDim(), c.KVDim(), c.FFN
	f := func(n int) []float32 { return make([]float32, n) }
	ws := &workspace{B: B, T: T,
		local: newRopeTable(c.LocalBase, 1, c.HeadDim, T), glob: newRopeTable(c.GlobalBase, c.GlobalScale, c.HeadDim, T),
		xf: f(R * H), xn: f(R * H), rn: f(R), logits: f(R * c.Vocab),
		dx: f(R * H), da: f(R * H), dtmp: f(R * H), dq: f(R * Q), dk: f(R * KV), dv: f(R * KV), datt: f(R * Q),
		dg: f(R * F), du: f(R * F), dh: f(R * F),
	}
	for range m.Layers {
		ws.layers = append(ws.layers, layerCache{
			xin: f(R * H), a: f(R * H), xmid: f(R * H), a2: f(R * H),
			ra: f(R), ra2: f(R), ro: f(R), rd: f(R),
			qraw: f(R * Q), q: f(R * Q), att: f(R * Q), kraw: f(R * KV), k: f(R * KV), v: f(R * KV),
			rq: f(R * c.Heads), rk: f(R * c.KVHeads), p: f(B * c.Heads * T * T),
			o: f(R * H), d: f(R * H), g: f(R * F), u: f(R * F), h: f(R * F), gy: f(R * F), gd: f(R * F),
		})
	}
	m.ws = ws
	return ws
}

// weights returns the matrix values the pass multiplies with: the
// fake-quantized copy under QAT, the parameter's value otherwise.
func (ws *workspace) weights(p *graph.Parameter[float32]) []float32 {
	if q, ok := ws.wq[p]; ok {
		return q
	}
	return p.Value.Data()
}

func (m *Model) fakeQuantize(ws *workspace) error {
	if m.QAT == nil {
		ws.wq = nil
		return nil
	}
	if ws.wq == nil {
		ws.wq = map[*graph.Parameter[float32]][]float32{}
	}
	for i := range m.Layers {
		for _, p := range m.Layers[i].matrices() {
			n, k := p.Value.Shape()[0], p.Value.Shape()[1]
			dst := ws.wq[p]
			if dst == nil {
				dst = make([]float32, n*k)
				ws.wq[p] = dst
			}
			if _, err := qat.FakeQuantize(dst, p.Value.Data(), k, n, qat.LayoutNK, *m.QAT); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *Model) forward(ctx context.Context, tokens []int32, B, T int) (*workspace, error) {
	if err := m.checkTokens(tokens, B, T); err != nil {
		return nil, err
	}
	c := &m.Config
	ws := m.workspace(B, T)
	if err := m.fakeQuantize(ws); err != nil {
		return nil, err
	}
	ws.tokens = append(ws.tokens[:0], tokens...)
	R, H, Q, KV, F, D := B*T, c.Hidden, c.QDim(), c.KVDim(), c.FFN, c.HeadDim
	x := ws.xf
	emb := m.Embed.Value.Data()
	for r, t := range tokens {
		row := x[r*H : (r+1)*H]
		for i, v := range emb[int(t)*H : (int(t)+1)*H] {
			row[i] = v * c.EmbedScale
		}
	}
	tmp := ws.dtmp
	for l := range m.Layers {
		lw, lc := &m.Layers[l], &ws.layers[l]
		rt := ws.local
		shape := attnShape{B: B, T: T, Heads: c.Heads, KVHeads: c.KVHeads, D: D, Window: c.Window}
		if c.Global(l) {
			rt, shape.Window = ws.glob, 0
		}
		copy(lc.xin, x)
		rmsFwd(lc.a, x, lw.AttnNorm.Value.Data(), lc.ra, H, c.Eps)
		if err := linearFwd(ctx, lc.qraw, lc.a, ws.weights(lw.Q), R, Q, H); err != nil {
			return nil, err
		}
		if err := linearFwd(ctx, lc.kraw, lc.a, ws.weights(lw.K), R, KV, H); err != nil {
			return nil, err
		}
		if err := linearFwd(ctx, lc.v, lc.a, ws.weights(lw.V), R, KV, H); err != nil {
			return nil, err
		}
		rmsFwd(lc.q, lc.qraw, lw.QNorm.Value.Data(), lc.rq, D, c.Eps)
		rmsFwd(lc.k, lc.kraw, lw.KNorm.Value.Data(), lc.rk, D, c.Eps)
		for r := 0; r < R; r++ {
			t := r % T
			for h := 0; h < c.Heads; h++ {
				qh := lc.q[(r*c.Heads+h)*D : (r*c.Heads+h+1)*D]
				rt.rotate(qh, t, false)
				for i := range qh {
					qh[i] *= c.QueryScale
				}
			}
			for h := 0; h < c.KVHeads; h++ {
				rt.rotate(lc.k[(r*c.KVHeads+h)*D:(r*c.KVHeads+h+1)*D], t, false)
			}
		}
		if err := attnFwd(ctx, shape, lc.att, lc.p, lc.q, lc.k, lc.v); err != nil {
			return nil, err
		}
		if err := linearFwd(ctx, lc.o, lc.att, ws.weights(lw.O), R, H, Q); err != nil {
			return nil, err
		}
		rmsFwd(tmp, lc.o, lw.PostAttnNorm.Value.Data(), lc.ro, H, c.Eps)
		for i, v := range tmp {
			x[i] += v
		}
		copy(lc.xmid, x)
		rmsFwd(lc.a2, x, lw.FFNNorm.Value.Data(), lc.ra2, H, c.Eps)
		if err := linearFwd(ctx, lc.g, lc.a2, ws.weights(lw.Gate), R, F, H); err != nil {
			return nil, err
		}
		if err := linearFwd(ctx, lc.u, lc.a2, ws.weights(lw.Up), R, F, H); err != nil {
			return nil, err
		}
		if err := gegluFwd(ctx, lc.h, lc.gy, lc.gd, lc.g, lc.u); err != nil {
			return nil, err
		}
		if err := linearFwd(ctx, lc.d, lc.h, ws.weights(lw.Down), R, H, F); err != nil {
			return nil, err
		}
		rmsFwd(tmp, lc.d, lw.PostFFNNorm.Value.Data(), lc.rd, H, c.Eps)
		for i, v := range tmp {
			x[i] += v
		}
	}
	rmsFwd(ws.xn, x, m.Norm.Value.Data(), ws.rn, H, c.Eps)
	if err := linearFwd(ctx, ws.logits, ws.xn, emb, R, c.Vocab, H); err != nil {
		return nil, err
	}
	return ws, nil
}

// backward propagates the logit gradient in ws.logits to every parameter.
func (m *Model) backward(ctx context.Context, ws *workspace) error {
	c := &m.Config
	B, T := ws.B, ws.T
	R, H, Q, KV, F, D := B*T, c.Hidden, c.QDim(), c.KVDim(), c.FFN, c.HeadDim
	emb := m.Embed.Value.Data()
	dEmb := grad(m.Embed)
	dx, da, tmp := ws.dx, ws.da, ws.dtmp
	if err := linearBwd(ctx, da, dEmb, ws.logits, ws.xn, emb, R, c.Vocab, H); err != nil {
		return err
	}
	rmsBwd(dx, grad(m.Norm), da, ws.xf, m.Norm.Value.Data(), ws.rn, H)
	for l := len(m.Layers) - 1; l >= 0; l-- {
		lw, lc := &m.Layers[l], &ws.layers[l]
		rt := ws.local
		shape := attnShape{B: B, T: T, Heads: c.Heads, KVHeads: c.KVHeads, D: D, Window: c.Window}
		if c.Global(l) {
			rt, shape.Window = ws.glob, 0
		}
		// FFN branch: x += N_post(Down(geglu(Gate a2, Up a2))), a2 = N_ffn(xmid).
		rmsBwd(tmp, grad(lw.PostFFNNorm), dx, lc.d, lw.PostFFNNorm.Value.Data(), lc.rd, H)
		if err := linearBwd(ctx, ws.dh, grad(lw.Down), tmp, lc.h, ws.weights(lw.Down), R, H, F); err != nil {
			return err
		}
		if err := gegluBwd(ctx, ws.dg, ws.du, ws.dh, lc.gy, lc.gd, lc.u); err != nil {
			return err
		}
		if err := linearBwd(ctx, da, grad(lw.Gate), ws.dg, lc.a2, ws.weights(lw.Gate), R, F, H); err != nil {
			return err
		}
		if err := linearBwd(ctx, tmp, grad(lw.Up), ws.du, lc.a2, ws.weights(lw.Up), R, F, H); err != nil {
			return err
		}
		for i, v := range tmp {
			da[i] += v
		}
		rmsBwd(tmp, grad(lw.FFNNorm), da, lc.xmid, lw.FFNNorm.Value.Data(), lc.ra2, H)
		for i, v := range tmp {
			dx[i] += v
		}
		// Attention branch: x += N_post(O(attn(q, k, v))), from a = N_attn(xin).
		rmsBwd(tmp, grad(lw.PostAttnNorm), dx, lc.o, lw.PostAttnNorm.Value.Data(), lc.ro, H)
		if err := linearBwd(ctx, ws.datt, grad(lw.O), tmp, lc.att, ws.weights(lw.O), R, H, Q); err != nil {
			return err
		}
		if err := attnBwd(ctx, shape, ws.dq, ws.dk, ws.dv, ws.datt, lc.p, lc.q, lc.k, lc.v); err != nil {
			return err
		}
		for r := 0; r < R; r++ {
			t := r % T
			for h := 0; h < c.Heads; h++ {
				dqh := ws.dq[(r*c.Heads+h)*D : (r*c.Heads+h+1)*D]
				for i := range dqh {
					dqh[i] *= c.QueryScale
				}
				rt.rotate(dqh, t, true)
			}
			for h := 0; h < c.KVHeads; h++ {
				rt.rotate(ws.dk[(r*c.KVHeads+h)*D:(r*c.KVHeads+h+1)*D], t, true)
			}
		}
		rmsBwd(ws.dq, grad(lw.QNorm), ws.dq, lc.qraw, lw.QNorm.Value.Data(), lc.rq, D)
		rmsBwd(ws.dk, grad(lw.KNorm), ws.dk, lc.kraw, lw.KNorm.Value.Data(), lc.rk, D)
		if err := linearBwd(ctx, da, grad(lw.Q), ws.dq, lc.a, ws.weights(lw.Q), R, Q, H); err != nil {
			return err
		}
		for _, in := range []struct {
			p  *graph.Parameter[float32]
			dy []float32
		}{{lw.K, ws.dk}, {lw.V, ws.dv}} {
			if err := linearBwd(ctx, tmp, grad(in.p), in.dy, lc.a, ws.weights(in.p), R, KV, H); err != nil {
				return err
			}
			for i, v := range tmp {
				da[i] += v
			}
		}
		rmsBwd(tmp, grad(lw.AttnNorm), da, lc.xin, lw.AttnNorm.Value.Data(), lc.ra, H)
		for i, v := range tmp {
			dx[i] += v
		}
	}
	for r, t := range ws.tokens {
		row := dEmb[int(t)*H : (int(t)+1)*H]
		for i, g := range dx[r*H : (r+1)*H] {
			row[i] += g * c.EmbedScale
		}
	}
	return nil
}
