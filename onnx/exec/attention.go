package exec

import (
	"context"
	"math"

	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/tensor"
)

func init() {
	Register(onnx.MicrosoftDomain, "RotaryEmbedding", 1, 0, buildRotary)
	Register(onnx.MicrosoftDomain, "GroupQueryAttention", 1, 0, buildGQA)
}

// rope rotates one head vector x (length ≥ 2·half) in place with the cache
// row cos/sin (length half), non-interleaved (halves) or interleaved (pairs).
func rope(x, cos, sin []float32, interleaved bool) {
	half := len(cos)
	if interleaved {
		for i := 0; i < half; i++ {
			a, b := x[2*i], x[2*i+1]
			x[2*i] = a*cos[i] - b*sin[i]
			x[2*i+1] = b*cos[i] + a*sin[i]
		}
		return
	}
	for i := 0; i < half; i++ {
		a, b := x[i], x[i+half]
		x[i] = a*cos[i] - b*sin[i]
		x[i+half] = b*cos[i] + a*sin[i]
	}
}

func buildRotary(n *Node) (Kernel, error) {
	inter, err := n.Int("interleaved", 0)
	if err != nil {
		return nil, err
	}
	heads, err := n.Int("num_heads", 0)
	if err != nil {
		return nil, err
	}
	rdim, err := n.Int("rotary_embedding_dim", 0)
	if err != nil {
		return nil, err
	}
	scale, err := n.Float("scale", 1)
	if err != nil {
		return nil, err
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 4); err != nil {
			return nil, err
		}
		x, pos, cosT, sinT := in[0], in[1], in[2], in[3]
		if err := checkLike(ctx, workBytes(x.DType()), x); err != nil {
			return nil, err
		}
		s := x.Shape()
		cs := cosT.Shape()
		if len(cs) != 2 || !tensor.SameShape(cs, sinT.Shape()) {
			return nil, shapeErr("cos_cache %v and sin_cache %v, want equal [max_position, rotary_dim/2]", cs, sinT.Shape())
		}
		half := cs[1]
		var b, seq, nh, hs int
		bnsh := false
		switch len(s) {
		case 3:
			b, seq = s[0], s[1]
			switch {
			case heads > 0:
				nh = int(heads)
				if s[2]%nh != 0 {
					return nil, shapeErr("hidden %d not divisible by num_heads %d", s[2], nh)
				}
				hs = s[2] / nh
			default:
				hs = 2 * half
				if hs == 0 || s[2]%hs != 0 {
					return nil, shapeErr("hidden %d not divisible by head size %d", s[2], hs)
				}
				nh = s[2] / hs
			}
		case 4:
			b, nh, seq, hs = s[0], s[1], s[2], s[3]
			bnsh = true
		default:
			return nil, shapeErr("input of shape %v, want rank 3 or 4", s)
		}
		rd := int(rdim)
		if rd == 0 {
			rd = hs
		}
		if rd > hs || rd != 2*half {
			return nil, shapeErr("rotary dim %d for head size %d and cos_cache %v", rd, hs, cs)
		}
		pv, err := ints(pos)
		if err != nil {
			return nil, err
		}
		posAt := func(bi, si int) int64 {
			if len(pv) == 1 {
				return pv[0] + int64(si)
			}
			return pv[bi*seq+si]
		}
		if len(pv) != 1 && len(pv) != b*seq {
			return nil, shapeErr("position_ids of shape %v for batch %d, sequence %d", pos.Shape(), b, seq)
		}
		xv, err := floats(x)
		if err != nil {
			return nil, err
		}
		cv, err := floats(cosT)
		if err != nil {
			return nil, err
		}
		sv, err := floats(sinT)
		if err != nil {
			return nil, err
		}
		out := append([]float32(nil), xv...)
		if scale != 1 {
			for i := range out {
				out[i] *= scale
			}
		}
		for bi := 0; bi < b; bi++ {
			for si := 0; si < seq; si++ {
				p := posAt(bi, si)
				if p < 0 || p >= int64(cs[0]) {
					return nil, &Error{Msg: "position id out of range of the cos/sin cache", Err: tensor.ErrIndex}
				}
				c, sn := cv[int(p)*half:int(p+1)*half], sv[int(p)*half:int(p+1)*half]
				for h := 0; h < nh; h++ {
					off := ((bi*seq+si)*nh + h) * hs
					if bnsh {
						off = ((bi*nh+h)*seq + si) * hs
					}
					rope(out[off:off+rd], c, sn, inter != 0)
				}
			}
		}
		return fromFloats(x.DType(), s, out)
	}), nil
}

// gqa holds GroupQueryAttention's attributes.
type gqa struct {
	heads, kvHeads int
	scale, softcap float32
	window         int
	rotary, inter  bool
	smooth         bool
}

func buildGQA(n *Node) (Kernel, error) {
	var g gqa
	h, err := n.Int("num_heads", 0)
	if err != nil {
		return nil, err
	}
	kh, err := n.Int("kv_num_heads", 0)
	if err != nil {
		return nil, err
	}
	if h <= 0 || kh <= 0 || h%kh != 0 || h > 1<<16 {
		return nil, attrErr("num_heads %d, kv_num_heads %d: want positive, num_heads a multiple of kv_num_heads", h, kh)
	}
	g.heads, g.kvHeads = int(h), int(kh)
	if g.scale, err = n.Float("scale", 0); err != nil {
		return nil, err
	}
	if g.softcap, err = n.Float("softcap", 0); err != nil {
		return nil, err
	}
	w, err := n.Int("local_window_size", -1)
	if err != nil {
		return nil, err
	}
	g.window = int(max(-1, min(w, math.MaxInt32)))
	for _, a := range []struct {
		name string
		dst  *bool
	}{{"do_rotary", &g.rotary}, {"rotary_interleaved", &g.inter}, {"smooth_softmax", &g.smooth}} {
		v, err := n.Int(a.name, 0)
		if err != nil {
			return nil, err
		}
		*a.dst = v == 1
	}
	return g.run, nil
}

// run implements ONNX Runtime's CPU GroupQueryAttention: query [B,S,N·H],
// key/value [B,S,Nkv·H] (or packed into query when absent), past key/value
// [B,Nkv,P,H] (BNSH), seqlens_k [B] int32 (total length − 1 per batch),
// total_sequence_length (scalar int32). Outputs: [B,S,N·H], present key
// and value [B,Nkv,max(P,total),H] with the past rows, the new rows at
// positions total−S … total−1 and zeros after. With local_window_size W > 0
// a query at position p sees keys max(0, p−W+1) … p: W keys, as ONNX Runtime
// 1.30.0 does (older CPU kernels kept W+1; the goldens settle it).
func (g gqa) run(ctx context.Context, in []tensor.Any) ([]tensor.Any, error) {
	if err := need(in, 1); err != nil {
		return nil, err
	}
	if len(in) < 7 || in[5] == nil || in[6] == nil {
		return nil, typeErr("seqlens_k and total_sequence_length are required")
	}
	qs := in[0].Shape()
	if len(qs) != 3 {
		return nil, shapeErr("query of shape %v, want [batch, sequence, hidden]", qs)
	}
	b, seq := qs[0], qs[1]
	dt := in[0].DType()
	// query, output and the new key and value, per head, in float32
	if err := checkWork(ctx, 4*4+dt.Size(), dt, qs); err != nil {
		return nil, err
	}
	qv, err := floats(in[0])
	if err != nil {
		return nil, err
	}
	var hs int
	var kv, vv []float32
	qStride := qs[2]
	if in[1] == nil {
		// packed QKV
		if qs[2]%(g.heads+2*g.kvHeads) != 0 {
			return nil, shapeErr("packed query width %d for %d+2·%d heads", qs[2], g.heads, g.kvHeads)
		}
		hs = qs[2] / (g.heads + 2*g.kvHeads)
	} else {
		if in[2] == nil {
			return nil, typeErr("value is required with key")
		}
		if qs[2]%g.heads != 0 {
			return nil, shapeErr("query width %d not divisible by num_heads %d", qs[2], g.heads)
		}
		hs = qs[2] / g.heads
		want := []int{b, seq, g.kvHeads * hs}
		if !tensor.SameShape(in[1].Shape(), want) || !tensor.SameShape(in[2].Shape(), want) {
			return nil, shapeErr("key %v and value %v, want %v", in[1].Shape(), in[2].Shape(), want)
		}
		if kv, err = floats(in[1]); err != nil {
			return nil, err
		}
		if vv, err = floats(in[2]); err != nil {
			return nil, err
		}
	}
	// Split into per-head [B][heads][S][H] copies (Q and the new K, V).
	q := make([]float32, b*g.heads*seq*hs)
	k := make([]float32, b*g.kvHeads*seq*hs)
	v := make([]float32, len(k))
	for bi := 0; bi < b; bi++ {
		for si := 0; si < seq; si++ {
			row := (bi*seq + si) * qStride
			for h := 0; h < g.heads; h++ {
				copy(q[((bi*g.heads+h)*seq+si)*hs:][:hs], qv[row+h*hs:][:hs])
			}
			for h := 0; h < g.kvHeads; h++ {
				dst := ((bi*g.kvHeads+h)*seq + si) * hs
				if kv == nil {
					copy(k[dst:dst+hs], qv[row+(g.heads+h)*hs:][:hs])
					copy(v[dst:dst+hs], qv[row+(g.heads+g.kvHeads+h)*hs:][:hs])
				} else {
					src := (bi*seq+si)*g.kvHeads*hs + h*hs
					copy(k[dst:dst+hs], kv[src:src+hs])
					copy(v[dst:dst+hs], vv[src:src+hs])
				}
			}
		}
	}
	var pk, pv []float32
	past := 0
	if pkT, pvT := opt(in, 3), opt(in, 4); pkT != nil && pvT != nil {
		ps := pkT.Shape()
		if len(ps) != 4 || ps[0] != b || ps[1] != g.kvHeads || ps[3] != hs || !tensor.SameShape(ps, pvT.Shape()) {
			return nil, shapeErr("past_key %v and past_value %v, want [%d, %d, past, %d]", ps, pvT.Shape(), b, g.kvHeads, hs)
		}
		past = ps[2]
		if pk, err = floats(pkT); err != nil {
			return nil, err
		}
		if pv, err = floats(pvT); err != nil {
			return nil, err
		}
	}
	sl, err := ints(in[5])
	if err != nil {
		return nil, err
	}
	tl, err := ints(in[6])
	if err != nil {
		return nil, err
	}
	if len(sl) != b || len(tl) != 1 {
		return nil, shapeErr("seqlens_k of shape %v and total_sequence_length of shape %v for batch %d", in[5].Shape(), in[6].Shape(), b)
	}
	total := int(tl[0])
	if total < seq || total > 1<<24 {
		return nil, shapeErr("total_sequence_length %d for sequence length %d", total, seq)
	}
	present := max(past, total)
	// present key and value in float32 and as outputs
	if err := checkWork(ctx, 2*(4+dt.Size()), dt, []int{b, g.kvHeads, present, hs}); err != nil {
		return nil, err
	}
	pastLen := make([]int, b)
	for bi, s := range sl {
		t := int(s) + 1
		if t < seq || t > present || t-seq > past {
			return nil, shapeErr("seqlens_k[%d] = %d for sequence %d, past %d, total %d", bi, s, seq, past, total)
		}
		pastLen[bi] = t - seq
	}
	if g.rotary {
		cosT, sinT := opt(in, 7), opt(in, 8)
		if cosT == nil || sinT == nil {
			return nil, typeErr("do_rotary needs cos_cache and sin_cache")
		}
		cs := cosT.Shape()
		if len(cs) != 2 || 2*cs[1] > hs {
			return nil, shapeErr("cos_cache %v for head size %d", cs, hs)
		}
		cv, err := floats(cosT)
		if err != nil {
			return nil, err
		}
		sv, err := floats(sinT)
		if err != nil {
			return nil, err
		}
		half := cs[1]
		rot := func(x []float32, heads int) error {
			for bi := 0; bi < b; bi++ {
				for h := 0; h < heads; h++ {
					for si := 0; si < seq; si++ {
						p := pastLen[bi] + si
						if p >= cs[0] {
							return &Error{Msg: "position beyond the cos/sin cache", Err: tensor.ErrIndex}
						}
						off := ((bi*heads+h)*seq + si) * hs
						rope(x[off:off+2*half], cv[p*half:(p+1)*half], sv[p*half:(p+1)*half], g.inter)
					}
				}
			}
			return nil
		}
		if err := rot(q, g.heads); err != nil {
			return nil, err
		}
		if err := rot(k, g.kvHeads); err != nil {
			return nil, err
		}
	}
	// Present key/value: past rows, then the new rows.
	presK := make([]float32, b*g.kvHeads*present*hs)
	presV := make([]float32, len(presK))
	for bi := 0; bi < b; bi++ {
		for h := 0; h < g.kvHeads; h++ {
			dst := (bi*g.kvHeads + h) * present * hs
			src := (bi*g.kvHeads + h) * past * hs
			n := pastLen[bi] * hs
			if n > 0 {
				copy(presK[dst:dst+n], pk[src:src+n])
				copy(presV[dst:dst+n], pv[src:src+n])
			}
			nsrc := (bi*g.kvHeads + h) * seq * hs
			copy(presK[dst+n:dst+n+seq*hs], k[nsrc:nsrc+seq*hs])
			copy(presV[dst+n:dst+n+seq*hs], v[nsrc:nsrc+seq*hs])
		}
	}
	alpha := g.scale
	if alpha == 0 {
		alpha = float32(1 / math.Sqrt(float64(hs)))
	}
	out := make([]float32, b*seq*g.heads*hs)
	probs := make([]float32, present)
	group := g.heads / g.kvHeads
	for bi := 0; bi < b; bi++ {
		for h := 0; h < g.heads; h++ {
			kvBase := (bi*g.kvHeads + h/group) * present * hs
			for si := 0; si < seq; si++ {
				qrow := q[((bi*g.heads+h)*seq+si)*hs:][:hs]
				causal := pastLen[bi] + si + 1 // keys 0..causal-1
				start := 0
				if g.window > 0 && causal > g.window {
					start = causal - g.window
				}
				m := float32(math.Inf(-1))
				for t := start; t < causal; t++ {
					krow := presK[kvBase+t*hs:][:hs]
					var dot float32
					for d, x := range qrow {
						dot += x * krow[d]
					}
					s := dot * alpha
					if g.softcap > 0 {
						s = g.softcap * float32(math.Tanh(float64(s/g.softcap)))
					}
					probs[t] = s
					m = max(m, s)
				}
				var sum float64
				if g.smooth {
					m = max(m, 0)
					sum = math.Exp(float64(-m))
				}
				for t := start; t < causal; t++ {
					e := math.Exp(float64(probs[t] - m))
					probs[t] = float32(e)
					sum += e
				}
				orow := out[((bi*seq+si)*g.heads+h)*hs:][:hs]
				for t := start; t < causal; t++ {
					p := float32(float64(probs[t]) / sum)
					vrow := presV[kvBase+t*hs:][:hs]
					for d := range orow {
						orow[d] += p * vrow[d]
					}
				}
			}
		}
	}
	ot, err := fromFloats(dt, []int{b, seq, g.heads * hs}, out)
	if err != nil {
		return nil, err
	}
	pkOut, err := fromFloats(dt, []int{b, g.kvHeads, present, hs}, presK)
	if err != nil {
		return nil, err
	}
	pvOut, err := fromFloats(dt, []int{b, g.kvHeads, present, hs}, presV)
	if err != nil {
		return nil, err
	}
	return []tensor.Any{ot, pkOut, pvOut}, nil
}
