package gemma3

import (
	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/onnx/onnxpb"
)

// oxLayer is one decoder block read around its GroupQueryAttention node.
type oxLayer struct {
	Layer
	window   int64 // local_window_size (−1: global)
	cos, sin string
	out      string // value holding the block's post-FFN norm output
	heads    int
	kvHeads  int
	scale    float32
	eps      float32
}

// splitRange returns the rows [lo, hi) of the packed projection that
// output v of the Split node sp holds (the 2026 builder's qkv_proj), from
// the split input, the split attribute (opset < 13) or equal parts.
func (g *ox) splitRange(sp *onnxpb.NodeProto, v string, n int) (int, int) {
	if g.err != nil {
		return 0, 0
	}
	if ax := attr(g, sp, "axis", int64(0)); ax != -1 && ax != 2 {
		g.fail("Split %s is along axis %d, not the last", sp.GetName(), ax)
		return 0, 0
	}
	outs := sp.GetOutput()
	var sizes []int64
	if in := sp.GetInput(); len(in) > 1 && in[1] != "" {
		t := g.m.Initializer(in[1])
		if t == nil {
			g.fail("Split %s: sizes %q are not an initializer", sp.GetName(), in[1])
			return 0, 0
		}
		var err error
		if sizes, err = onnx.TensorData[int64](g.m, t); err != nil {
			g.fail("Split %s: sizes %q: %v", sp.GetName(), in[1], err)
			return 0, 0
		}
	} else {
		sizes = attr(g, sp, "split", []int64(nil))
	}
	if sizes == nil && n%len(outs) == 0 {
		for range outs {
			sizes = append(sizes, int64(n/len(outs)))
		}
	}
	var sum int64
	lo, hi := -1, -1
	for i, s := range sizes {
		if s < 0 || s > int64(n) {
			break
		}
		if i < len(outs) && outs[i] == v {
			lo, hi = int(sum), int(sum+s)
		}
		sum += s
	}
	if len(sizes) != len(outs) || sum != int64(n) || lo < 0 {
		g.fail("Split %s: sizes %v do not cut the %d rows of its input into its %d outputs", sp.GetName(), sizes, n, len(outs))
		return 0, 0
	}
	return lo, hi
}

// proj returns the projection writing v — a MatMulNBits, or one part of a
// Split of a packed MatMulNBits — and the value the projection reads.
func (g *ox) proj(v string) (Matrix, string) {
	n := g.producer(v, "MatMulNBits", "Split")
	if n == nil {
		return nil, ""
	}
	if n.GetOpType() == "MatMulNBits" {
		return g.nbits(n), n.GetInput()[0]
	}
	mm := g.producer(n.GetInput()[0], "MatMulNBits")
	if mm == nil {
		return nil, ""
	}
	nb, ok := g.packed[mm]
	if !ok {
		nb = g.readNBits(mm)
		g.packed[mm] = nb
	}
	if nb == nil {
		return nil, ""
	}
	lo, hi := g.splitRange(n, v, nb.q.N)
	if g.err != nil {
		return nil, ""
	}
	return g.matrix(nb.rows(lo, hi), mm.GetName()), mm.GetInput()[0]
}

// qk follows q or k from GroupQueryAttention back to its projection:
// projection → Reshape → SimplifiedLayerNormalization → Reshape, then
// RotaryEmbedding unless the attention applies RoPE itself (do_rotary 1).
func (g *ox) qk(v string, l *oxLayer, rotary bool) (Matrix, []float32, string) {
	if !rotary {
		rot := g.producer(v, "RotaryEmbedding")
		if rot == nil {
			return nil, nil, ""
		}
		if attr(g, rot, "interleaved", int64(0)) != 0 {
			g.fail("RotaryEmbedding %s is interleaved", rot.GetName())
		}
		if len(rot.GetInput()) < 4 {
			g.fail("RotaryEmbedding %s has no cos/sin caches", rot.GetName())
			return nil, nil, ""
		}
		l.cos, l.sin = rot.GetInput()[2], rot.GetInput()[3]
		v = rot.GetInput()[0]
	}
	flat := g.producer(v, "Reshape")
	var nrm, heads *onnxpb.NodeProto
	if flat != nil {
		nrm = g.producer(flat.GetInput()[0], "SimplifiedLayerNormalization")
	}
	if nrm != nil {
		heads = g.producer(nrm.GetInput()[0], "Reshape")
	}
	if heads == nil {
		return nil, nil, ""
	}
	w, _ := g.norm(nrm)
	m, in := g.proj(heads.GetInput()[0])
	return m, w, in
}

func (g *ox) layer(gqa *onnxpb.NodeProto) *oxLayer {
	l := &oxLayer{}
	rotary := attr(g, gqa, "do_rotary", int64(0)) != 0
	if sc := attr(g, gqa, "softcap", float32(0)); sc != 0 {
		g.fail("GroupQueryAttention %s has softcap %g", gqa.GetName(), sc)
	}
	if attr(g, gqa, "rotary_interleaved", int64(0)) != 0 {
		g.fail("GroupQueryAttention %s applies interleaved RoPE", gqa.GetName())
	}
	l.heads, l.kvHeads = int(attr(g, gqa, "num_heads", int64(0))), int(attr(g, gqa, "kv_num_heads", int64(0)))
	l.scale, l.window = attr(g, gqa, "scale", float32(0)), attr(g, gqa, "local_window_size", int64(-1))
	in := gqa.GetInput()
	if len(in) < 3 || in[1] == "" || in[2] == "" {
		g.fail("GroupQueryAttention %s takes packed QKV (no separate key and value)", gqa.GetName())
		return l
	}
	if rotary {
		if len(in) < 9 || in[7] == "" || in[8] == "" {
			g.fail("GroupQueryAttention %s has do_rotary 1 but no cos/sin caches", gqa.GetName())
			return l
		}
		l.cos, l.sin = in[7], in[8]
	}
	var qIn, kIn string
	l.Q, l.QNorm, qIn = g.qk(in[0], l, rotary)
	cos, sin := l.cos, l.sin
	l.K, l.KNorm, kIn = g.qk(in[1], l, rotary)
	if g.err == nil && (cos != l.cos || sin != l.sin) {
		g.fail("GroupQueryAttention %s: q and k use different RoPE caches", gqa.GetName())
	}
	var vIn string
	l.V, vIn = g.proj(in[2])
	if g.err == nil && (qIn != kIn || qIn != vIn) {
		g.fail("GroupQueryAttention %s: q, k and v project different values", gqa.GetName())
	}
	if g.err == nil {
		if n := g.producer(vIn, "SimplifiedLayerNormalization", "SkipSimplifiedLayerNormalization"); n != nil {
			l.AttnNorm, l.eps = g.norm(n)
		}
	}
	o := g.consumer(gqa.GetOutput()[0], "MatMulNBits")
	l.O = g.nbits(o)
	var post, pre, act, mul, down, postFFN *onnxpb.NodeProto
	if o != nil {
		post = g.consumer(o.GetOutput()[0], "SimplifiedLayerNormalization")
	}
	if post != nil {
		l.PostAttnNorm, _ = g.norm(post)
		pre = g.consumer(post.GetOutput()[0], "SkipSimplifiedLayerNormalization")
	}
	if pre != nil {
		l.FFNNorm, _ = g.norm(pre)
		for _, mm := range g.cons[pre.GetOutput()[0]] {
			if mm.GetOpType() != "MatMulNBits" {
				continue
			}
			if a := g.find(mm.GetOutput()[0], "FastGelu", "Gelu"); a != nil {
				act, l.Gate = a, g.nbits(mm)
			} else { // the up projection feeds the Mul directly
				l.Up = g.nbits(mm)
			}
		}
	}
	if act != nil {
		if act.GetOpType() == "Gelu" && attr(g, act, "approximate", "none") != "tanh" {
			g.fail("Gelu %s is not the tanh approximation", act.GetName())
		}
		if act.GetOpType() == "FastGelu" && len(act.GetInput()) > 1 && act.GetInput()[1] != "" {
			g.fail("FastGelu %s has a bias", act.GetName())
		}
		mul = g.consumer(act.GetOutput()[0], "Mul")
	} else if pre != nil {
		g.fail("no gate projection with FastGelu or Gelu after %s", pre.GetName())
	}
	if mul != nil {
		down = g.consumer(mul.GetOutput()[0], "MatMulNBits")
	}
	if down != nil {
		l.Down = g.nbits(down)
		postFFN = g.consumer(down.GetOutput()[0], "SimplifiedLayerNormalization")
	}
	if postFFN != nil {
		l.PostFFNNorm, _ = g.norm(postFFN)
		l.out = postFFN.GetOutput()[0]
	}
	return l
}
