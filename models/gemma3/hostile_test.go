package gemma3_test

import (
	"context"
	"errors"
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

// writeEdited writes the tiny model of type typ after edit changes its
// Builder, and returns the path.
func writeEdited(t testing.TB, typ quant.Type, edit func(b *gguf.Builder) error) string {
	t.Helper()
	b, err := gemma3test.Build(gemma3test.Options{Seed: 1, Type: typ})
	if err != nil {
		t.Fatal(err)
	}
	if err := edit(b); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "edited.gguf")
	if err := b.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	return path
}

func set(key string, v any) func(*gguf.Builder) error {
	return func(b *gguf.Builder) error { return b.Set(key, v) }
}

// wantOneLine fails unless err wraps target, contains text and is one line.
func wantOneLine(t *testing.T, err, target error, text string) {
	t.Helper()
	switch {
	case err == nil:
		t.Fatalf("got no error, want one containing %q", text)
	case !errors.Is(err, target) || !strings.Contains(err.Error(), text):
		t.Fatalf("got %v, want %v containing %q", err, target, text)
	case strings.Contains(err.Error(), "\n"):
		t.Fatalf("error %q has more than one line", err)
	}
}

// TestLoadOutOfRange loads files whose integers are beyond what the
// architecture can mean: each is a one-line error at load naming the key
// and the value. The first is issue 16's reproducer: a sliding window of
// MaxInt64 used to pass validation, overflow Window + Batch − 1 in
// NewState and panic in scores4 on a worker goroutine.
func TestLoadOutOfRange(t *testing.T) {
	for _, tc := range []struct {
		key  string
		v    any
		text string
	}{
		{"gemma3.attention.sliding_window", int64(math.MaxInt64), "gemma3.attention.sliding_window = 9223372036854775807 is out of range [0, 1048576]"},
		{"gemma3.attention.sliding_window", uint64(1<<20 + 1), "gemma3.attention.sliding_window = 1048577 is out of range"},
		{"gemma3.attention.sliding_window", int32(-1), "gemma3.attention.sliding_window = -1 is out of range"},
		{"gemma3.context_length", uint64(math.MaxUint64), "gemma3.context_length = 18446744073709551615 is out of range [1, 1048576]"},
		{"gemma3.context_length", uint32(0), "gemma3.context_length = 0 is out of range [1, 1048576]"},
		{"gemma3.context_length", float32(256), "gemma3.context_length is float32 256, want an integer"},
		{"gemma3.block_count", uint64(1 << 32), "gemma3.block_count = 4294967296 is out of range [1, 1024]"},
		{"gemma3.embedding_length", int64(-256), "gemma3.embedding_length = -256 is out of range"},
		{"gemma3.feed_forward_length", uint64(1 << 40), "gemma3.feed_forward_length = 1099511627776 is out of range"},
		{"gemma3.attention.head_count", uint32(1 << 20), "gemma3.attention.head_count = 1048576 is out of range [1, 1024]"},
		{"gemma3.attention.head_count_kv", uint32(0), "gemma3.attention.head_count_kv = 0 is out of range"},
		{"gemma3.attention.key_length", uint64(1 << 62), "gemma3.attention.key_length = 4611686018427387904 is out of range [1, 1024]"},
		{"gemma3.attention.sliding_window_pattern", int64(-6), "gemma3.attention.sliding_window_pattern = -6 is out of range"},
		{"gemma3.attention.key_length", []uint32{64}, "gemma3.attention.key_length is array [1]uint32{64}, want an integer"},
		{"gemma3.attention.layer_norm_rms_epsilon", float32(float32(math.Inf(1))), "eps +Inf"},
		{"gemma3.attention.layer_norm_rms_epsilon", float64(-1e-6), "eps -1e-06"},
		{"gemma3.attention.layer_norm_rms_epsilon", float64(1e300), "eps +Inf"},
		{"gemma3.rope.freq_base", float32(float32(math.NaN())), "rope bases NaN/10000"},
		{"gemma3.rope.freq_base_swa", float64(0), "rope bases 1e+06/0"},
		{"gemma3.rope.scaling.factor", float32(float32(math.Inf(1))), "scale +Inf must be finite"},
	} {
		t.Run(tc.key, func(t *testing.T) {
			_, err := gemma3.Load(writeEdited(t, quant.F32, set(tc.key, tc.v)), gemma3.LoadOptions{})
			wantOneLine(t, err, gemma3.ErrConfig, tc.text)
		})
	}
}

// TestConfigBounds checks that FromMetadata also reports an unsigned value
// beyond int64 as out of range through a Metadata that only has Int,
// Float and String (its Float sees the value).
func TestConfigBounds(t *testing.T) {
	md := meta270m()
	md["gemma3.context_length"] = float64(math.MaxUint64)
	_, err := gemma3.FromMetadata(md, 262144)
	wantOneLine(t, err, gemma3.ErrConfig, "gemma3.context_length = 1.8446744073709552e+19 is out of range")
	c, _ := gemma3.Preset("1b")
	for _, tc := range []struct {
		edit func(*gemma3.Config)
		text string
	}{
		{func(c *gemma3.Config) { c.Window = c.Context + 1 }, "sliding window 32769 is out of range [1, 32768]"},
		{func(c *gemma3.Config) { c.Window = 0 }, "sliding window 0 is out of range"},
		{func(c *gemma3.Config) { c.Context = gemma3.MaxContext + 1 }, "context length 1048577 is out of range"},
		{func(c *gemma3.Config) { c.Vocab = gemma3.MaxVocab + 1 }, "vocabulary size 4194305 is out of range"},
		{func(c *gemma3.Config) { c.HeadDim = 255 }, "head dim 255 must be even"},
		{func(c *gemma3.Config) { c.KVHeads = 3 }, "head count 4 must be a multiple of kv head count 3"},
		{func(c *gemma3.Config) { c.QueryScale = float32(math.Inf(1)) }, "query scale +Inf"},
	} {
		c := c
		tc.edit(&c)
		wantOneLine(t, c.Validate(), gemma3.ErrConfig, tc.text)
	}
}

// TestWindowClamped loads a file whose sliding window is longer than its
// context: the window is the context (as llama.cpp's mask behaves) and
// the model runs.
func TestWindowClamped(t *testing.T) {
	m, err := gemma3.Load(writeEdited(t, quant.F32, set("gemma3.attention.sliding_window", uint32(1<<20))), gemma3.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Config.Window != m.Config.Context {
		t.Errorf("window %d, context %d: want the window clamped to the context", m.Config.Window, m.Config.Context)
	}
	s := m.NewState(gemma3.StateOptions{MaxLen: 16})
	if err := s.Forward(context.Background(), []int32{2, 107, 108}, make([]float32, m.Config.Vocab)); err != nil {
		t.Fatal(err)
	}
}

// TestLoadBadTensor loads files whose token embedding has dims that
// overflow, or whose row count is beyond MaxVocab: errors naming the
// tensor.
func TestLoadBadTensor(t *testing.T) {
	bases, err := fuzzBase()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		edits []edit
		want  error
		text  string
	}{
		{[]edit{{editDims, 0, 0, 1 << 40}, {editDims, 0, 1, 1 << 40}}, gguf.ErrFormat, `tensor "token_embd.weight": dimensions [1099511627776 1099511627776] overflow`},
		{[]edit{{editDims, 0, 1, 1 << 40}}, gguf.ErrFormat, `tensor "token_embd.weight": 140737488355328 bytes at data offset 0 run past the end`},
		{[]edit{{editDims, 0, 0, 0}, {editDims, 0, 1, 1 << 30}}, gemma3.ErrConfig, "token_embd.weight has 1073741824 rows (the vocabulary size), out of range [1, 4194304]"},
	} {
		path := filepath.Join(t.TempDir(), "m.gguf")
		if err := os.WriteFile(path, mutate(t, bases[0], tc.edits), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := gemma3.Load(path, gemma3.LoadOptions{})
		wantOneLine(t, err, tc.want, tc.text)
	}
}

// TestLoadBudget loads the tiny model with budgets too small for its
// header and for its converted weights (F32 copied, Q8_0, Q4_K; F32 read
// in place fits), and starts a State whose KV cache
// is over its budget: each error names what and how much, and wraps
// budget.ErrExceeded.
func TestLoadBudget(t *testing.T) {
	path := writeTiny(t, quant.F32)
	_, err := gemma3.Load(path, gemma3.LoadOptions{Budget: 20 << 10})
	wantOneLine(t, err, budget.ErrExceeded, `gguf: the header through metadata "tokenizer.ggml.tokens"`)
	// With Mapped, F32 matrices are read in place from the mapping: only
	// the norm vectors count. By default they are copied, and count.
	if m, err := gemma3.Load(path, gemma3.LoadOptions{Budget: 1 << 20, Mapped: true}); err != nil {
		t.Errorf("F32 model read in place in a 1 MiB budget: %v", err)
	} else {
		m.Close()
	}
	for _, typ := range []quant.Type{quant.F32, quant.Q8_0, quant.Q4_K} {
		_, err = gemma3.Load(writeTiny(t, typ), gemma3.LoadOptions{Budget: 1 << 20})
		wantOneLine(t, err, budget.ErrExceeded, "gemma3: converted weights through tensor blk.")
	}

	m, err := gemma3.Load(path, gemma3.LoadOptions{Budget: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s := m.NewState(gemma3.StateOptions{Budget: 256 << 10})
	wantOneLine(t, s.Err(), budget.ErrExceeded, "gemma3: KV cache of 256 positions × 6 layers × 128 values (K and V) and scratch buffers needs")
	err = s.Forward(context.Background(), []int32{2}, nil)
	wantOneLine(t, err, budget.ErrExceeded, "KV cache")
	if s := m.NewState(gemma3.StateOptions{MaxLen: 16}); s.Err() != nil {
		t.Errorf("MaxLen 16 within the model's budget: %v", s.Err())
	}
}

// TestNewStateLargeConfig gives NewState the largest valid configuration
// (every bound at its maximum): the sizes are checked against the budget
// without overflow and nothing is allocated.
func TestNewStateLargeConfig(t *testing.T) {
	m, err := gemma3.Load(writeTiny(t, quant.F32), gemma3.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	c := &m.Config
	c.Layers, c.Context, c.Window, c.Heads, c.KVHeads, c.HeadDim = gemma3.MaxLayers, gemma3.MaxContext, gemma3.MaxContext, gemma3.MaxHeads, gemma3.MaxHeads, gemma3.MaxHeadDim
	c.Hidden, c.FFN, c.Vocab = gemma3.MaxHidden, gemma3.MaxFFN, gemma3.MaxVocab
	s := m.NewState(gemma3.StateOptions{Batch: math.MaxInt})
	wantOneLine(t, s.Err(), budget.ErrExceeded, "KV cache of 1048576 positions × 1024 layers × 1048576 values")
	c.Context = -1
	wantOneLine(t, m.NewState(gemma3.StateOptions{}).Err(), gemma3.ErrConfig, "context length -1")
}
