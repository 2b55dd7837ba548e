package gemma3

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/zerfoo/zerfoo/internal/qgemm"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/onnx/onnxpb"
)

// ErrONNXLayout is wrapped by FromONNX's errors for graphs that are not
// an onnxruntime-genai Gemma 3 export this package understands.
var ErrONNXLayout = errors.New("gemma3: unsupported ONNX layout")

// FromONNX builds the decoder from an onnxruntime-genai export of a Gemma 3
// text model (shared/specs/ort-genai-gemma3.md §1), found by the graph's
// structure rather than by names: a float Gather embedding of input_ids
// followed by a Mul by the embedding scale; per layer the input norm,
// MatMulNBits q, k and v projections, per-head q/k SimplifiedLayerNormalization,
// com.microsoft.RotaryEmbedding with the layer's cos/sin caches,
// GroupQueryAttention (do_rotary 0), the o projection, post-attention and
// pre-FFN norms, gate and up projections, FastGelu or tanh Gelu, down
// projection and post-FFN norm; the final norm and the MatMulNBits LM head
// producing "logits". The export's own numbers are kept: its embedding
// scale (round(√H, 2)), its RoPE tables (the cos/sin caches, so the
// builder's scaling choices carry over), and local_window_size as the
// window (the keys a local layer sees, the current one included: what
// onnx/exec and ONNX Runtime 1.30 compute on the tiny export, not the W + 1
// that ort-genai-gemma3.md §1.4 read from ORT's source). Norm weights already hold
// Gemma's 1 + w. MatMulNBits weights are packed for internal/qgemm
// (accuracy_level 4: int8 activations, otherwise float32).
//
// Not supported (ErrONNXLayout): the 2026 builder's packed qkv_proj + Split
// and GroupQueryAttention with do_rotary 1, GatherBlockQuantized (shared
// int4) embeddings, inputs_embeds graphs (4b+), MatMulNBits biases and
// g_idx. The weights are copied; m may be closed afterwards.
func FromONNX(m *onnx.Model, opt LoadOptions) (*Model, error) {
	g := ox{m: m, prod: map[string]*onnxpb.NodeProto{}, cons: map[string][]*onnxpb.NodeProto{}}
	for _, n := range m.Graph().GetNode() {
		for _, o := range n.GetOutput() {
			g.prod[o] = n
		}
		for _, in := range n.GetInput() {
			g.cons[in] = append(g.cons[in], n)
		}
	}
	return g.build(opt)
}

// ox walks an ONNX graph; err holds the first problem found.
type ox struct {
	m    *onnx.Model
	prod map[string]*onnxpb.NodeProto
	cons map[string][]*onnxpb.NodeProto
	err  error
}

func (g *ox) fail(format string, args ...any) {
	if g.err == nil {
		g.err = fmt.Errorf("gemma3: ONNX: "+format+": %w", append(args, ErrONNXLayout)...)
	}
}

// find returns the first node of type op (any of ops) reading value v, or
// nil.
func (g *ox) find(v string, ops ...string) *onnxpb.NodeProto {
	for _, n := range g.cons[v] {
		for _, op := range ops {
			if n.GetOpType() == op {
				return n
			}
		}
	}
	return nil
}

// consumer is find, failing when there is no such node.
func (g *ox) consumer(v string, ops ...string) *onnxpb.NodeProto {
	if g.err != nil {
		return nil
	}
	n := g.find(v, ops...)
	if n == nil {
		g.fail("no %v node reads %q", ops, v)
	}
	return n
}

// producer returns the node of type op (any of ops) writing value v.
func (g *ox) producer(v string, ops ...string) *onnxpb.NodeProto {
	if g.err != nil {
		return nil
	}
	n := g.prod[v]
	for _, op := range ops {
		if n != nil && n.GetOpType() == op {
			return n
		}
	}
	g.fail("%q is not the output of a %v node", v, ops)
	return nil
}

func (g *ox) floats(name string) []float32 {
	if g.err != nil {
		return nil
	}
	t := g.m.Initializer(name)
	if t == nil {
		g.fail("%q is not an initializer", name)
		return nil
	}
	v, err := onnx.TensorData[float32](g.m, t)
	if err != nil {
		g.err = fmt.Errorf("gemma3: ONNX initializer %s: %w", name, err)
	}
	return v
}

func attr[T any](g *ox, n *onnxpb.NodeProto, name string, def T) T {
	if g.err != nil || n == nil {
		return def
	}
	v, err := onnx.AttrOr(n, name, def)
	if err != nil {
		g.err = fmt.Errorf("gemma3: ONNX: %w", err)
	}
	return v
}

// norm returns the weights (and epsilon) of a (Skip)SimplifiedLayerNormalization.
func (g *ox) norm(n *onnxpb.NodeProto) ([]float32, float32) {
	if g.err != nil {
		return nil, 0
	}
	w := n.GetInput()[1]
	if n.GetOpType() == "SkipSimplifiedLayerNormalization" {
		w = n.GetInput()[2]
	}
	return g.floats(w), attr(g, n, "epsilon", float32(1e-5))
}

// nbits packs a MatMulNBits node's weights.
func (g *ox) nbits(n *onnxpb.NodeProto) Matrix {
	if g.err != nil {
		return nil
	}
	in := n.GetInput()
	if len(in) > 5 && in[5] != "" || len(in) > 4 && in[4] != "" {
		g.fail("MatMulNBits %s has a g_idx or bias input", n.GetName())
		return nil
	}
	q := &numeric.BlockQuantized{N: int(attr(g, n, "N", int64(0))), K: int(attr(g, n, "K", int64(0))),
		Bits: int(attr(g, n, "bits", int64(4))), BlockSize: int(attr(g, n, "block_size", int64(0)))}
	bt := g.m.Initializer(in[1])
	if bt == nil {
		g.fail("MatMulNBits %s: weights %q are not an initializer", n.GetName(), in[1])
		return nil
	}
	var err error
	if q.B, err = onnx.TensorData[uint8](g.m, bt); err != nil {
		g.err = fmt.Errorf("gemma3: ONNX %s: %w", in[1], err)
		return nil
	}
	q.Scales = g.floats(in[2])
	if len(in) > 3 && in[3] != "" {
		zt := g.m.Initializer(in[3])
		if zt == nil || zt.GetDataType() != int32(onnx.Uint8) {
			g.fail("MatMulNBits %s: zero points %q are not a uint8 initializer", n.GetName(), in[3])
			return nil
		}
		if q.ZeroPoints, err = onnx.TensorData[uint8](g.m, zt); err != nil {
			g.err = fmt.Errorf("gemma3: ONNX %s: %w", in[3], err)
			return nil
		}
	}
	if g.err != nil {
		return nil
	}
	act := qgemm.Float32
	var opts []qgemm.PackOption
	if attr(g, n, "accuracy_level", int64(0)) == 4 {
		// Int8 activations; 24-bit scales as layers/core stores them.
		act = qgemm.Int8
		opts = append(opts, qgemm.CompactScales())
	}
	pm, err := qgemm.PackNBits(q, opts...)
	if err != nil {
		g.err = fmt.Errorf("gemma3: ONNX MatMulNBits %s: %w", n.GetName(), err)
		return nil
	}
	return &NBits{Q: q, m: pm, act: act}
}

// layer reads one decoder block around its GroupQueryAttention node.
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

// qk follows q or k from GroupQueryAttention back to its projection:
// MatMulNBits → Reshape → SimplifiedLayerNormalization → Reshape → RotaryEmbedding.
func (g *ox) qk(v string, l *oxLayer) (Matrix, []float32) {
	rot := g.producer(v, "RotaryEmbedding")
	if rot == nil {
		return nil, nil
	}
	if attr(g, rot, "interleaved", int64(0)) != 0 {
		g.fail("RotaryEmbedding %s is interleaved", rot.GetName())
	}
	l.cos, l.sin = rot.GetInput()[2], rot.GetInput()[3]
	flat := g.producer(rot.GetInput()[0], "Reshape")
	var nrm, heads, proj *onnxpb.NodeProto
	if flat != nil {
		nrm = g.producer(flat.GetInput()[0], "SimplifiedLayerNormalization")
	}
	if nrm != nil {
		heads = g.producer(nrm.GetInput()[0], "Reshape")
	}
	if heads != nil {
		proj = g.producer(heads.GetInput()[0], "MatMulNBits")
	}
	if proj == nil {
		return nil, nil
	}
	w, _ := g.norm(nrm)
	return g.nbits(proj), w
}

func (g *ox) layer(gqa *onnxpb.NodeProto) *oxLayer {
	l := &oxLayer{}
	if attr(g, gqa, "do_rotary", int64(0)) != 0 {
		g.fail("GroupQueryAttention %s applies RoPE itself (do_rotary=1, the 2026 builder's layout)", gqa.GetName())
		return l
	}
	if sc := attr(g, gqa, "softcap", float32(0)); sc != 0 {
		g.fail("GroupQueryAttention %s has softcap %g", gqa.GetName(), sc)
	}
	l.heads, l.kvHeads = int(attr(g, gqa, "num_heads", int64(0))), int(attr(g, gqa, "kv_num_heads", int64(0)))
	l.scale, l.window = attr(g, gqa, "scale", float32(0)), attr(g, gqa, "local_window_size", int64(-1))
	in := gqa.GetInput()
	l.Q, l.QNorm = g.qk(in[0], l)
	cos, sin := l.cos, l.sin
	l.K, l.KNorm = g.qk(in[1], l)
	if g.err == nil && (cos != l.cos || sin != l.sin) {
		g.fail("GroupQueryAttention %s: q and k use different RoPE caches", gqa.GetName())
	}
	if vp := g.producer(in[2], "MatMulNBits"); vp != nil {
		l.V = g.nbits(vp)
		if n := g.producer(vp.GetInput()[0], "SimplifiedLayerNormalization", "SkipSimplifiedLayerNormalization"); n != nil {
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

func (g *ox) build(opt LoadOptions) (*Model, error) {
	var emb *onnxpb.NodeProto
	for _, n := range g.cons["input_ids"] {
		switch n.GetOpType() {
		case "Gather":
			emb = n
		case "GatherBlockQuantized":
			g.fail("int4 shared embedding (GatherBlockQuantized %s)", n.GetName())
		}
	}
	if emb == nil {
		g.fail("no Gather of input_ids (inputs_embeds graphs of 4b+ exports are not supported)")
		return nil, g.err
	}
	table := g.m.Initializer(emb.GetInput()[0])
	if table == nil || len(table.GetDims()) != 2 {
		g.fail("embedding %q is not a 2-D initializer", emb.GetInput()[0])
		return nil, g.err
	}
	d0, d1 := table.GetDims()[0], table.GetDims()[1]
	if d0 < 1 || d0 > MaxVocab || d1 < 1 || d1 > MaxHidden {
		g.fail("embedding %q is %d×%d, outside [1, %d]×[1, %d]", emb.GetInput()[0], d0, d1, MaxVocab, MaxHidden)
		return nil, g.err
	}
	vocab, hidden := int(d0), int(d1)
	embed := &Dense{N: vocab, K: hidden, Data: g.floats(emb.GetInput()[0])}
	if g.err == nil && len(embed.Data) != vocab*hidden {
		g.fail("embedding %q has %d values, want %d×%d", emb.GetInput()[0], len(embed.Data), vocab, hidden)
	}
	w := &Weights{Embed: embed}
	var c Config
	if mul := g.consumer(emb.GetOutput()[0], "Mul"); mul != nil {
		if s := g.floats(mul.GetInput()[1]); len(s) == 1 {
			c.EmbedScale = s[0]
		} else if g.err == nil {
			g.fail("embedding scale %q is not a scalar", mul.GetInput()[1])
		}
	}
	var layers []*oxLayer
	for _, n := range g.m.Graph().GetNode() {
		if n.GetOpType() == "GroupQueryAttention" && g.err == nil {
			layers = append(layers, g.layer(n))
		}
	}
	if g.err != nil {
		return nil, g.err
	}
	if len(layers) == 0 {
		g.fail("no GroupQueryAttention nodes")
		return nil, g.err
	}
	// Final norm and LM head.
	last := layers[len(layers)-1]
	if fn := g.consumer(last.out, "SkipSimplifiedLayerNormalization"); fn != nil {
		w.Norm, _ = g.norm(fn)
		if head := g.consumer(fn.GetOutput()[0], "MatMulNBits"); head != nil {
			if head.GetOutput()[0] != "logits" {
				g.fail("the LM head writes %q, not logits", head.GetOutput()[0])
			}
			w.Output = g.nbits(head)
		}
	}
	l0 := layers[0]
	c.Layers, c.Hidden, c.Vocab = len(layers), hidden, vocab
	c.Heads, c.KVHeads, c.QueryScale, c.Eps = l0.heads, l0.kvHeads, l0.scale, l0.eps
	c.HeadDim = len(l0.QNorm)
	c.GlobalScale = 1
	if l0.Gate != nil {
		c.FFN, _ = l0.Gate.Dims()
	}
	// Local layers: one window and one RoPE cache; the period of the
	// global layers must be the Config's (i+1) % Period rule.
	var localCache, globalCache [2]string
	period := 0
	for i, l := range layers {
		if l.heads != c.Heads || l.kvHeads != c.KVHeads || l.scale != c.QueryScale {
			g.fail("layer %d has other attention attributes than layer 0", i)
		}
		if l.window < 0 {
			if period == 0 {
				period = i + 1
			}
			if globalCache[0] == "" {
				globalCache = [2]string{l.cos, l.sin}
			} else if globalCache != [2]string{l.cos, l.sin} {
				g.fail("global layer %d uses another RoPE cache", i)
			}
			continue
		}
		if c.Window == 0 {
			c.Window = int(l.window) // ORT 1.30's GQA (and onnx/exec) sees local_window_size keys, the current one included
		} else if c.Window != int(l.window) {
			g.fail("layer %d has window %d, layer before %d", i, l.window, c.Window)
		}
		if localCache[0] == "" {
			localCache = [2]string{l.cos, l.sin}
		} else if localCache != [2]string{l.cos, l.sin} {
			g.fail("local layer %d uses another RoPE cache", i)
		}
	}
	if period == 0 { // no global layer: every layer local
		period = len(layers) + 1
	}
	c.Period = period
	for i, l := range layers {
		if c.Global(i) != (l.window < 0) {
			g.fail("layer %d: local/global pattern is not every %d-th layer global", i, period)
		}
	}
	if g.err != nil {
		return nil, g.err
	}
	half := c.HeadDim / 2
	tables := func(names [2]string) (rope, float64) {
		if names[0] == "" {
			return rope{}, 1
		}
		cs, sn := g.floats(names[0]), g.floats(names[1])
		if g.err == nil && (len(cs) != len(sn) || len(cs)%half != 0 || len(cs) < 2*half) {
			g.fail("RoPE cache %s has %d values, want positions × %d", names[0], len(cs), half)
		}
		if g.err != nil {
			return rope{}, 1
		}
		if c.Context == 0 || len(cs)/half < c.Context {
			c.Context = len(cs) / half
		}
		// base from position 1, pair 1: θ = base^(−2/d) (informational).
		base := math.Pow(math.Atan2(float64(sn[half+1]), float64(cs[half+1])), -float64(c.HeadDim)/2)
		return rope{cos: cs, sin: sn}, base
	}
	lr, lb := tables(localCache)
	gr, gb := tables(globalCache)
	c.LocalBase, c.GlobalBase = lb, gb
	if c.Window == 0 {
		c.Window = c.Context
	}
	c.Window = min(c.Window, c.Context) // as FromMetadata: a longer window sees no more
	for _, l := range layers {
		w.Layers = append(w.Layers, l.Layer)
	}
	if g.err != nil {
		return nil, g.err
	}
	if opt.Notice != nil {
		opt.Notice(fmt.Sprintf("gemma3: ONNX export: %d layers, window %d, embedding scale %g",
			c.Layers, c.Window, c.EmbedScale))
	}
	m, err := New(c, w)
	if err != nil {
		return nil, err
	}
	m.budget = opt.Budget
	if lr.cos != nil {
		m.local = lr
	}
	if gr.cos != nil {
		m.global = gr
	}
	return m, nil
}

// NBits is a Matrix in ONNX Runtime's MatMulNBits layout (from an ONNX
// export), packed for internal/qgemm. MatMul uses float32 activations, or
// int8 ones for accuracy_level 4, as ONNX Runtime does.
type NBits struct {
	Q   *numeric.BlockQuantized
	m   *qgemm.Matrix
	act qgemm.Activations
}

var _ Matrix = (*NBits)(nil)

// Dims returns N and K.
func (b *NBits) Dims() (int, int) { return b.Q.N, b.Q.K }

// Row dequantizes row j.
func (b *NBits) Row(j int, dst []float32) {
	if err := b.Q.DequantizeRow(dst[:b.Q.K], j); err != nil {
		panic(err) // validated by PackNBits
	}
}

// MatMul computes y = x·Wᵀ with qgemm.
func (b *NBits) MatMul(ctx context.Context, y, x []float32, rows, threads int) error {
	return b.m.MatMul(ctx, y, x, rows, nil, qgemm.Options{Activations: b.act, Threads: threads})
}
