package gemma3

import (
	"errors"
	"fmt"
	"math"

	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/onnx/onnxpb"
)

// ErrONNXLayout is wrapped by FromONNX's errors for graphs that are not
// an onnxruntime-genai Gemma 3 export this package understands.
var ErrONNXLayout = errors.New("gemma3: unsupported ONNX layout")

// FromONNX builds the decoder from an onnxruntime-genai export of a Gemma 3
// text model (shared/specs/ort-genai-gemma3.md §1), found by the graph's
// structure rather than by names, in either builder's layout:
//
//   - 2025: a float Gather embedding of input_ids followed by a Mul by the
//     embedding scale; per layer MatMulNBits q, k and v projections,
//     per-head q/k SimplifiedLayerNormalization and
//     com.microsoft.RotaryEmbedding with the layer's cos/sin caches, then
//     GroupQueryAttention with do_rotary 0; FastGelu or tanh Gelu.
//   - 2026: the embedding a com.microsoft.GatherBlockQuantized of int4
//     blocks (when they are the LM head's MatMulNBits bytes and scales,
//     possibly through a Reshape, the embedding is tied to the LM head);
//     one packed qkv_proj MatMulNBits cut by a Split into q, k and v, the
//     q/k norms, and GroupQueryAttention with do_rotary 1 reading the
//     cos/sin caches itself.
//
// Around the attention: the input norm, the o projection, post-attention
// and pre-FFN norms, gate and up projections, the activation, down
// projection and post-FFN norm; the final norm and the MatMulNBits LM head
// producing "logits". A graph that takes inputs_embeds instead of
// input_ids (the builder's exclude_embeds, Gemma 3 4B+) has no embedding:
// for text-only use tokens are embedded with the LM head's rows (Gemma 3
// ties them) times round(√H, 2), the builder's embedding scale, with a
// notice. MatMulNBits biases are added to the products; a g_idx that maps
// column k to block k/block_size is dropped, any other is applied by
// dequantizing that matrix to float32 (its packed zero points ignored, as
// ONNX Runtime 1.30 ignores them with a g_idx).
//
// The export's own numbers are kept: its embedding scale (round(√H, 2)),
// its RoPE tables (the cos/sin caches, so the builder's scaling choices
// carry over), and local_window_size as the window (the keys a local
// layer sees, the current one included: what onnx/exec and ONNX Runtime
// 1.30 compute, not the W + 1 that ort-genai-gemma3.md §1.4 read from
// ORT's source). Norm weights already hold Gemma's 1 + w. MatMulNBits
// weights are packed for internal/qgemm (accuracy_level 4: int8
// activations, otherwise float32).
//
// Other graphs fail with an error wrapping ErrONNXLayout that names the
// node: packed QKV GroupQueryAttention inputs, interleaved RoPE, softcap,
// float zero points. The weights are copied; m may be closed afterwards.
func FromONNX(m *onnx.Model, opt LoadOptions) (*Model, error) {
	g := ox{m: m, prod: map[string]*onnxpb.NodeProto{}, cons: map[string][]*onnxpb.NodeProto{}, packed: map[*onnxpb.NodeProto]*nbitsNode{}}
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
	// packed holds the MatMulNBits nodes read for a Split (qkv_proj).
	packed map[*onnxpb.NodeProto]*nbitsNode
	err    error
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

// hasInput reports whether the graph has an input called name.
func (g *ox) hasInput(name string) bool {
	for _, in := range g.m.Graph().GetInput() {
		if in.GetName() == name {
			return true
		}
	}
	return false
}

// quantEmbedding reads a GatherBlockQuantized embedding of hidden
// columns: its data (an initializer, or a Reshape of one such as the LM
// head's MatMulNBits bytes), scales and zero points. It returns the
// blocks and the data and scales initializers' names.
func (g *ox) quantEmbedding(n *onnxpb.NodeProto, hidden int) (*nbitsNode, string, string) {
	in := n.GetInput()
	if len(in) < 3 || in[0] == "" || in[2] == "" {
		g.fail("GatherBlockQuantized %s has no data or scales", n.GetName())
		return nil, "", ""
	}
	if ga := attr(g, n, "gather_axis", int64(0)); ga != 0 {
		g.fail("GatherBlockQuantized %s gathers along axis %d", n.GetName(), ga)
	}
	data := in[0]
	if r := g.prod[data]; r != nil && r.GetOpType() == "Reshape" {
		data = r.GetInput()[0]
	}
	q := &numeric.BlockQuantized{K: hidden, Bits: int(attr(g, n, "bits", int64(4))), BlockSize: int(attr(g, n, "block_size", int64(128)))}
	q.B = g.quantBytes("GatherBlockQuantized "+n.GetName()+" data", data)
	q.Scales = g.floats(in[2])
	if len(in) > 3 && in[3] != "" {
		q.ZeroPoints = g.quantBytes("GatherBlockQuantized "+n.GetName()+" zero points", in[3])
	}
	if g.err != nil {
		return nil, "", ""
	}
	if t := g.m.Initializer(data); len(t.GetDims()) > 0 {
		q.N = int(min(t.GetDims()[0], MaxVocab+1))
	}
	if q.N < 1 || q.N > MaxVocab {
		g.fail("GatherBlockQuantized %s: data %q of %d rows, outside [1, %d]", n.GetName(), data, q.N, MaxVocab)
		return nil, "", ""
	}
	if err := q.Validate(); err != nil {
		g.err = fmt.Errorf("gemma3: ONNX GatherBlockQuantized %s: %w", n.GetName(), err)
		return nil, "", ""
	}
	return &nbitsNode{q: q}, data, in[2]
}

func (g *ox) build(opt LoadOptions) (*Model, error) {
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
	w := &Weights{}
	var c Config
	// Final norm and LM head.
	last := layers[len(layers)-1]
	var head *onnxpb.NodeProto
	if fn := g.consumer(last.out, "SkipSimplifiedLayerNormalization"); fn != nil {
		w.Norm, _ = g.norm(fn)
		if head = g.consumer(fn.GetOutput()[0], "MatMulNBits"); head != nil {
			if head.GetOutput()[0] != "logits" {
				g.fail("the LM head writes %q, not logits", head.GetOutput()[0])
			}
			w.Output = g.nbits(head)
		}
	}
	if g.err != nil {
		return nil, g.err
	}
	vocab, hidden := w.Output.Dims()
	if vocab > MaxVocab || hidden > MaxHidden {
		g.fail("the LM head is %d×%d, outside [1, %d]×[1, %d]", vocab, hidden, MaxVocab, MaxHidden)
		return nil, g.err
	}
	// The embedding: a float32 Gather of input_ids, a GatherBlockQuantized
	// (the 2026 builder's shared int4 table), or none (inputs_embeds).
	var emb *onnxpb.NodeProto
	for _, n := range g.cons["input_ids"] {
		if op := n.GetOpType(); op == "Gather" || op == "GatherBlockQuantized" {
			emb = n
		}
	}
	switch {
	case emb == nil && g.hasInput("inputs_embeds") && !g.hasInput("input_ids"):
		// Text-only use of a graph fed with embeddings: Gemma 3 ties them
		// to the LM head; the builder scales by round(√H, 2).
		w.Embed, w.Output = w.Output, nil
		c.EmbedScale = float32(math.Round(math.Sqrt(float64(hidden))*100) / 100)
		if opt.Notice != nil {
			opt.Notice(fmt.Sprintf("gemma3: ONNX graph takes inputs_embeds: tokens embedded with the LM head's rows × %g", c.EmbedScale))
		}
	case emb == nil:
		g.fail("no Gather or GatherBlockQuantized of input_ids, and no inputs_embeds input")
	case emb.GetOpType() == "GatherBlockQuantized":
		nb, data, scales := g.quantEmbedding(emb, hidden)
		if nb == nil {
			break
		}
		if nb.q.N != vocab {
			g.fail("embedding %q has %d rows, the LM head %d", data, nb.q.N, vocab)
			break
		}
		if hi := head.GetInput(); len(hi) > 2 && hi[1] == data && hi[2] == scales {
			w.Embed, w.Output = w.Output, nil // tied: the LM head's bytes
		} else {
			w.Embed = g.matrix(nb, emb.GetName())
		}
	default:
		table := g.m.Initializer(emb.GetInput()[0])
		if table == nil || len(table.GetDims()) != 2 {
			g.fail("embedding %q is not a 2-D initializer", emb.GetInput()[0])
			break
		}
		d0, d1 := table.GetDims()[0], table.GetDims()[1]
		if d0 != int64(vocab) || d1 != int64(hidden) {
			g.fail("embedding %q is %d×%d, the LM head %d×%d", emb.GetInput()[0], d0, d1, vocab, hidden)
			break
		}
		embed := &Dense{N: vocab, K: hidden, Data: g.floats(emb.GetInput()[0])}
		if g.err == nil && len(embed.Data) != vocab*hidden {
			g.fail("embedding %q has %d values, want %d×%d", emb.GetInput()[0], len(embed.Data), vocab, hidden)
		}
		w.Embed = embed
	}
	if emb != nil && g.err == nil {
		if mul := g.consumer(emb.GetOutput()[0], "Mul"); mul != nil {
			if s := g.floats(mul.GetInput()[1]); len(s) == 1 {
				c.EmbedScale = s[0]
			} else if g.err == nil {
				g.fail("embedding scale %q is not a scalar", mul.GetInput()[1])
			}
		}
	}
	if g.err != nil {
		return nil, g.err
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
		if g.err == nil && (len(cs) != len(sn) || half == 0 || len(cs)%half != 0 || len(cs) < 2*half) {
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
