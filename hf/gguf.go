package hf

import (
	"encoding/binary"
	"fmt"
	"math"
	"path/filepath"

	"github.com/zerfoo/zerfoo/gguf"
	"github.com/zerfoo/zerfoo/gguf/quant"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/safetensors"
	"github.com/zerfoo/zerfoo/tokenizer"
)

// The LLAMA_FTYPE values of general.file_type for the float outputs.
const (
	fileTypeF32  = 0
	fileTypeF16  = 1
	fileTypeBF16 = 32
)

// fileType returns general.file_type for matrices of type t.
func fileType(t quant.Type) uint32 {
	switch t {
	case quant.F16:
		return fileTypeF16
	case quant.BF16:
		return fileTypeBF16
	}
	return fileTypeF32
}

// AutoType returns the type convert_hf_to_gguf.py's --outtype auto gives
// the matrices: BF16 or F16 when the first matrix (in its order) is
// stored so, else F16.
func (f *Folder) AutoType() quant.Type {
	for _, t := range f.tensors {
		if len(t.src.Shape) < 2 {
			continue
		}
		switch t.src.DType {
		case safetensors.BF16:
			return quant.BF16
		case safetensors.F16:
			return quant.F16
		}
		break
	}
	return quant.F16
}

// storedType returns the GGUF type of a dtype's encoding (F64 has none).
func storedType(d safetensors.DType) (quant.Type, bool) {
	switch d {
	case safetensors.F32:
		return quant.F32, true
	case safetensors.F16:
		return quant.F16, true
	case safetensors.BF16:
		return quant.BF16, true
	}
	return 0, false
}

// setMetadata sets the metadata convert_hf_to_gguf.py writes for Gemma 3,
// in its order, with general.file_type ft.
func (f *Folder) setMetadata(b *gguf.Builder, ft uint32) error {
	c := f.Config
	var kvs []gguf.KV
	set := func(key string, v any) {
		val, err := gguf.ValueOf(v)
		if err != nil {
			panic(err) // the values below have metadata types
		}
		kvs = append(kvs, gguf.KV{Key: key, Value: val})
	}
	set(gguf.KeyArchitecture, "gemma3")
	set("general.type", "model")
	if g := f.Generation; g != nil { // gguf-py Metadata: generation_config.json's sampling
		if g.TopK != nil {
			set("general.sampling.top_k", int32(min(*g.TopK, math.MaxInt32)))
		}
		if g.TopP != nil {
			set("general.sampling.top_p", float32(*g.TopP))
		}
		if g.MinP != nil {
			set("general.sampling.min_p", float32(*g.MinP))
		}
		if g.Temperature != nil {
			set("general.sampling.temp", float32(*g.Temperature))
		}
		if g.RepetitionPenalty != nil {
			set("general.sampling.penalty_repeat", float32(*g.RepetitionPenalty))
		}
	}
	set(gguf.KeyName, filepath.Base(filepath.Clean(f.Dir)))
	// TextModel.set_gguf_parameters, then Gemma3Model's (whose repeats
	// keep their first place).
	set("gemma3.block_count", uint32(c.Layers))
	set("gemma3.context_length", uint32(c.Context))
	set("gemma3.embedding_length", uint32(c.Hidden))
	set("gemma3.feed_forward_length", uint32(c.FFN))
	set("gemma3.attention.head_count", uint32(c.Heads))
	set("gemma3.attention.head_count_kv", uint32(c.KVHeads))
	if c.RopeScaling == "linear" {
		set("gemma3.rope.scaling.type", "linear")
		set("gemma3.rope.scaling.factor", float32(c.RopeFactor))
	}
	set("gemma3.rope.freq_base", float32(c.RopeTheta))
	set("gemma3.rope.freq_base_swa", float32(c.LocalRopeTheta))
	set("gemma3.attention.layer_norm_rms_epsilon", float32(c.Eps))
	set("gemma3.attention.key_length", uint32(c.HeadDim))
	set("gemma3.attention.value_length", uint32(c.HeadDim))
	set(gguf.KeyFileType, ft)
	if c.FinalLogitSoftcap != 0 {
		set("gemma3.final_logit_softcapping", float32(c.FinalLogitSoftcap))
	}
	if c.SlidingPeriod != 1 {
		set("gemma3.attention.sliding_window", uint32(c.SlidingWindow))
		if c.SlidingPeriod != defaultSlidingPeriod {
			// Not written by convert_hf_to_gguf.py, which assumes 6 as
			// llama.cpp does; without it another pattern would be lost.
			set("gemma3.attention.sliding_window_pattern", uint32(c.SlidingPeriod))
		}
	}
	set(gguf.KeyQuantizationVersion, uint32(2))
	// The vocabulary (_set_vocab_sentencepiece): SpecialVocab writes the
	// chat template before add_space_prefix is set.
	var late []tokenizer.KV
	for _, kv := range f.Tokenizer.Metadata() {
		if kv.Key == tokenizer.KeyAddSpacePrefix {
			late = append(late, kv)
			continue
		}
		set(kv.Key, kv.Value)
	}
	for _, kv := range late {
		set(kv.Key, kv.Value)
	}
	for _, kv := range kvs {
		if err := b.Set(kv.Key, kv.Value); err != nil {
			return fmt.Errorf("hf: %w", err)
		}
	}
	return nil
}

// View returns the folder as a GGUF file, for loaders of GGUF models
// (gemma3.FromFile, tokenizer.FromGGUF): the metadata and tensor names
// convert_hf_to_gguf.py writes, with every matrix at its stored precision
// and read in place from the safetensors mapping (F32, F16 and BF16 as
// they are; F64 converted to F32 each time it is read), and the norm
// weights as new float32 1 + w. Nothing is written to disk; the norms are
// the only copies (checked against the folder's budget).
//
// The File stays valid until it or the Folder is closed; closing the File
// closes the Folder.
func (f *Folder) View() (*gguf.File, error) {
	b := gguf.NewBuilder()
	if err := f.setMetadata(b, fileType(f.AutoType())); err != nil {
		return nil, err
	}
	var norms int64
	for i := range f.tensors {
		t := &f.tensors[i]
		if t.norm {
			norms += 4 * int64(t.elems())
			if err := f.opt.Budget.Check("norm weights (1 + w) through "+t.name, norms); err != nil {
				return nil, fmt.Errorf("hf: %w", err)
			}
			if err := b.AddTensor(t.name, quant.F32, t.dims(), normBytes(t.src)); err != nil {
				return nil, fmt.Errorf("hf: %w", err)
			}
			continue
		}
		var err error
		if typ, ok := storedType(t.src.DType); ok {
			err = b.AddTensor(t.name, typ, t.dims(), t.src.Data)
		} else {
			src := t.src
			err = b.AddTensorFunc(t.name, quant.F32, t.dims(), func(dst []byte) error { return encode(quant.F32, dst, src) })
		}
		if err != nil {
			return nil, fmt.Errorf("hf: %w", err)
		}
	}
	return b.View(f.Close, gguf.Options{Budget: f.opt.Budget}), nil
}

// normBytes returns 1 + w as little-endian float32, computed as
// convert_hf_to_gguf.py computes it: in float32 for F32, BF16 and F64
// weights (converted to float32 first), in float16 for F16 ones.
func normBytes(t *safetensors.Tensor) []byte {
	n := len(t.Data) / t.DType.Size()
	out := make([]byte, 4*n)
	vals := make([]float32, min(n, chunk))
	for at := 0; at < n; at += len(vals) {
		v := vals[:min(len(vals), n-at)]
		decode(t, v, at)
		for i, x := range v {
			y := x + 1
			if t.DType == safetensors.F16 {
				y = numeric.Float16FromFloat32(y).Float32()
			}
			binary.LittleEndian.PutUint32(out[4*(at+i):], math.Float32bits(y))
		}
	}
	return out
}

// chunk is the number of elements converted at a time.
const chunk = 1 << 16

// decode converts the elements of t from index at into dst.
func decode(t *safetensors.Tensor, dst []float32, at int) {
	d := t.Data
	switch t.DType {
	case safetensors.F32:
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(d[4*(at+i):]))
		}
	case safetensors.F16:
		for i := range dst {
			dst[i] = numeric.Float16FromBits(binary.LittleEndian.Uint16(d[2*(at+i):])).Float32()
		}
	case safetensors.BF16:
		for i := range dst {
			dst[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(d[2*(at+i):])) << 16)
		}
	case safetensors.F64:
		for i := range dst {
			dst[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(d[8*(at+i):])))
		}
	default:
		panic("hf: decode " + t.DType.String()) // plan admits only the types above
	}
}

// encode converts all of src to typ (F32, F16 or BF16) into dst, as
// gguf-py does (round to nearest even; NaNs stay NaNs).
func encode(typ quant.Type, dst []byte, src *safetensors.Tensor) error {
	n := len(src.Data) / src.DType.Size()
	size := typ.BlockBytes()
	vals := make([]float32, min(n, chunk))
	for at := 0; at < n; at += len(vals) {
		v := vals[:min(len(vals), n-at)]
		decode(src, v, at)
		if err := quant.Quantize(typ, dst[size*at:size*(at+len(v))], v); err != nil {
			return err
		}
	}
	return nil
}
