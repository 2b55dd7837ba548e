package gemma3

import (
	"context"
	"fmt"

	"github.com/zerfoo/zerfoo/budget"
	"github.com/zerfoo/zerfoo/internal/simd"
)

// Layer holds the weights of one decoder block. Norm weights are used as
// stored: a GGUF file already holds Gemma's 1 + w.
type Layer struct {
	AttnNorm     []float32 // [Hidden] input_layernorm
	QNorm, KNorm []float32 // [HeadDim] per-head q/k norms
	PostAttnNorm []float32 // [Hidden]
	FFNNorm      []float32 // [Hidden] pre_feedforward_layernorm
	PostFFNNorm  []float32 // [Hidden]

	Q, K, V, O     Matrix // QDim×Hidden, KVDim×Hidden, KVDim×Hidden, Hidden×QDim
	Gate, Up, Down Matrix // FFN×Hidden, FFN×Hidden, Hidden×FFN

	// qkv (Q|K|V) and gateUp (Gate|Up) are set by Load when the matrices
	// of each share one type with a fast kernel: stacked so that each is
	// one kernel call (one parallel launch, one rounding of the
	// activations). For the packed types Q, K, V, Gate and Up then hold
	// the file's blocks (reference kernels); for F16/BF16 they are the
	// same Half matrices the stack reads. qkvN is how many of Q, K, V qkv
	// holds: 3, or 2 (Q|K) when V has another type; Gate|Up is both or
	// nothing.
	qkv, gateUp stacked
	qkvN        int
}

// Weights holds every tensor of a Gemma 3 text decoder.
type Weights struct {
	Embed  Matrix // Vocab×Hidden token embedding
	Output Matrix // Vocab×Hidden LM head, or nil: tied to Embed
	Norm   []float32
	Layers []Layer
}

// Model is a Gemma 3 text decoder ready to run. It is read-only and safe
// for concurrent use; each conversation runs in its own State.
type Model struct {
	Config  Config
	Weights *Weights

	local, global rope
	closer        func() error
	budget        budget.Limit // the default of StateOptions.Budget
}

// New checks the shapes of w against c and returns the model. The weights
// are not copied.
func New(c Config, w *Weights) (*Model, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if len(w.Layers) != c.Layers {
		return nil, fmt.Errorf("gemma3: %d layers of weights, config says %d: %w", len(w.Layers), c.Layers, ErrConfig)
	}
	H, Q, KV, F := c.Hidden, c.QDim(), c.KVDim(), c.FFN
	checkM := func(name string, m Matrix, n, k int) error {
		if m == nil {
			return fmt.Errorf("gemma3: tensor %s is missing: %w", name, ErrConfig)
		}
		if gn, gk := m.Dims(); gn != n || gk != k {
			return fmt.Errorf("gemma3: tensor %s is %d×%d (out×in), want %d×%d: %w", name, gn, gk, n, k, ErrConfig)
		}
		return nil
	}
	checkV := func(name string, v []float32, n int) error {
		if len(v) != n {
			return fmt.Errorf("gemma3: tensor %s has %d values, want %d: %w", name, len(v), n, ErrConfig)
		}
		return nil
	}
	if err := checkM("token_embd", w.Embed, c.Vocab, H); err != nil {
		return nil, err
	}
	if w.Output != nil {
		if err := checkM("output", w.Output, c.Vocab, H); err != nil {
			return nil, err
		}
	}
	if err := checkV("output_norm", w.Norm, H); err != nil {
		return nil, err
	}
	for i := range w.Layers {
		l := &w.Layers[i]
		p := fmt.Sprintf("blk.%d.", i)
		for _, e := range []error{
			checkV(p+"attn_norm", l.AttnNorm, H), checkV(p+"attn_q_norm", l.QNorm, c.HeadDim),
			checkV(p+"attn_k_norm", l.KNorm, c.HeadDim), checkV(p+"post_attention_norm", l.PostAttnNorm, H),
			checkV(p+"ffn_norm", l.FFNNorm, H), checkV(p+"post_ffw_norm", l.PostFFNNorm, H),
			checkM(p+"attn_q", l.Q, Q, H), checkM(p+"attn_k", l.K, KV, H), checkM(p+"attn_v", l.V, KV, H),
			checkM(p+"attn_output", l.O, H, Q), checkM(p+"ffn_gate", l.Gate, F, H),
			checkM(p+"ffn_up", l.Up, F, H), checkM(p+"ffn_down", l.Down, H, F),
		} {
			if e != nil {
				return nil, e
			}
		}
	}
	geluOnce.Do(initGelu)
	return &Model{
		Config: c, Weights: w,
		local:  newRope(c.LocalBase, 1, c.HeadDim),
		global: newRope(c.GlobalBase, c.GlobalScale, c.HeadDim),
	}, nil
}

// Close releases the file mapping behind the weights, if any. The model
// must not be used afterwards.
func (m *Model) Close() error {
	if m.closer == nil {
		return nil
	}
	err := m.closer()
	m.closer = nil
	return err
}

// DecodeBytes returns the weight bytes one decode step reads: every layer
// matrix and the LM head, as stored for the kernels (a memory-bound decode
// step cannot take less than DecodeBytes ÷ the machine's streaming-read
// bandwidth).
func (m *Model) DecodeBytes() int64 {
	var n int64
	for _, p := range m.decodePieces() {
		n += p
	}
	return n
}

// decodePieces returns the weight bytes of each matrix product of a decode
// step, in the order the step runs them: per layer Q·K·V (fused, or
// separate, with V apart when its type differs), O, gate·up and down, then
// the LM head.
func (m *Model) decodePieces() []int64 {
	var ps []int64
	add := func(ms ...Matrix) {
		for _, x := range ms {
			if b, ok := x.(interface{ Bytes() int64 }); ok {
				ps = append(ps, b.Bytes())
			}
		}
	}
	for i := range m.Weights.Layers {
		l := &m.Weights.Layers[i]
		switch {
		case l.qkv == nil:
			add(l.Q, l.K, l.V)
		case l.qkvN == 2:
			ps = append(ps, l.qkv.Bytes())
			add(l.V)
		default:
			ps = append(ps, l.qkv.Bytes())
		}
		add(l.O)
		if l.gateUp != nil {
			ps = append(ps, l.gateUp.Bytes())
		} else {
			add(l.Gate, l.Up)
		}
		add(l.Down)
	}
	add(m.lmHead())
	return ps
}

// lmHead returns the output matrix (the embedding when tied).
func (m *Model) lmHead() Matrix {
	if m.Weights.Output != nil {
		return m.Weights.Output
	}
	return m.Weights.Embed
}

// logits writes the Vocab logits of each of the n final-normed rows of x
// to out: the LM head's product, soft-capped where the model says so.
func (m *Model) logits(ctx context.Context, out, x []float32, n, threads int) error {
	if err := m.lmHead().MatMul(ctx, out, x, n, threads); err != nil {
		return err
	}
	if c := m.Config.Softcap; c != 0 {
		softcap(out[:n*m.Config.Vocab], c)
	}
	return nil
}

// softcap sets each x to c·tanh(x/c), as llama.cpp's final logit
// soft-capping does, in float32 within a few units of the last place of
// tanhf: below |t| = 1/4 tanh's odd Taylor series to t⁹ (the next term is
// under 1e−8 relative there), above it sign(t)·(1 − e)/(1 + e) with
// e = e^(−2|t|). NaN stays NaN.
func softcap(x []float32, c float32) {
	inv := 1 / c
	for i, v := range x {
		t := v * inv
		a := t
		if a < 0 {
			a = -a
		}
		var th float32
		if a < 0.25 {
			t2 := t * t
			th = t + t*t2*(-1.0/3+t2*(2.0/15+t2*(-17.0/315+t2*(62.0/2835))))
		} else {
			e := simd.Exp(-2 * a)
			th = (1 - e) / (1 + e)
			if t < 0 {
				th = -th
			}
		}
		x[i] = c * th
	}
}
