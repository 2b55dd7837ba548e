package exec

import (
	"context"
	"math"
	"sync"
	"unsafe"

	"github.com/zerfoo/zerfoo/internal/gemm"
	"github.com/zerfoo/zerfoo/internal/simd"
	"github.com/zerfoo/zerfoo/internal/workerpool"
	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/tensor"
)

// The com.microsoft ops of BERT-class exports (ONNX Runtime's transformer
// optimizer and quantizer write them): Attention, MultiHeadAttention,
// QuickGelu, BiasGelu and EmbedLayerNormalization, in float32 (other float
// types are widened and the results rounded back).

func init() {
	Register(onnx.MicrosoftDomain, "Attention", 1, 0, buildAttention)
	Register(onnx.MicrosoftDomain, "MultiHeadAttention", 1, 0, buildMHA)
	Register(onnx.MicrosoftDomain, "QuickGelu", 1, 0, buildQuickGelu)
	Register(onnx.MicrosoftDomain, "BiasGelu", 1, 0, buildBiasGelu)
	Register(onnx.MicrosoftDomain, "EmbedLayerNormalization", 1, 0, buildEmbedLayerNorm)
}

// attnMask is an attention's key mask in one of ONNX Runtime's forms, with
// the value a masked score gets (mask_filter_value, added to the score).
type attnMask struct {
	v      []int64
	shape  []int
	filter float32
	causal bool
	two    bool // a 1-D mask of 2B values: ends, then starts
}

// row fills add[t] for batch bi, query si of seq queries over total keys
// (past keys first): 0 or filter.
func (m *attnMask) row(add []float32, bi, si, total, past int) {
	clear(add)
	switch len(m.shape) {
	case 1:
		nb := len(m.v)
		if m.two {
			nb /= 2
		}
		for t := max(0, int(m.v[bi])); t < total; t++ {
			add[t] = m.filter
		}
		if m.two {
			for t := 0; t < min(int(m.v[nb+bi]), total); t++ {
				add[t] = m.filter
			}
		}
	case 2:
		row := m.v[bi*m.shape[1]:]
		for t := range add {
			if row[t] == 0 {
				add[t] = m.filter
			}
		}
	case 3:
		row := m.v[(bi*m.shape[1]+si)*m.shape[2]:]
		for t := range add {
			if row[t] == 0 {
				add[t] = m.filter
			}
		}
	}
	if m.causal {
		for t := past + si + 1; t < total; t++ {
			add[t] = m.filter
		}
	}
}

// newMask checks a mask of batch b, seq queries and total keys.
func newMask(x tensor.Any, b, seq, total int, filter float32, causal bool) (*attnMask, error) {
	m := &attnMask{filter: filter, causal: causal}
	if x == nil {
		return m, nil
	}
	v, err := ints(x)
	if err != nil {
		return nil, err
	}
	s := x.Shape()
	switch {
	case len(s) == 1 && s[0] == b:
	case len(s) == 1 && s[0] == 2*b:
		m.two = true
	case len(s) == 2 && s[0] == b && s[1] == total:
	case len(s) == 3 && s[0] == b && s[1] == seq && s[2] == total:
	default:
		return nil, shapeErr("mask of shape %v for batch %d, sequence %d, total sequence %d: want [B], [2B], [B, total] or [B, S, total]", s, b, seq, total)
	}
	m.v, m.shape = v, s
	return m, nil
}

// attnBias checks an attention_bias of shape [B or 1, N or 1, S, T].
func attnBias(x tensor.Any, b, n, seq, total int) ([]float32, []int, error) {
	if x == nil {
		return nil, nil, nil
	}
	s := x.Shape()
	if len(s) != 4 || (s[0] != b && s[0] != 1) || (s[1] != n && s[1] != 1) || s[2] != seq || s[3] != total {
		return nil, nil, shapeErr("attention_bias of shape %v, want [%d or 1, %d or 1, %d, %d]", s, b, n, seq, total)
	}
	v, err := floats(x)
	return v, s, err
}

// headLayout locates one head of a float32 tensor of queries, keys or
// values: row t of head hh of batch bi starts at bi·bs + hh·hs + t·ld.
// bias, when not nil, is added to the values as they are read: head hh's
// w values of a row get bias[hh·w:(hh+1)·w].
type headLayout struct {
	bs, hs, ld int
	bias       []float32
}

// rows returns the r rows of w values of head hh of batch bi and their
// stride: in place, or with the bias added in buf (grown as needed).
func (l headLayout) rows(x []float32, bi, hh, r, w int, buf *[]float32) ([]float32, int) {
	at := l.at(bi, hh)
	if l.bias == nil {
		return x[at:], l.ld
	}
	if cap(*buf) < r*w {
		*buf = make([]float32, r*w)
	}
	o := (*buf)[:r*w]
	b := l.bias[hh*w : (hh+1)*w]
	for t := 0; t < r; t++ {
		simd.Add(o[t*w:(t+1)*w], x[at+t*l.ld:][:w], b)
	}
	return o, w
}

func (l headLayout) at(bi, hh int) int { return bi*l.bs + hh*l.hs }

// bnsh is the layout of a [B, N, T, H] tensor.
func bnsh(n, t, h int) headLayout { return headLayout{bs: n * t * h, hs: t * h, ld: h} }

// bsd is the layout of a [B, T, D] tensor whose rows hold the heads side
// by side, h values each (D = N·h, or wider).
func bsd(t, d, h int) headLayout { return headLayout{bs: t * d, hs: h, ld: d} }

// attend computes softmax(scale·Q·Kᵀ + mask + bias)·V per batch and head:
// q of S rows of H, k of T rows of H and v of T rows of Hv per head, laid
// out as ql, kl and vl say, keys 0..past-1 being the past. It returns
// [B,S,N·Hv]. As ONNX Runtime does, the mask and bias are the initial C of
// the GEMM C = scale·Q·Kᵀ + C. Heads run in parallel, each reading its
// rows in place and writing its columns of the output.
func attend(ctx context.Context, q []float32, ql headLayout, k []float32, kl headLayout, v []float32, vl headLayout, b, n, seq, total, h, hv, past int, scale float32, mask *attnMask, bias []float32, bs []int) ([]float32, error) {
	out := newFloats(ctx, b*seq*n*hv) // every head writes its columns of every row
	var mu sync.Mutex
	var first error
	fail := func(err error) {
		mu.Lock()
		if first == nil {
			first = err
		}
		mu.Unlock()
	}
	// With a head for every worker the heads' products run on one thread
	// each: splitting a 128×128 product again only adds waiting.
	hctx := ctx
	if b*n >= workerpool.Workers() {
		hctx = workerpool.Inline(ctx)
	}
	err := workerpool.For(ctx, b*n, 1, func(lo, hi int) {
		scores := getFloat32s(seq * total)
		defer putFloat32s(scores)
		var qb, kb, vb []float32
		for bh := lo; bh < hi; bh++ {
			bi, hh := bh/n, bh%n
			// The head's columns of the output (seq rows of hv values,
			// n·hv apart) are written last, by the second product: fetch
			// them for writing now, while the scores are computed, so
			// that its stores do not wait for memory (a fresh output of a
			// batch is megabytes: BERT-base at batch 8, 0.97-0.99x the
			// time at two threads, 0.98-0.99x at one).
			if w := hv * 4 / 64; w > 0 && seq > 0 {
				simd.PrefetchRows(unsafe.Pointer(&out[bi*seq*n*hv+hh*hv]), 4*n*hv, seq, w)
			}
			for si := 0; si < seq; si++ {
				row := scores[si*total : (si+1)*total]
				mask.row(row, bi, si, total, past)
				if bias != nil {
					bb, bn := bi, hh
					if bs[0] == 1 {
						bb = 0
					}
					if bs[1] == 1 {
						bn = 0
					}
					for t, x := range bias[((bb*bs[1]+bn)*seq+si)*total:][:total] {
						row[t] += x
					}
				}
			}
			qh, ldq := ql.rows(q, bi, hh, seq, h, &qb)
			kh, ldk := kl.rows(k, bi, hh, total, h, &kb)
			vh, ldv := vl.rows(v, bi, hh, total, hv, &vb)
			if err := gemm.Sgemm(hctx, false, true, seq, total, h, scale, qh, ldq, kh, ldk, 1, scores, total); err != nil {
				fail(err)
				return
			}
			for si := 0; si < seq; si++ {
				row := scores[si*total : (si+1)*total]
				simd.Softmax(row, row)
			}
			if err := gemm.Sgemm(hctx, false, false, seq, hv, total, 1, scores, total, vh, ldv, 0, out[bi*seq*n*hv+hh*hv:], n*hv); err != nil {
				fail(err)
				return
			}
		}
	})
	if err == nil {
		err = first
	}
	return out, err
}

// heads copies x [B, L, N·H] (row stride ld, column offset off) into
// [B, N, L, H].
func heads(x []float32, b, l, n, h, ld, off int) []float32 {
	o := make([]float32, b*n*l*h)
	for bi := 0; bi < b; bi++ {
		for li := 0; li < l; li++ {
			row := x[(bi*l+li)*ld+off:]
			for hi := 0; hi < n; hi++ {
				copy(o[((bi*n+hi)*l+li)*h:][:h], row[hi*h:(hi+1)*h])
			}
		}
	}
	return o
}

// withPast prepends past [B, N, P, H] to cur [B, N, L, H].
func withPast(past, cur []float32, b, n, p, l, h int) []float32 {
	if p == 0 {
		return cur
	}
	o := make([]float32, b*n*(p+l)*h)
	for bh := 0; bh < b*n; bh++ {
		dst := o[bh*(p+l)*h:]
		copy(dst, past[bh*p*h:(bh+1)*p*h])
		copy(dst[p*h:], cur[bh*l*h:(bh+1)*l*h])
	}
	return o
}

// attnAttrs are the attributes Attention and MultiHeadAttention share.
type attnAttrs struct {
	heads  int
	filter float32
	scale  float32
	causal bool
}

func readAttnAttrs(n *Node) (attnAttrs, error) {
	var a attnAttrs
	h, err := n.Int("num_heads", 0)
	if err != nil {
		return a, err
	}
	if h <= 0 || h > 1<<16 {
		return a, attrErr("num_heads %d, want positive", h)
	}
	a.heads = int(h)
	if a.filter, err = n.Float("mask_filter_value", -10000); err != nil {
		return a, err
	}
	if a.scale, err = n.Float("scale", 0); err != nil {
		return a, err
	}
	u, err := n.Int("unidirectional", 0)
	if err != nil {
		return a, err
	}
	if u != 0 && u != 1 {
		return a, attrErr("unidirectional %d, want 0 or 1", u)
	}
	a.causal = u == 1
	return a, nil
}

func (a attnAttrs) scaleFor(h int) float32 {
	if a.scale != 0 {
		return a.scale
	}
	return float32(1 / math.Sqrt(float64(h)))
}

// buildAttention makes com.microsoft.Attention: input [B,S,D], weights
// [D, Dq+Dk+Dv], bias, mask_index, past [2,B,N,P,H], attention_bias
// [B|1,N|1,S,T]; outputs [B,S,Dv] and present [2,B,N,P+S,H].
func buildAttention(n *Node) (Kernel, error) {
	a, err := readAttnAttrs(n)
	if err != nil {
		return nil, err
	}
	qkv, err := n.Ints("qkv_hidden_sizes", nil)
	if err != nil {
		return nil, err
	}
	if qkv != nil && (len(qkv) != 3 || qkv[0] != qkv[1] || qkv[0] <= 0 || qkv[2] <= 0 || qkv[0]%int64(a.heads) != 0 || qkv[2]%int64(a.heads) != 0) {
		return nil, attrErr("qkv_hidden_sizes %v for %d heads: want 3 positive sizes, Q and K equal, multiples of num_heads", qkv, a.heads)
	}
	if r, err := n.Int("do_rotary", 0); err != nil || r != 0 {
		return nil, attrErr("do_rotary %d is not supported", r)
	}
	return func(ctx context.Context, in []tensor.Any) ([]tensor.Any, error) {
		if err := need(in, 2); err != nil {
			return nil, err
		}
		x, w := in[0], in[1]
		xs, ws := x.Shape(), w.Shape()
		if len(xs) != 3 || len(ws) != 2 || ws[0] != xs[2] {
			return nil, shapeErr("input %v and weights %v, want [B, S, D] and [D, Dq+Dk+Dv]", xs, ws)
		}
		b, seq := xs[0], xs[1]
		dq, dv := ws[1]/3, ws[1]/3
		if qkv != nil {
			dq, dv = int(qkv[0]), int(qkv[2])
		}
		if 2*dq+dv != ws[1] || dq%a.heads != 0 || dv%a.heads != 0 || dq == 0 {
			return nil, shapeErr("weights %v for %d heads (qkv_hidden_sizes %v)", ws, a.heads, qkv)
		}
		h, hv := dq/a.heads, dv/a.heads
		var pastV []float32
		p := 0
		if pt := opt(in, 4); pt != nil {
			ps := pt.Shape()
			if len(ps) != 5 || ps[0] != 2 || ps[1] != b || ps[2] != a.heads || ps[4] != h || h != hv {
				return nil, shapeErr("past of shape %v, want [2, %d, %d, P, %d]", ps, b, a.heads, h)
			}
			p = ps[3]
			if pastV, err = floats(pt); err != nil {
				return nil, err
			}
		}
		total := p + seq
		if err := checkWork(ctx, 4*(ws[1]+2*dq+dv+2*a.heads*h), x.DType(), []int{b, total}); err != nil {
			return nil, err
		}
		xf, err := f32Tensor(x)
		if err != nil {
			return nil, err
		}
		wf, err := f32Tensor(w)
		if err != nil {
			return nil, err
		}
		x2, err := xf.Reshape(b*seq, xs[2])
		if err != nil {
			return nil, err
		}
		proj, err := engine.MatMul(ctx, x2, wf)
		if err != nil {
			return nil, err
		}
		pv := proj.Data()
		if bt := opt(in, 2); bt != nil {
			bv, err := floats(bt)
			if err != nil {
				return nil, err
			}
			if len(bv) != ws[1] {
				return nil, shapeErr("bias of shape %v, want [%d]", bt.Shape(), ws[1])
			}
			for r := 0; r < b*seq; r++ {
				row := pv[r*ws[1] : (r+1)*ws[1]]
				for j := range row {
					row[j] += bv[j]
				}
			}
		}
		q := heads(pv, b, seq, a.heads, h, ws[1], 0)
		k := heads(pv, b, seq, a.heads, h, ws[1], dq)
		v := heads(pv, b, seq, a.heads, hv, ws[1], 2*dq)
		if pastV != nil {
			half := len(pastV) / 2
			k = withPast(pastV[:half], k, b, a.heads, p, seq, h)
			v = withPast(pastV[half:], v, b, a.heads, p, seq, hv)
		}
		mask, err := newMask(opt(in, 3), b, seq, total, a.filter, a.causal)
		if err != nil {
			return nil, err
		}
		bias, bs, err := attnBias(opt(in, 5), b, a.heads, seq, total)
		if err != nil {
			return nil, err
		}
		out, err := attend(ctx, q, bnsh(a.heads, seq, h), k, bnsh(a.heads, total, h), v, bnsh(a.heads, total, hv), b, a.heads, seq, total, h, hv, p, a.scaleFor(h), mask, bias, bs)
		if err != nil {
			return nil, err
		}
		y, err := fromFloats(x.DType(), []int{b, seq, dv}, out)
		if err != nil {
			return nil, err
		}
		if h != hv { // present needs equal head sizes; it is not produced
			return []tensor.Any{y, nil}, nil
		}
		present, err := fromFloats(x.DType(), []int{2, b, a.heads, total, h}, append(k, v...))
		if err != nil {
			return nil, err
		}
		return []tensor.Any{y, present}, nil
	}, nil
}

// buildMHA makes com.microsoft.MultiHeadAttention: query [B,S,D] (or
// packed QKV [B,S,N,3,H] without key and value), key and value [B,L,D]
// (or [B,N,L,H], already projected and split, which get no bias), bias
// [Dq+Dk+Dv], key_padding_mask [B] or [B,T], attention_bias, past_key and
// past_value [B,N,P,H]; outputs [B,S,Dv], present_key and present_value
// [B,N,P+L,H].
func buildMHA(n *Node) (Kernel, error) {
	a, err := readAttnAttrs(n)
	if err != nil {
		return nil, err
	}
	// the present key and value are made only when the node has them
	outs := n.Proto.GetOutput()
	present := len(outs) > 1 && outs[1] != "" || len(outs) > 2 && outs[2] != ""
	packed, err := n.Int(attrPackedQKV, 0)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, in []tensor.Any) ([]tensor.Any, error) {
		if err := need(in, 1); err != nil {
			return nil, err
		}
		qt := in[0]
		qs := qt.Shape()
		kt, vt := opt(in, 1), opt(in, 2)
		if opt(in, 9) != nil {
			return nil, typeErr("cache_indirection is not supported")
		}
		// query, keys, values and output per head in float32
		if err := checkWork(ctx, 4*6, qt.DType(), qs); err != nil {
			return nil, err
		}
		qv, err := floats(qt)
		if err != nil {
			return nil, err
		}
		var b, seq, l, h, hv int
		var q, k, v []float32
		var ql, kl, vl headLayout
		var biasV []float32
		if bt := opt(in, 3); bt != nil {
			if biasV, err = floats(bt); err != nil {
				return nil, err
			}
		}
		addBias := func(x []float32, rows, width, off int) []float32 {
			if biasV == nil {
				return x
			}
			o := make([]float32, len(x))
			for r := 0; r < rows; r++ {
				simd.Add(o[r*width:(r+1)*width], x[r*width:(r+1)*width], biasV[off:off+width])
			}
			return o
		}
		switch {
		case packed == 1:
			// query, key and value side by side in [B, S, 3·D] (fuseEpilogues)
			if len(qs) != 3 || qs[2]%(3*a.heads) != 0 || kt != nil || vt != nil || present || opt(in, 6) != nil {
				return nil, shapeErr("packed query, key and value of shape %v, want [B, S, 3·D] with D a multiple of %d and no key, value, past or present", qs, a.heads)
			}
			b, seq = qs[0], qs[1]
			dq := qs[2] / 3
			h = dq / a.heads
			l, hv = seq, h
			if biasV != nil && len(biasV) != 3*dq {
				return nil, shapeErr("bias of %d values, want %d", len(biasV), 3*dq)
			}
			q, k, v = qv, qv[dq:], qv[2*dq:]
			ql, kl, vl = bsd(seq, 3*dq, h), bsd(l, 3*dq, h), bsd(l, 3*dq, hv)
			if biasV != nil {
				ql.bias, kl.bias, vl.bias = biasV[:dq], biasV[dq:2*dq], biasV[2*dq:]
			}
		case kt == nil && vt == nil:
			if len(qs) != 5 || qs[2] != a.heads || qs[3] != 3 {
				return nil, shapeErr("query of shape %v without key and value, want packed [B, S, %d, 3, H]", qs, a.heads)
			}
			b, seq, h = qs[0], qs[1], qs[4]
			l, hv = seq, h
			d := a.heads * h
			if biasV != nil && len(biasV) != 3*d {
				return nil, shapeErr("bias of %d values, want %d", len(biasV), 3*d)
			}
			q = make([]float32, b*a.heads*seq*h)
			k = make([]float32, len(q))
			v = make([]float32, len(q))
			ql, kl, vl = bnsh(a.heads, seq, h), bnsh(a.heads, l, h), bnsh(a.heads, l, hv)
			for bi := 0; bi < b; bi++ {
				for si := 0; si < seq; si++ {
					for hi := 0; hi < a.heads; hi++ {
						src := qv[(((bi*seq+si)*a.heads+hi)*3)*h:]
						dst := ((bi*a.heads+hi)*seq + si) * h
						for j := 0; j < h; j++ {
							var bq, bk, bv float32
							if biasV != nil {
								bq, bk, bv = biasV[hi*h+j], biasV[d+hi*h+j], biasV[2*d+hi*h+j]
							}
							q[dst+j] = src[j] + bq
							k[dst+j] = src[h+j] + bk
							v[dst+j] = src[2*h+j] + bv
						}
					}
				}
			}
		case kt != nil && vt != nil:
			if len(qs) != 3 || qs[2]%a.heads != 0 {
				return nil, shapeErr("query of shape %v, want [B, S, D] with D a multiple of %d", qs, a.heads)
			}
			b, seq = qs[0], qs[1]
			dq := qs[2]
			h = dq / a.heads
			ks, vs := kt.Shape(), vt.Shape()
			kf, err := floats(kt)
			if err != nil {
				return nil, err
			}
			vf, err := floats(vt)
			if err != nil {
				return nil, err
			}
			switch {
			case len(ks) == 3 && len(vs) == 3 && ks[0] == b && vs[0] == b && ks[1] == vs[1] && ks[2] == dq && vs[2]%a.heads == 0:
				l, hv = ks[1], vs[2]/a.heads
				if biasV != nil && len(biasV) != 2*dq+vs[2] {
					return nil, shapeErr("bias of %d values, want %d", len(biasV), 2*dq+vs[2])
				}
				// read the heads in place unless a past or the present
				// needs them [B, N, L, H]
				// read the heads in place (adding the bias per head)
				// unless a past or the present needs them [B, N, L, H]
				q, ql = qv, bsd(seq, dq, h)
				k, kl = kf, bsd(l, dq, h)
				v, vl = vf, bsd(l, vs[2], hv)
				if biasV != nil {
					ql.bias, kl.bias, vl.bias = biasV[:dq], biasV[dq:2*dq], biasV[2*dq:]
				}
				if present || opt(in, 6) != nil {
					k = heads(addBias(kf, b*l, dq, dq), b, l, a.heads, h, dq, 0)
					v = heads(addBias(vf, b*l, vs[2], 2*dq), b, l, a.heads, hv, vs[2], 0)
					kl, vl = bnsh(a.heads, l, h), bnsh(a.heads, l, hv)
				}
			case len(ks) == 4 && len(vs) == 4 && ks[0] == b && ks[1] == a.heads && ks[3] == h && vs[0] == b && vs[1] == a.heads && vs[2] == ks[2]:
				l, hv = ks[2], vs[3]
				if biasV != nil && len(biasV) < dq {
					return nil, shapeErr("bias of %d values, want at least %d", len(biasV), dq)
				}
				q, ql = qv, bsd(seq, dq, h)
				if biasV != nil {
					ql.bias = biasV[:dq]
				}
				k, v = kf, vf
				kl, vl = bnsh(a.heads, l, h), bnsh(a.heads, l, hv)
			default:
				return nil, shapeErr("query %v, key %v, value %v: want key and value [B, L, D] or [B, %d, L, H]", qs, ks, vs, a.heads)
			}
		default:
			return nil, typeErr("key and value must both be given or both be absent")
		}
		p := 0
		pk, pv := opt(in, 6), opt(in, 7)
		if (pk == nil) != (pv == nil) {
			return nil, typeErr("past_key and past_value must both be given")
		}
		if pk != nil {
			ps, pvs := pk.Shape(), pv.Shape()
			if len(ps) != 4 || ps[0] != b || ps[1] != a.heads || ps[3] != h || len(pvs) != 4 || pvs[2] != ps[2] || pvs[3] != hv {
				return nil, shapeErr("past_key %v and past_value %v, want [%d, %d, P, %d]", ps, pvs, b, a.heads, h)
			}
			p = ps[2]
			pkf, err := floats(pk)
			if err != nil {
				return nil, err
			}
			pvf, err := floats(pv)
			if err != nil {
				return nil, err
			}
			k = withPast(pkf, k, b, a.heads, p, l, h)
			v = withPast(pvf, v, b, a.heads, p, l, hv)
			kl, vl = bnsh(a.heads, p+l, h), bnsh(a.heads, p+l, hv)
		}
		total := p + l
		if err := checkWork(ctx, 4*2*a.heads*(h+hv), qt.DType(), []int{b, total}); err != nil {
			return nil, err
		}
		mask, err := newMask(opt(in, 4), b, seq, total, a.filter, a.causal)
		if err != nil {
			return nil, err
		}
		if mask.v != nil && len(mask.shape) == 1 && mask.two {
			return nil, shapeErr("key_padding_mask of shape %v: want [B] or [B, %d]", mask.shape, total)
		}
		bias, bs, err := attnBias(opt(in, 5), b, a.heads, seq, total)
		if err != nil {
			return nil, err
		}
		out, err := attend(ctx, q, ql, k, kl, v, vl, b, a.heads, seq, total, h, hv, p, a.scaleFor(h), mask, bias, bs)
		if err != nil {
			return nil, err
		}
		dt := qt.DType()
		y, err := fromFloats(dt, []int{b, seq, a.heads * hv}, out)
		if err != nil {
			return nil, err
		}
		if !present {
			return []tensor.Any{y, nil, nil}, nil
		}
		pkOut, err := fromFloats(dt, []int{b, a.heads, total, h}, k)
		if err != nil {
			return nil, err
		}
		pvOut, err := fromFloats(dt, []int{b, a.heads, total, hv}, v)
		if err != nil {
			return nil, err
		}
		return []tensor.Any{y, pkOut, pvOut}, nil
	}, nil
}

func buildQuickGelu(n *Node) (Kernel, error) {
	alpha, err := n.Float("alpha", 1.702)
	if err != nil {
		return nil, err
	}
	return unaryKernel(unaryOp{f: func(x float32) float32 {
		return x * float32(1/(1+math.Exp(-float64(alpha*x))))
	}}), nil
}

// buildBiasGelu makes com.microsoft.BiasGelu: the exact GELU of A + bias,
// bias a 1-D tensor the size of A's last dim. erf is simd.Erf (absolute
// error below 5e-7; ONNX Runtime's BiasGelu also uses an approximation,
// MlasComputeErf), vectorized.
func buildBiasGelu(*Node) (Kernel, error) {
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 2); err != nil {
			return nil, err
		}
		x, bt := in[0], in[1]
		xs := x.Shape()
		if len(xs) == 0 {
			return nil, shapeErr("A is a scalar, want rank ≥ 1")
		}
		if len(bt.Shape()) != 1 || bt.Shape()[0] != xs[len(xs)-1] {
			return nil, shapeErr("A of shape %v and bias %v, want bias [%d]", xs, bt.Shape(), xs[len(xs)-1])
		}
		if x.DType() != bt.DType() {
			return nil, typeErr("A is %s, bias %s", x.DType(), bt.DType())
		}
		if err := checkLike(ctx, 4+x.DType().Size(), x); err != nil {
			return nil, err
		}
		xv, err := floats(x)
		if err != nil {
			return nil, err
		}
		bv, err := floats(bt)
		if err != nil {
			return nil, err
		}
		w := len(bv)
		var out []float32
		if w > 0 && len(xv)%w == 0 {
			out = newFloats(ctx, len(xv)) // every row written
		} else {
			out = make([]float32, len(xv))
		}
		err = workerpool.For(ctx, len(xv)/max(1, w), max(1, 4096/max(1, w)), func(lo, hi int) {
			for r := lo; r < hi; r++ {
				simd.BiasGelu(out[r*w:(r+1)*w], xv[r*w:(r+1)*w], bv)
			}
		})
		if err != nil {
			return nil, err
		}
		return fromFloats(x.DType(), xs, out)
	}), nil
}

// buildEmbedLayerNorm makes com.microsoft.EmbedLayerNormalization:
// LayerNorm(word[input_ids] + position[position_ids or s] +
// segment[segment_ids]) · gamma + beta per token, mask_index the count of
// ones in each row of mask (0 without a mask) and, as a third output, the
// sum before normalization.
func buildEmbedLayerNorm(n *Node) (Kernel, error) {
	eps, err := n.Float("epsilon", 1e-12)
	if err != nil {
		return nil, err
	}
	if eps < 0 {
		return nil, attrErr("epsilon %g, want ≥ 0", eps)
	}
	return func(ctx context.Context, in []tensor.Any) ([]tensor.Any, error) {
		if err := need(in, 7); err != nil {
			if len(in) < 7 || in[0] == nil || in[2] == nil || in[3] == nil || in[5] == nil || in[6] == nil {
				return nil, typeErr("input_ids, word_embedding, position_embedding, gamma and beta are required")
			}
		}
		ids, word, pos, gamma, beta := in[0], in[2], in[3], in[5], in[6]
		is, wsh, ps := ids.Shape(), word.Shape(), pos.Shape()
		if len(is) != 2 || len(wsh) != 2 || len(ps) != 2 || ps[1] != wsh[1] {
			return nil, shapeErr("input_ids %v, word_embedding %v, position_embedding %v: want [B, S], [V, H], [P, H]", is, wsh, ps)
		}
		b, seq, hid := is[0], is[1], wsh[1]
		if gamma.Size() != hid || beta.Size() != hid {
			return nil, shapeErr("gamma %v and beta %v for hidden size %d", gamma.Shape(), beta.Shape(), hid)
		}
		if err := checkWork(ctx, 2*(4+word.DType().Size()), word.DType(), []int{b, seq, hid}); err != nil {
			return nil, err
		}
		idv, err := ints(ids)
		if err != nil {
			return nil, err
		}
		var segv []int64
		var seg []float32
		segRows := 0
		if st, se := in[1], opt(in, 4); st != nil || se != nil {
			if st == nil || se == nil || !tensor.SameShape(st.Shape(), is) || len(se.Shape()) != 2 || se.Shape()[1] != hid {
				return nil, shapeErr("segment_ids and segment_embedding must both be given, [B, S] and [G, %d]", hid)
			}
			if segv, err = ints(st); err != nil {
				return nil, err
			}
			if seg, err = floats(se); err != nil {
				return nil, err
			}
			segRows = se.Shape()[0]
		}
		var posv []int64
		if pt := opt(in, 8); pt != nil {
			s := pt.Shape()
			if len(s) != 2 || s[1] != seq || (s[0] != b && s[0] != 1) {
				return nil, shapeErr("position_ids of shape %v, want [%d or 1, %d]", s, b, seq)
			}
			if posv, err = ints(pt); err != nil {
				return nil, err
			}
		}
		wv, err := floats(word)
		if err != nil {
			return nil, err
		}
		pv, err := floats(pos)
		if err != nil {
			return nil, err
		}
		gv, err := floats(gamma)
		if err != nil {
			return nil, err
		}
		bv, err := floats(beta)
		if err != nil {
			return nil, err
		}
		// the ids are checked first, so that the parallel loop cannot fail
		rowOf := func(t int) (wi, pi, si int) {
			wi, pi = int(idv[t]), t%seq
			if posv != nil {
				pi = int(posv[t%len(posv)])
			}
			if segv != nil {
				si = int(segv[t])
			}
			return wi, pi, si
		}
		for t := 0; t < b*seq; t++ {
			if idv[t] < 0 || idv[t] >= int64(wsh[0]) || (posv != nil && (posv[t%len(posv)] < 0 || posv[t%len(posv)] >= int64(ps[0]))) || (posv == nil && t%seq >= ps[0]) {
				return nil, &Error{Msg: "input or position id out of range of its embedding", Err: tensor.ErrIndex}
			}
			if segv != nil && (segv[t] < 0 || segv[t] >= int64(segRows)) {
				return nil, &Error{Msg: "segment id out of range of its embedding", Err: tensor.ErrIndex}
			}
		}
		out := newFloats(ctx, b*seq*hid) // every row written
		sum := newFloats(ctx, len(out))
		err = workerpool.For(ctx, b*seq, max(1, 4096/max(1, hid)), func(lo, hi int) {
			for t := lo; t < hi; t++ {
				wi, pi, si := rowOf(t)
				o, s := out[t*hid:(t+1)*hid], sum[t*hid:(t+1)*hid]
				wr, pr := wv[wi*hid:], pv[pi*hid:]
				var sr []float32
				if segv != nil {
					sr = seg[si*hid:]
				}
				var mean float64
				for j := range s {
					v := wr[j] + pr[j]
					if sr != nil {
						v += sr[j]
					}
					s[j] = v
					mean += float64(v)
				}
				mean /= float64(hid)
				var vr float64
				for _, v := range s {
					d := float64(v) - mean
					vr += d * d
				}
				inv := 1 / math.Sqrt(vr/float64(hid)+float64(eps))
				for j, v := range s {
					o[j] = float32((float64(v)-mean)*inv)*gv[j] + bv[j]
				}
			}
		})
		if err != nil {
			return nil, err
		}
		dt := word.DType()
		y, err := fromFloats(dt, []int{b, seq, hid}, out)
		if err != nil {
			return nil, err
		}
		mi := make([]int32, b)
		if mt := opt(in, 7); mt != nil {
			if !tensor.SameShape(mt.Shape(), is) {
				return nil, shapeErr("mask of shape %v, want %v", mt.Shape(), is)
			}
			mv, err := ints(mt)
			if err != nil {
				return nil, err
			}
			for t, v := range mv {
				if v == 1 {
					mi[t/seq]++
				}
			}
		}
		mit, err := tensor.New([]int{b}, mi)
		if err != nil {
			return nil, err
		}
		es, err := fromFloats(dt, []int{b, seq, hid}, sum)
		if err != nil {
			return nil, err
		}
		return []tensor.Any{y, mit, es}, nil
	}, nil
}
