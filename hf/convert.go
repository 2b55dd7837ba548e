package hf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/zerfoo/zerfoo/gguf"
	"github.com/zerfoo/zerfoo/gguf/quant"
	"github.com/zerfoo/zerfoo/quantize"
)

// ConvertOptions tunes Convert.
type ConvertOptions struct {
	Options // for Open
	// Type is the output type: "" for convert_hf_to_gguf.py's --outtype
	// auto (see Folder.AutoType); F32, F16 or BF16, written as
	// convert_hf_to_gguf.py writes them; or another llama.cpp file type
	// (Q8_0, Q4_K_M, …: see quantize.Types), written as llama-quantize
	// writes that type from the checkpoint's own values (see Convert).
	Type quantize.Type
	// Force overwrites an existing output file.
	Force bool
	// Progress, if set, is called with the work done and its total:
	// tensors while quantizing, then bytes while writing.
	Progress func(done, total int64)
}

// Result describes a conversion.
type Result struct {
	Type    quantize.Type // the file type written
	Tensors int
	Size    int64 // bytes written
	Skipped []string
	// Report is quantize.GGUF's per-tensor report for the quantized
	// types; nil for F32, F16 and BF16.
	Report *quantize.Report
}

// Convert writes the Gemma 3 checkpoint in the folder dir (see Open) to
// out as a GGUF file.
//
// For F32, F16 and BF16 (and "", which picks one of them as --outtype auto
// does) the file is what convert_hf_to_gguf.py writes for the folder with
// that --outtype: the same tensors in the same order (shards by file name,
// tensors by name; vision tower and projector left out), names, ggml
// dimensions, types (norm weights as float32 1 + w, every matrix in the
// output type: copied when stored so, else converted with round to
// nearest even) and bytes, and the same metadata in the same order, but
// for these known differences:
//
//   - general.name is the folder's name, and the other general.* keys the
//     converter derives from the model card and the folder's name
//     (basename, finetune, size_label, license, tags, languages,
//     base_model.*, …) are not written;
//   - the vocabulary is tokenizer.json's, converted as
//     tokenizer.ParseHF describes, which matches what the converter
//     reads from tokenizer.model (Google's folders ship both); from
//     tokenizer.json alone the converter would write a "gpt2" vocabulary
//     with merges instead;
//   - a layer pattern other than one global layer in six (from
//     sliding_window_pattern or layer_types) is written as
//     gemma3.attention.sliding_window_pattern, which the converter
//     leaves out (llama.cpp then assumes six);
//   - config.json values that transformers' AutoConfig would normalize
//     are read as they are, with Gemma3TextConfig's defaults for absent
//     keys.
//
// Any other type is the file llama-quantize writes for that type (without
// an importance matrix) from the checkpoint converted as above at its
// stored precision — BF16 or F16 as --outtype auto keeps them, F32 as
// --outtype f32 — using package quantize: llama.cpp's per-tensor rules,
// tensor order and metadata.
//
// Float outputs are written one tensor at a time (matrices already in the
// output type straight from the mapping); quantized ones are built in
// memory first (at most their own size). The file appears at out only
// when complete: it is written to a temporary file beside it and renamed.
// out must not exist unless Force is set. Convert stops when ctx is done.
func Convert(ctx context.Context, dir, out string, o ConvertOptions) (*Result, error) {
	typ := o.Type
	if typ != "" {
		t, err := quantize.ParseType(string(typ))
		if err != nil {
			return nil, fmt.Errorf("hf: %w", err)
		}
		if t.IsONNX() {
			return nil, fmt.Errorf("hf: type %s is an ONNX type; a GGUF needs a llama.cpp file type such as Q4_K_M: %w", t, quantize.ErrInput)
		}
		typ = t
	}
	if out == "" {
		return nil, fmt.Errorf("hf: no output path: %w", quantize.ErrInput)
	}
	if !o.Force {
		if _, err := os.Stat(out); err == nil {
			return nil, fmt.Errorf("hf: output %s exists (use --force to overwrite): %w", out, quantize.ErrInput)
		}
	}
	f, err := Open(dir, o.Options)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	res := &Result{Skipped: f.Skipped}
	var b *gguf.Builder
	switch typ {
	case "", quantize.F32, quantize.F16, quantize.BF16:
		ft := f.AutoType()
		if typ != "" {
			m, _ := quantize.LookupMix(typ)
			ft = m.Default
		}
		if b, err = f.floatBuilder(ctx, ft); err != nil {
			return nil, err
		}
		res.Type = quantize.Type(ft.String())
	default:
		v, err := f.View()
		if err != nil {
			return nil, err
		}
		b = gguf.NewBuilder()
		qo := quantize.Options{Type: typ}
		if o.Progress != nil {
			// Report the input bytes of the tensors quantized so far.
			var done, total int64
			sizes := map[string]int64{}
			for _, t := range v.Tensors {
				sizes[t.Name] = t.Size
				total += t.Size
			}
			last := ""
			qo.Progress = func(_, _ int, name string) {
				done += sizes[last]
				last = name
				o.Progress(done, total)
			}
		}
		if res.Report, err = quantize.GGUF(ctx, v, b, qo); err != nil {
			return nil, fmt.Errorf("hf: %s: %w", dir, err)
		}
		res.Type = typ
	}
	v := b.View(nil)
	res.Tensors = len(v.Tensors)
	if res.Size, err = writeAtomic(ctx, b, out, fileSize(v), o.Progress); err != nil {
		return nil, err
	}
	return res, nil
}

// floatBuilder returns a Builder of the folder converted as
// convert_hf_to_gguf.py converts it with matrices of type ft.
func (f *Folder) floatBuilder(ctx context.Context, ft quant.Type) (*gguf.Builder, error) {
	b := gguf.NewBuilder()
	if err := f.setMetadata(b, fileType(ft)); err != nil {
		return nil, err
	}
	for i := range f.tensors {
		t := &f.tensors[i]
		var err error
		switch st, _ := storedType(t.src.DType); {
		case t.norm:
			src := t.src
			err = b.AddTensorFunc(t.name, quant.F32, t.dims(), func(dst []byte) error {
				copy(dst, normBytes(src))
				return ctx.Err()
			})
		case st == ft:
			err = b.AddTensor(t.name, ft, t.dims(), t.src.Data)
		default:
			src := t.src
			err = b.AddTensorFunc(t.name, ft, t.dims(), func(dst []byte) error {
				if err := ctx.Err(); err != nil {
					return err
				}
				return encode(ft, dst, src)
			})
		}
		if err != nil {
			return nil, fmt.Errorf("hf: %w", err)
		}
	}
	return b, nil
}

// fileSize returns the size of the file v describes.
func fileSize(v *gguf.File) int64 {
	end := v.DataOffset
	for _, t := range v.Tensors {
		al := int64(v.Alignment)
		end = max(end, v.DataOffset+(int64(t.Offset)+t.Size+al-1)/al*al)
	}
	return end
}

// writeAtomic writes b to a temporary file beside out, then renames it to
// out; nothing is left behind on failure.
func writeAtomic(ctx context.Context, b *gguf.Builder, out string, total int64, progress func(done, total int64)) (int64, error) {
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp*")
	if err != nil {
		return 0, fmt.Errorf("hf: %w", err)
	}
	w := &progressWriter{ctx: ctx, w: tmp, total: total, fn: progress}
	n, err := b.WriteTo(w)
	if cerr := tmp.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), out)
	}
	if err != nil {
		os.Remove(tmp.Name())
		if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
			err = fmt.Errorf("%w (%v)", ctxErr, err)
		}
		return 0, fmt.Errorf("hf: writing %s: %w", out, err)
	}
	return n, nil
}

// progressWriter counts the bytes written, reports them, and fails once
// ctx is done.
type progressWriter struct {
	ctx         context.Context
	w           io.Writer
	done, total int64
	fn          func(done, total int64)
}

func (p *progressWriter) Write(b []byte) (int, error) {
	if err := p.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := p.w.Write(b)
	p.done += int64(n)
	if p.fn != nil {
		p.fn(p.done, p.total)
	}
	return n, err
}
