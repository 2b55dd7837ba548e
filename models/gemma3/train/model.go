package train

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/zerfoo/zerfoo/graph"
	"github.com/zerfoo/zerfoo/models/gemma3"
	"github.com/zerfoo/zerfoo/qat"
	"github.com/zerfoo/zerfoo/tensor"
)

// Layer holds the trainable tensors of one decoder block. Matrices are
// N×K (out×in, the GGUF row order). Norm parameters hold Gemma's w; the
// norm multiplies by 1 + w, and GGUF stores 1 + w.
type Layer struct {
	AttnNorm, QNorm, KNorm, PostAttnNorm, FFNNorm, PostFFNNorm *graph.Parameter[float32]
	Q, K, V, O, Gate, Up, Down                                 *graph.Parameter[float32]
}

// Model is a Gemma 3 text decoder with trainable float32 weights, the
// output layer tied to the embedding. It is not safe for concurrent use.
type Model struct {
	Config gemma3.Config
	Embed  *graph.Parameter[float32] // Vocab×Hidden
	Norm   *graph.Parameter[float32] // Hidden (w of 1 + w)
	Layers []Layer

	// QAT, when not nil, makes the forward pass use every layer matrix
	// fake-quantized (qat.FakeQuantize, blocks along the input dimension
	// as in GGUF's Q4_0/Q8_0); the gradient reaches the float weights
	// unchanged (straight-through estimator). The embedding stays float.
	QAT *qat.Config

	ws *workspace
}

// New returns a model for c with random weights drawn from seed:
// embedding N(0, 1/Hidden)·…, matrices N(0, 1/fan-in) with the output
// projections scaled by 1/√(2·Layers), norms w = 0 (scale 1).
func New(c gemma3.Config, seed uint64) (*Model, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.Softcap != 0 {
		return nil, fmt.Errorf("train: final logit soft-capping (%g) is not supported in training: %w", c.Softcap, gemma3.ErrConfig)
	}
	r := rand.New(rand.NewPCG(seed, 0x7261696e))
	m := &Model{Config: c}
	mat := func(name string, n, k int, std float64) *graph.Parameter[float32] {
		v := make([]float32, n*k)
		for i := range v {
			v[i] = float32(r.NormFloat64() * std)
		}
		return param(name, []int{n, k}, v)
	}
	vec := func(name string, n int) *graph.Parameter[float32] {
		return param(name, []int{n}, make([]float32, n))
	}
	H, Q, KV, F := c.Hidden, c.QDim(), c.KVDim(), c.FFN
	out := 1 / math.Sqrt(2*float64(c.Layers))
	m.Embed = mat("token_embd.weight", c.Vocab, H, 1/math.Sqrt(float64(H)))
	m.Norm = vec("output_norm.weight", H)
	for l := 0; l < c.Layers; l++ {
		p := fmt.Sprintf("blk.%d.", l)
		sd := func(k int) float64 { return 1 / math.Sqrt(float64(k)) }
		m.Layers = append(m.Layers, Layer{
			AttnNorm: vec(p+"attn_norm.weight", H), QNorm: vec(p+"attn_q_norm.weight", c.HeadDim),
			KNorm: vec(p+"attn_k_norm.weight", c.HeadDim), PostAttnNorm: vec(p+"post_attention_norm.weight", H),
			FFNNorm: vec(p+"ffn_norm.weight", H), PostFFNNorm: vec(p+"post_ffw_norm.weight", H),
			Q: mat(p+"attn_q.weight", Q, H, sd(H)), K: mat(p+"attn_k.weight", KV, H, sd(H)),
			V: mat(p+"attn_v.weight", KV, H, sd(H)), O: mat(p+"attn_output.weight", H, Q, sd(Q)*out),
			Gate: mat(p+"ffn_gate.weight", F, H, sd(H)), Up: mat(p+"ffn_up.weight", F, H, sd(H)),
			Down: mat(p+"ffn_down.weight", H, F, sd(F)*out),
		})
	}
	return m, nil
}

func param(name string, shape []int, v []float32) *graph.Parameter[float32] {
	p, err := graph.NewParameter(name, tensor.Must(tensor.New(shape, v)))
	if err != nil {
		panic(err) // value is never nil
	}
	return p
}

// Params returns every parameter: the embedding, the final norm, then each
// layer's tensors in GGUF order.
func (m *Model) Params() []*graph.Parameter[float32] {
	ps := []*graph.Parameter[float32]{m.Embed, m.Norm}
	for i := range m.Layers {
		ps = append(ps, m.Layers[i].params()...)
	}
	return ps
}

// Matrices returns the parameters that get weight decay: the embedding and
// the layer matrices (not the norms).
func (m *Model) Matrices() []*graph.Parameter[float32] {
	ps := []*graph.Parameter[float32]{m.Embed}
	for i := range m.Layers {
		ps = append(ps, m.Layers[i].matrices()...)
	}
	return ps
}

// Norms returns the norm parameters (no weight decay).
func (m *Model) Norms() []*graph.Parameter[float32] {
	ps := []*graph.Parameter[float32]{m.Norm}
	for i := range m.Layers {
		l := &m.Layers[i]
		ps = append(ps, l.AttnNorm, l.QNorm, l.KNorm, l.PostAttnNorm, l.FFNNorm, l.PostFFNNorm)
	}
	return ps
}

func (l *Layer) matrices() []*graph.Parameter[float32] {
	return []*graph.Parameter[float32]{l.Q, l.K, l.V, l.O, l.Gate, l.Up, l.Down}
}

func (l *Layer) params() []*graph.Parameter[float32] {
	return []*graph.Parameter[float32]{l.AttnNorm, l.Q, l.K, l.V, l.QNorm, l.KNorm, l.O, l.PostAttnNorm,
		l.FFNNorm, l.Gate, l.Up, l.Down, l.PostFFNNorm}
}

// NumParams returns the number of trainable values.
func (m *Model) NumParams() int {
	n := 0
	for _, p := range m.Params() {
		n += p.Value.Size()
	}
	return n
}

// grad returns p's gradient data, allocating it if needed.
func grad(p *graph.Parameter[float32]) []float32 {
	if p.Gradient == nil {
		p.ZeroGradient()
	}
	return p.Gradient.Data()
}

// Loss runs the forward and backward pass over B sequences of T tokens:
// inputs and targets are B·T token ids (targets[i] is the token after
// inputs[i]; a negative target is ignored). It returns the mean
// cross-entropy in nats and adds its gradient to every parameter's
// Gradient.
func (m *Model) Loss(ctx context.Context, inputs, targets []int32, B, T int) (float64, error) {
	ws, err := m.forward(ctx, inputs, B, T)
	if err != nil {
		return 0, err
	}
	loss, err := crossEntropy(ctx, ws.logits, ws.logits, targets, m.Config.Vocab)
	if err != nil {
		return 0, err
	}
	return loss, m.backward(ctx, ws)
}

// Eval returns the mean cross-entropy of the batch without touching the
// gradients.
func (m *Model) Eval(ctx context.Context, inputs, targets []int32, B, T int) (float64, error) {
	ws, err := m.forward(ctx, inputs, B, T)
	if err != nil {
		return 0, err
	}
	return crossEntropy(ctx, nil, ws.logits, targets, m.Config.Vocab)
}

// Logits runs one sequence and returns its T×Vocab logits (a fresh slice).
func (m *Model) Logits(ctx context.Context, tokens []int32) ([]float32, error) {
	ws, err := m.forward(ctx, tokens, 1, len(tokens))
	if err != nil {
		return nil, err
	}
	return append([]float32(nil), ws.logits...), nil
}

func (m *Model) checkTokens(tokens []int32, B, T int) error {
	c := &m.Config
	if B <= 0 || T <= 0 || len(tokens) != B*T {
		return fmt.Errorf("train: %d tokens for %d sequences of %d", len(tokens), B, T)
	}
	if T > c.Context {
		return fmt.Errorf("train: sequence length %d exceeds the context %d: %w", T, c.Context, gemma3.ErrContext)
	}
	for i, t := range tokens {
		if t < 0 || int(t) >= c.Vocab {
			return fmt.Errorf("train: token %d at index %d is outside the vocabulary [0, %d): %w", t, i, c.Vocab, gemma3.ErrToken)
		}
	}
	return nil
}
