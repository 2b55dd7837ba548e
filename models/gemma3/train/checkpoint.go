package train

import (
	"errors"
	"fmt"

	"github.com/zerfoo/zerfoo/gguf"
	"github.com/zerfoo/zerfoo/gguf/quant"
	"github.com/zerfoo/zerfoo/graph"
	"github.com/zerfoo/zerfoo/models/gemma3"
	"github.com/zerfoo/zerfoo/tokenizer"
)

// KeyStep is the GGUF metadata key holding the number of optimizer steps
// a checkpoint has been trained for.
const KeyStep = "zerfoo.train.step"

// ErrCheckpoint is wrapped by errors about a checkpoint that cannot be
// resumed.
var ErrCheckpoint = errors.New("train: bad checkpoint")

// ExportOptions selects the tensor types of Builder.
type ExportOptions struct {
	// Type is the type of the layer matrices (default F32). Q4_0 and Q8_0
	// need input widths that are multiples of 32.
	Type quant.Type
	// EmbedType is the type of token_embd, which is also the LM head
	// (default: Type, or Q8_0 when Type is Q4_0, as the LM head is the
	// matrix most sensitive to 4-bit rounding).
	EmbedType quant.Type
	// Name goes to general.name.
	Name string
	// Step, if positive, is written to KeyStep.
	Step int
	// Extra metadata, written last.
	Extra []tokenizer.KV
}

// Builder returns a GGUF file holding the model in llama.cpp's gemma3
// layout with the vocabulary v: what models/gemma3.Load and llama.cpp
// run. Norm weights are written as 1 + w. With the default options every
// tensor is F32 (a checkpoint that Load resumes without loss).
func (m *Model) Builder(v *tokenizer.Vocab, opt ExportOptions) (*gguf.Builder, error) {
	c := &m.Config
	if len(v.Tokens) != c.Vocab {
		return nil, fmt.Errorf("train: vocabulary has %d tokens, model %d: %w", len(v.Tokens), c.Vocab, gemma3.ErrConfig)
	}
	typ, et := opt.Type, opt.EmbedType
	if et == 0 && typ != quant.F32 {
		et = typ
		if typ == quant.Q4_0 {
			et = quant.Q8_0
		}
	}
	name := opt.Name
	if name == "" {
		name = "zerfoo gemma3"
	}
	b := gguf.NewBuilder()
	md := []tokenizer.KV{
		{Key: gguf.KeyArchitecture, Value: "gemma3"},
		{Key: gguf.KeyName, Value: name},
		{Key: gguf.KeyQuantizationVersion, Value: uint32(2)},
		{Key: "gemma3.context_length", Value: uint32(c.Context)},
		{Key: "gemma3.embedding_length", Value: uint32(c.Hidden)},
		{Key: "gemma3.block_count", Value: uint32(c.Layers)},
		{Key: "gemma3.feed_forward_length", Value: uint32(c.FFN)},
		{Key: "gemma3.attention.head_count", Value: uint32(c.Heads)},
		{Key: "gemma3.attention.head_count_kv", Value: uint32(c.KVHeads)},
		{Key: "gemma3.attention.key_length", Value: uint32(c.HeadDim)},
		{Key: "gemma3.attention.value_length", Value: uint32(c.HeadDim)},
		{Key: "gemma3.attention.layer_norm_rms_epsilon", Value: c.Eps},
		{Key: "gemma3.rope.freq_base", Value: float32(c.GlobalBase)},
		{Key: "gemma3.rope.freq_base_swa", Value: float32(c.LocalBase)},
		{Key: "gemma3.attention.sliding_window", Value: uint32(c.Window)},
		{Key: "gemma3.attention.sliding_window_pattern", Value: uint32(c.Period)},
	}
	if c.GlobalScale != 1 {
		md = append(md, tokenizer.KV{Key: "gemma3.rope.scaling.type", Value: "linear"},
			tokenizer.KV{Key: "gemma3.rope.scaling.factor", Value: float32(c.GlobalScale)})
	}
	md = append(md, v.Metadata()...)
	if opt.Step > 0 {
		md = append(md, tokenizer.KV{Key: KeyStep, Value: uint64(opt.Step)})
	}
	md = append(md, opt.Extra...)
	for _, kv := range md {
		if err := b.Set(kv.Key, kv.Value); err != nil {
			return nil, fmt.Errorf("train: metadata %s: %w", kv.Key, err)
		}
	}
	addMat := func(p *graph.Parameter[float32], t quant.Type) error {
		d := p.Value.Shape()
		if err := b.AddFloat32(p.Name, t, []uint64{uint64(d[1]), uint64(d[0])}, p.Value.Data()); err != nil {
			return fmt.Errorf("train: tensor %s as %v: %w", p.Name, t, err)
		}
		return nil
	}
	addNorm := func(p *graph.Parameter[float32]) error {
		w := p.Value.Data()
		s := make([]float32, len(w))
		for i, x := range w {
			s[i] = 1 + x
		}
		if err := b.AddFloat32(p.Name, quant.F32, []uint64{uint64(len(s))}, s); err != nil {
			return fmt.Errorf("train: tensor %s: %w", p.Name, err)
		}
		return nil
	}
	if err := addMat(m.Embed, et); err != nil {
		return nil, err
	}
	if err := addNorm(m.Norm); err != nil {
		return nil, err
	}
	for i := range m.Layers {
		l := &m.Layers[i]
		for _, p := range l.params() {
			var err error
			if p.Value.Shape()[0] > 0 && len(p.Value.Shape()) == 1 {
				err = addNorm(p)
			} else {
				err = addMat(p, typ)
			}
			if err != nil {
				return nil, err
			}
		}
	}
	return b, nil
}

// Save writes the model as an F32 GGUF checkpoint at path (see Builder),
// recording step.
func (m *Model) Save(path string, v *tokenizer.Vocab, step int) error {
	b, err := m.Builder(v, ExportOptions{Step: step})
	if err != nil {
		return err
	}
	return b.WriteFile(path)
}

// Checkpoint is a model read back by Load.
type Checkpoint struct {
	Model *Model
	Vocab *tokenizer.Vocab
	Step  int // KeyStep, 0 when absent
}

// Load reads a gemma3 GGUF file (any tensor types models/gemma3 reads; they
// are widened to float32) for further training.
func Load(path string) (*Checkpoint, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ck, err := fromFile(f)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return ck, nil
}

func fromFile(f *gguf.File) (*Checkpoint, error) {
	emb, err := f.Tensor("token_embd.weight")
	if err != nil || len(emb.Dims) != 2 {
		return nil, fmt.Errorf("train: tensor token_embd.weight is missing or not 2-D: %w", ErrCheckpoint)
	}
	c, err := gemma3.FromMetadata(meta{f}, int(emb.Dims[1]))
	if err != nil {
		return nil, err
	}
	if _, err := f.Tensor("output.weight"); err == nil {
		return nil, fmt.Errorf("train: the model has an untied output.weight; only tied models train: %w", ErrCheckpoint)
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		return nil, err
	}
	m, err := New(c, 0)
	if err != nil {
		return nil, err
	}
	for _, p := range m.Params() {
		t, err := f.Tensor(p.Name)
		if err != nil {
			return nil, fmt.Errorf("train: tensor %s is missing: %w", p.Name, ErrCheckpoint)
		}
		d := p.Value.Shape()
		want := fmt.Sprint([]uint64{uint64(d[len(d)-1])})
		if len(d) == 2 {
			want = fmt.Sprint([]uint64{uint64(d[1]), uint64(d[0])})
		}
		if got := fmt.Sprint(t.Dims); got != want {
			return nil, fmt.Errorf("train: tensor %s has dims %s, want %s: %w", p.Name, got, want, ErrCheckpoint)
		}
		data, err := f.TensorData(p.Name)
		if err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		v := p.Value.Data()
		if err := quant.Dequantize(t.Type, v, data); err != nil {
			return nil, fmt.Errorf("train: tensor %s: %w", p.Name, err)
		}
		if len(d) == 1 {
			for i := range v {
				v[i]--
			}
		}
	}
	ck := &Checkpoint{Model: m, Vocab: tok.Vocab()}
	if v, ok := f.Lookup(KeyStep); ok {
		if s, ok := v.Int(); ok {
			ck.Step = int(s)
		}
	}
	return ck, nil
}

// meta adapts a gguf.File to gemma3.Metadata.
type meta struct{ f *gguf.File }

func (m meta) String(key string) (string, bool) {
	s, err := m.f.String(key)
	return s, err == nil
}

func (m meta) Int(key string) (int64, bool) {
	v, ok := m.f.Lookup(key)
	if !ok {
		return 0, false
	}
	return v.Int()
}

func (m meta) Float(key string) (float64, bool) {
	v, ok := m.f.Lookup(key)
	if !ok {
		return 0, false
	}
	return v.Float()
}
