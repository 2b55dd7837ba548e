package gemma3_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/budget"
	"github.com/zerfoo/zerfoo/gguf"
	"github.com/zerfoo/zerfoo/gguf/quant"
	"github.com/zerfoo/zerfoo/models/gemma3"
	"github.com/zerfoo/zerfoo/models/gemma3/gemma3test"
)

// mapMeta is Metadata from a map (string, int64 or float64 values).
type mapMeta map[string]any

func (m mapMeta) String(k string) (string, bool) { v, ok := m[k].(string); return v, ok }
func (m mapMeta) Int(k string) (int64, bool)     { v, ok := m[k].(int64); return v, ok }
func (m mapMeta) Float(k string) (float64, bool) {
	switch v := m[k].(type) {
	case float64:
		return v, true
	case int64:
		return float64(v), true
	}
	return 0, false
}

func meta270m() mapMeta {
	return mapMeta{
		"general.architecture":                    "gemma3",
		"gemma3.block_count":                      int64(18),
		"gemma3.embedding_length":                 int64(640),
		"gemma3.feed_forward_length":              int64(2048),
		"gemma3.attention.head_count":             int64(4),
		"gemma3.attention.head_count_kv":          int64(1),
		"gemma3.context_length":                   int64(32768),
		"gemma3.attention.layer_norm_rms_epsilon": 1e-6,
		"gemma3.attention.sliding_window":         int64(512),
	}
}

// TestMetadataErrors removes each required key in turn and sets a
// non-Gemma architecture: each is an error naming the key (ErrConfig) or
// listing the supported architectures (ErrArchitecture).
func TestMetadataErrors(t *testing.T) {
	if _, err := gemma3.FromMetadata(meta270m(), 262144); err != nil {
		t.Fatalf("complete metadata: %v", err)
	}
	for _, key := range []string{"gemma3.block_count", "gemma3.embedding_length", "gemma3.feed_forward_length",
		"gemma3.attention.head_count", "gemma3.context_length", "gemma3.attention.layer_norm_rms_epsilon"} {
		md := meta270m()
		delete(md, key)
		_, err := gemma3.FromMetadata(md, 262144)
		if !errors.Is(err, gemma3.ErrConfig) || !strings.Contains(err.Error(), key+" is missing") {
			t.Errorf("without %s: got %v, want ErrConfig naming the key", key, err)
		}
	}
	for _, arch := range []string{"llama", "gemma2", ""} {
		md := meta270m()
		md["general.architecture"] = arch
		_, err := gemma3.FromMetadata(md, 262144)
		if !errors.Is(err, gemma3.ErrArchitecture) || !strings.Contains(err.Error(), "unsupported architecture") ||
			!strings.Contains(err.Error(), "supported: gemma3") || !strings.Contains(err.Error(), `"`+arch+`"`) {
			t.Errorf("architecture %q: got %v, want ErrArchitecture naming it and listing gemma3", arch, err)
		}
	}
}

// TestLoadBadFiles checks Load on files that are not usable Gemma 3
// models.
func TestLoadBadFiles(t *testing.T) {
	for _, tc := range []struct {
		name, key string
		value     any
		want      error
		text      string
	}{
		{"llama", "general.architecture", "llama", gemma3.ErrArchitecture, `architecture "llama" is not supported (supported: gemma3)`},
		{"no-layers", "gemma3.block_count", "eighteen", gemma3.ErrConfig, `gemma3.block_count is string "eighteen", want an integer`},
		{"no-eps", "gemma3.attention.layer_norm_rms_epsilon", "tiny", gemma3.ErrConfig, `layer_norm_rms_epsilon is string "tiny", want a number`},
		{"value-length", "gemma3.attention.value_length", uint32(32), gemma3.ErrConfig, "value_length 32 differs"},
		{"too-many-layers", "gemma3.block_count", uint32(7), gemma3.ErrConfig, "blk.6.attn_norm.weight is missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := gemma3test.Build(gemma3test.Options{Seed: 1, Type: quant.Q8_0})
			if err != nil {
				t.Fatal(err)
			}
			if err := b.Set(tc.key, tc.value); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), tc.name+".gguf")
			if err := b.WriteFile(path); err != nil {
				t.Fatal(err)
			}
			_, err = gemma3.Load(path, gemma3.LoadOptions{})
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
				t.Errorf("%s = %v: got %v, want %v containing %q", tc.key, tc.value, err, tc.want, tc.text)
			}
		})
	}
}

// TestPromptLongerThanContext feeds the model (MaxLen 0: the model's whole
// context) a prompt one token longer than gemma3.context_length.
func TestPromptLongerThanContext(t *testing.T) {
	m, err := gemma3.Load(writeTiny(t, quant.Q8_0), gemma3.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s := m.NewState(gemma3.StateOptions{})
	prompt := make([]int32, m.Config.Context+1)
	err = s.Forward(context.Background(), prompt, nil)
	if !errors.Is(err, gemma3.ErrContext) || !strings.Contains(err.Error(), "exceed the maximum length 256") {
		t.Errorf("%d tokens into context %d: got %v, want ErrContext naming the length", len(prompt), m.Config.Context, err)
	}
	if s.Pos() != 0 {
		t.Errorf("after the failed prompt Pos() = %d, want 0", s.Pos())
	}
}

// TestMetadataLlamaCppKeys reads the gemma3 keys that Gemma 3's own files
// leave out as llama.cpp's loader does: final_logit_softcapping (any
// nonzero value caps; −c caps as c), sliding_window_pattern 0 (every
// layer local) and 1 (every layer global), and an array there, which
// llama.cpp ignores (every sixth layer global).
func TestMetadataLlamaCppKeys(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want float32
	}{{30.0, 30}, {-30.0, 30}, {int64(0), 0}} {
		md := meta270m()
		md["gemma3.final_logit_softcapping"] = tc.v
		c, err := gemma3.FromMetadata(md, 262144)
		if err != nil || c.Softcap != tc.want {
			t.Errorf("softcap %v: got %v, %v; want %v", tc.v, c.Softcap, err, tc.want)
		}
	}
	for _, v := range []any{"30", math.NaN(), math.Inf(1), 1e300} {
		md := meta270m()
		md["gemma3.final_logit_softcapping"] = v
		if _, err := gemma3.FromMetadata(md, 262144); !errors.Is(err, gemma3.ErrConfig) || !strings.Contains(err.Error(), "soft") {
			t.Errorf("softcap %v: got %v, want ErrConfig naming it", v, err)
		}
	}
	for _, tc := range []struct {
		period int64
		global string
	}{{0, "[]"}, {1, "[0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17]"}, {6, "[5 11 17]"}, {4, "[3 7 11 15]"}} {
		md := meta270m()
		md["gemma3.attention.sliding_window_pattern"] = tc.period
		c, err := gemma3.FromMetadata(md, 262144)
		if err != nil {
			t.Fatal(err)
		}
		var g []int
		for i := range c.Layers {
			if c.Global(i) {
				g = append(g, i)
			}
		}
		if fmt.Sprint(g) != tc.global {
			t.Errorf("pattern %d: global layers %v, want %s", tc.period, g, tc.global)
		}
	}
	b, err := gemma3test.Build(gemma3test.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Set("gemma3.attention.sliding_window_pattern", []bool{true, true, true, true, true, false}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "array.gguf")
	if err := b.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	m, err := gemma3.Load(path, gemma3.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Config.Period != 6 {
		t.Errorf("array pattern: period %d, want 6 (llama.cpp ignores an array there)", m.Config.Period)
	}
}

// TestLoadUnsupportedTensors: tensors that llama.cpp would apply to the
// decoder (biases, NVFP4 per-tensor scales, a fused attn_qkv) are an error
// naming the tensor, not silently ignored; other extra tensors load.
func TestLoadUnsupportedTensors(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    int
		want string // "" loads
	}{
		{"blk.0.attn_q.bias", 256, "matrix biases"},
		{"blk.3.ffn_up.scale", 1, "per-tensor weight and input scales"},
		{"output.input_scale", 1, "per-tensor weight and input scales"},
		{"blk.1.attn_qkv.weight", 256, "fused Q/K/V"},
		{"v.blk.0.attn_q.bias", 256, ""}, // a vision tower's
		{"blk.0.attn_q.extra", 256, ""},
	} {
		b, err := gemma3test.Build(gemma3test.Options{Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.AddFloat32(tc.name, quant.F32, []uint64{uint64(tc.n)}, make([]float32, tc.n)); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "extra.gguf")
		if err := b.WriteFile(path); err != nil {
			t.Fatal(err)
		}
		m, err := gemma3.Load(path, gemma3.LoadOptions{})
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %v, want it to load", tc.name, err)
			} else {
				m.Close()
			}
			continue
		}
		if !errors.Is(err, gemma3.ErrConfig) || !strings.Contains(err.Error(), "tensor "+tc.name+": "+tc.want) {
			t.Errorf("%s: got %v, want ErrConfig naming it and %q", tc.name, err, tc.want)
		}
	}
}

// TestMetadataUnsupportedKeys: keys llama.cpp would apply but this
// package does not implement are errors naming them when they ask for
// anything but the default; at the default they load.
func TestMetadataUnsupportedKeys(t *testing.T) {
	for _, tc := range []struct {
		key      string
		bad, def any
	}{
		{"gemma3.rope.dimension_count", int64(128), int64(256)},
		{"gemma3.rope.dimension_count_swa", int64(64), int64(256)},
		{"gemma3.attention.key_length_swa", int64(128), int64(256)},
		{"gemma3.attention.value_length_swa", int64(512), int64(256)},
		{"gemma3.rope.scaling.attn_factor", 0.5, 1.0},
	} {
		md := meta270m()
		md[tc.key] = tc.bad
		if _, err := gemma3.FromMetadata(md, 262144); !errors.Is(err, gemma3.ErrConfig) || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%s = %v: got %v, want ErrConfig naming the key", tc.key, tc.bad, err)
		}
		md[tc.key] = tc.def
		if _, err := gemma3.FromMetadata(md, 262144); err != nil {
			t.Errorf("%s = %v: %v", tc.key, tc.def, err)
		}
	}
	md := meta270m()
	md["gemma3.rope.scale_linear"] = 8.0
	if c, err := gemma3.FromMetadata(md, 262144); err != nil || c.GlobalScale != 8 {
		t.Errorf("rope.scale_linear 8: scale %v, %v; want 8", c.GlobalScale, err)
	}
}

// TestLoadCodesOverBudget: matrices held as table codes (IQ1_S: tiles of
// 3.31 or 4.31 bits per weight for the file's 1.56; PreferSpeed, as CPUs with the
// IQ1 grid kernels keep the grid indices otherwise) that would not fit the
// memory budget stay on the reference path, with a notice, instead of
// failing the load.
func TestLoadCodesOverBudget(t *testing.T) {
	path := writeTiny(t, quant.IQ1_S)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for b := 4 * st.Size(); b > st.Size()/4 && !found; b = b * 15 / 16 {
		var notes []string
		m, err := gemma3.Load(path, gemma3.LoadOptions{Budget: budget.Limit(b), PreferSpeed: true, Notice: func(s string) { notes = append(notes, s) }})
		if err != nil {
			continue
		}
		blocks := false // the layers are packed in order: the last are left
		for _, l := range m.Weights.Layers {
			_, b := l.Down.(*gemma3.Blocks)
			blocks = blocks || b
		}
		if blocks && len(notes) > 0 && strings.Contains(strings.Join(notes, "\n"), "runs on the slow reference path") {
			found = true
		}
		m.Close()
	}
	if !found {
		t.Error("no budget left the IQ1_S matrices on the reference path with a notice")
	}
}

// TestLoadNonFiniteScale: an IQ1_S matrix with one block whose scale is
// infinite cannot be held as table codes (PreferSpeed: the form where the
// CPU has IQ1 grid kernels, whose tiles keep the file's scales), nor an MXFP4 one whose scale
// 2^127 is no float16 rewritten as Q8_0: each stays on the reference path
// with a notice naming it, and the other matrices are packed.
func TestLoadNonFiniteScale(t *testing.T) {
	for _, tc := range []struct {
		typ   quant.Type
		bytes []byte // at the start of the tensor's first block
		note  string
	}{
		{quant.IQ1_S, []byte{0x00, 0x7c}, "not finite"}, // d = +Inf
		{quant.MXFP4, []byte{255, 0x77}, "no exact Q8_0 counterpart"},
	} {
		path := writeTiny(t, tc.typ)
		f, err := gguf.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		const name = "blk.0.ffn_down.weight"
		ti, err := f.Tensor(name)
		if err != nil {
			t.Fatal(err)
		}
		off := f.DataOffset + int64(ti.Offset)
		f.Close()
		w, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.WriteAt(tc.bytes, off); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		var notes []string
		m, err := gemma3.Load(path, gemma3.LoadOptions{PreferSpeed: true, Notice: func(s string) { notes = append(notes, s) }})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := m.Weights.Layers[0].Down.(*gemma3.Blocks); !ok {
			t.Errorf("%v %s: %T, want *gemma3.Blocks", tc.typ, name, m.Weights.Layers[0].Down)
		}
		if _, ok := m.Weights.Layers[1].Down.(*gemma3.Packed); !ok {
			t.Errorf("%v blk.1.ffn_down.weight: %T, want *gemma3.Packed", tc.typ, m.Weights.Layers[1].Down)
		}
		if all := strings.Join(notes, "\n"); !strings.Contains(all, name) || !strings.Contains(all, tc.note) {
			t.Errorf("%v: notices %q: want one naming %s", tc.typ, notes, name)
		}
		m.Close()
	}
}
