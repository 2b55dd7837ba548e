// Package gemma3test writes small random-weight Gemma 3 GGUF files for
// tests, examples and llama.cpp conformance checks. The files are
// deterministic: the same Options always give the same bytes.
package gemma3test

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/zerfoo/zerfoo/gguf"
	"github.com/zerfoo/zerfoo/gguf/quant"
	"github.com/zerfoo/zerfoo/models/gemma3"
	"github.com/zerfoo/zerfoo/numeric"
)

// Options describes a tiny model.
type Options struct {
	// Config gives the shapes (Vocab is ignored: it is the size of
	// Vocabulary()). The zero value means Config().
	Config gemma3.Config
	// Type is the type of the layer matrices (default F32); EmbedType that
	// of token_embd, which is also the LM head (default Type, or Q8_0
	// when Type is a K-quant as llama-quantize does).
	Type, EmbedType quant.Type
	Seed            uint64
	// Vocab, if larger than the built-in vocabulary, pads it with
	// "<unusedN>" pieces up to Vocab tokens (a realistic embedding size for
	// speed and memory measurements: Gemma 3 has 262144).
	Vocab int
	// EmbedStd is the standard deviation of the token embedding (the tied
	// LM head); 0 means 0.1. The residual stream keeps each token's
	// embedding scaled by √Hidden, so with the head tied to it the current
	// token's logit stands out by up to about EmbedStd·Hidden (where the
	// embedding dominates the residual): at 0.1 and a gemma-3-4b width
	// (2560) every other token's probability is below float32's range, and
	// llama.cpp's probabilities round them to 0.
	EmbedStd float64
}

// Config returns the default tiny configuration: 6 layers (layer 5
// global), hidden 256, FFN 512, 4 query heads sharing 2 KV heads of 64,
// sliding window 8, context 256, 1M global RoPE base with linear scale 8.
func Config() gemma3.Config {
	c := gemma3.Config{
		Layers: 6, Hidden: 256, FFN: 512, Heads: 4, KVHeads: 2, HeadDim: 64, Context: 256, Window: 8,
		Period: 6, Eps: 1e-6, GlobalBase: 1e6, LocalBase: 1e4, GlobalScale: 8,
	}
	c.Vocab = len(vocab)
	c.QueryScale = float32(1 / math.Sqrt(float64(c.HeadDim)))
	c.EmbedScale = float32(math.Sqrt(float64(c.Hidden)))
	return c
}

// Token types of tokenizer.ggml.token_type.
const (
	typeNormal  = 1
	typeUnknown = 2
	typeControl = 3
	typeUnused  = 5
	typeByte    = 6
)

type piece struct {
	text  string
	score float32
	typ   int32
}

// vocab is a small SentencePiece-style vocabulary with Gemma 3's special
// ids: <pad> 0, <eos> 1, <bos> 2, <unk> 3, <start_of_turn> 105,
// <end_of_turn> 106, then the 256 byte pieces, then characters and words
// with every prefix ("▁t", "▁th", "▁the") so that BPE merges reach them.
var vocab = buildVocab()

func buildVocab() []piece {
	v := []piece{{"<pad>", 0, typeControl}, {"<eos>", 0, typeControl}, {"<bos>", 0, typeControl},
		{"<unk>", 0, typeUnknown}, {"<mask>", 0, typeControl}, {"[multimodal]", 0, typeControl}}
	for i := 0; len(v) < 105; i++ {
		v = append(v, piece{fmt.Sprintf("<unused%d>", i), 0, typeUnused})
	}
	v = append(v, piece{"<start_of_turn>", 0, typeControl}, piece{"<end_of_turn>", 0, typeControl})
	for b := 0; b < 256; b++ {
		v = append(v, piece{fmt.Sprintf("<0x%02X>", b), 0, typeByte})
	}
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			v = append(v, piece{s, -float32(len(v)), typeNormal})
		}
	}
	for _, r := range "▁\nabcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?'-:" {
		add(string(r))
	}
	words := strings.Fields("the of and to in is you that it he was for on are as with his they at be this " +
		"have from or one had by word but not what all were we when your can said there use an each which " +
		"she do how their if will up other about out many then them these so some her would make like him " +
		"into time has look two more write go see number no way could people my than first water been call " +
		"who oil its now find long down day did get come made may part hello world model user Gemma")
	for _, w := range words {
		w = "▁" + w
		r := []rune(w)
		for n := 2; n <= len(r); n++ {
			add(string(r[:n]))
		}
	}
	return v
}

// Vocabulary returns the pieces, scores and token types of the tiny
// vocabulary, as written to tokenizer.ggml.*.
func Vocabulary() (tokens []string, scores []float32, types []int32) {
	return vocabulary(0)
}

// vocabulary returns the tiny vocabulary padded with unused pieces to n
// tokens (n ≤ len(vocab): not padded).
func vocabulary(n int) (tokens []string, scores []float32, types []int32) {
	n = max(n, len(vocab))
	tokens, scores, types = make([]string, 0, n), make([]float32, 0, n), make([]int32, 0, n)
	for _, p := range vocab {
		tokens = append(tokens, p.text)
		scores = append(scores, p.score)
		types = append(types, p.typ)
	}
	for i := len(vocab); i < n; i++ {
		tokens = append(tokens, fmt.Sprintf("<unused%d>", i))
		scores = append(scores, 0)
		types = append(types, typeUnused)
	}
	return tokens, scores, types
}

// Write writes the model described by o to path.
func Write(path string, o Options) error {
	b, err := Build(o)
	if err != nil {
		return err
	}
	return b.WriteFile(path)
}

// Build returns a gguf.Builder holding the model described by o.
func Build(o Options) (*gguf.Builder, error) {
	c := o.Config
	if c.Layers == 0 {
		c = Config()
	}
	tokens, scores, types := vocabulary(o.Vocab)
	c.Vocab = len(tokens)
	typ, et := o.Type, o.EmbedType
	if et == 0 && typ != quant.F32 {
		et = typ
		if typ.BlockSize() == quant.QKK {
			et = quant.Q8_0
		}
	}
	r := rand.New(rand.NewPCG(o.Seed, 0x6a3))
	b := gguf.NewBuilder()
	for _, kv := range []struct {
		k string
		v any
	}{
		{gguf.KeyArchitecture, "gemma3"},
		{gguf.KeyName, "zerfoo tiny gemma3"},
		{gguf.KeyQuantizationVersion, uint32(2)},
		{"gemma3.context_length", uint32(c.Context)},
		{"gemma3.embedding_length", uint32(c.Hidden)},
		{"gemma3.block_count", uint32(c.Layers)},
		{"gemma3.feed_forward_length", uint32(c.FFN)},
		{"gemma3.attention.head_count", uint32(c.Heads)},
		{"gemma3.attention.head_count_kv", uint32(c.KVHeads)},
		{"gemma3.attention.key_length", uint32(c.HeadDim)},
		{"gemma3.attention.value_length", uint32(c.HeadDim)},
		{"gemma3.attention.layer_norm_rms_epsilon", c.Eps},
		{"gemma3.rope.freq_base", float32(c.GlobalBase)},
		{"gemma3.attention.sliding_window", uint32(c.Window)},
		{"gemma3.rope.scaling.type", "linear"},
		{"gemma3.rope.scaling.factor", float32(c.GlobalScale)},
		{"tokenizer.ggml.model", "llama"},
		{"tokenizer.ggml.pre", "default"},
		{"tokenizer.ggml.tokens", tokens},
		{"tokenizer.ggml.scores", scores},
		{"tokenizer.ggml.token_type", types},
		{"tokenizer.ggml.bos_token_id", uint32(2)},
		{"tokenizer.ggml.eos_token_id", uint32(1)},
		{"tokenizer.ggml.unknown_token_id", uint32(3)},
		{"tokenizer.ggml.padding_token_id", uint32(0)},
		{"tokenizer.ggml.add_bos_token", true},
		{"tokenizer.ggml.add_eos_token", false},
		{"tokenizer.ggml.add_space_prefix", false},
	} {
		if err := b.Set(kv.k, kv.v); err != nil {
			return nil, err
		}
	}
	// Keys Gemma 3's files leave out, written only when the Config asks
	// for other than their defaults.
	if c.Period != 6 {
		if err := b.Set("gemma3.attention.sliding_window_pattern", uint32(c.Period)); err != nil {
			return nil, err
		}
	}
	if c.Softcap != 0 {
		if err := b.Set("gemma3.final_logit_softcapping", c.Softcap); err != nil {
			return nil, err
		}
	}
	mat := func(name string, t quant.Type, n, k int, std float64) error {
		if t.Supported() && !t.CanQuantize() {
			return b.AddTensor(name, t, []uint64{uint64(k), uint64(n)}, randomBlocks(r, t, n, k, std))
		}
		v := make([]float32, n*k)
		for i := range v {
			v[i] = float32(r.NormFloat64() * std)
		}
		return b.AddFloat32(name, t, []uint64{uint64(k), uint64(n)}, v)
	}
	vec := func(name string, n int) error {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(1 + 0.2*r.NormFloat64()) // GGUF norms hold 1 + w
		}
		return b.AddFloat32(name, quant.F32, []uint64{uint64(n)}, v)
	}
	H, Q, KV, F := c.Hidden, c.QDim(), c.KVDim(), c.FFN
	sd := func(k int) float64 { return 1 / math.Sqrt(float64(k)) }
	embedStd := o.EmbedStd
	if embedStd == 0 {
		embedStd = 0.1
	}
	errs := []error{mat("token_embd.weight", et, c.Vocab, H, embedStd), vec("output_norm.weight", H)}
	for l := 0; l < c.Layers; l++ {
		p := fmt.Sprintf("blk.%d.", l)
		errs = append(errs,
			vec(p+"attn_norm.weight", H),
			mat(p+"attn_q.weight", typ, Q, H, sd(H)),
			mat(p+"attn_k.weight", typ, KV, H, sd(H)),
			mat(p+"attn_v.weight", typ, KV, H, sd(H)),
			vec(p+"attn_q_norm.weight", c.HeadDim),
			vec(p+"attn_k_norm.weight", c.HeadDim),
			mat(p+"attn_output.weight", typ, H, Q, sd(Q)),
			vec(p+"post_attention_norm.weight", H),
			vec(p+"ffn_norm.weight", H),
			mat(p+"ffn_gate.weight", typ, F, H, sd(H)),
			mat(p+"ffn_up.weight", typ, F, H, sd(H)),
			mat(p+"ffn_down.weight", typ, H, F, sd(F)),
			vec(p+"post_ffw_norm.weight", H),
		)
	}
	for _, e := range errs {
		if e != nil {
			return nil, e
		}
	}
	return b, nil
}

// scaleOffsets are the byte offsets of the float16 scale of one block of
// the types Zerfoo decodes but cannot encode (IQ1_M packs it into the top
// nibbles of its last four uint16s, see randomBlocks).
var scaleOffsets = map[quant.Type]int{
	quant.IQ2_XXS: 0, quant.IQ2_XS: 0, quant.IQ2_S: 0, quant.IQ3_XXS: 0, quant.IQ3_S: 0,
	quant.IQ1_S: 0, quant.IQ1_M: -1,
}

// randomBlocks returns n rows of k elements of a decode-only type t: random
// grid indices, signs and sub-block scales, and a block scale of about
// std/8 (the grids' magnitudes are a few units), so that the weights are of
// the order of std.
func randomBlocks(r *rand.Rand, t quant.Type, n, k int, std float64) []byte {
	rb, err := t.RowBytes(k)
	if err != nil {
		panic(err)
	}
	data := make([]byte, n*rb)
	for i := range data {
		data[i] = uint8(r.Uint32())
	}
	bb := t.BlockBytes()
	for o := 0; o < len(data); o += bb {
		d := numeric.Float16FromFloat32(float32(std / 8 * (0.5 + r.Float64()))).Bits()
		blk := data[o : o+bb]
		switch off, ok := scaleOffsets[t]; {
		case !ok:
			panic(fmt.Sprintf("gemma3test: no random blocks for %v", t))
		case off >= 0:
			binary.LittleEndian.PutUint16(blk[off:], d)
		default: // IQ1_M: bits 12–15 of scales[0..3] hold the float16 scale
			for i := 0; i < 4; i++ {
				p := blk[bb-8+2*i:]
				v := binary.LittleEndian.Uint16(p)&0x0fff | (d>>(4*uint(i))&15)<<12
				binary.LittleEndian.PutUint16(p, v)
			}
		}
	}
	return data
}
