package generate_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/generate"
	"github.com/zerfoo/zerfoo/gguf"
	"github.com/zerfoo/zerfoo/gguf/quant"
	"github.com/zerfoo/zerfoo/models/gemma3"
	"github.com/zerfoo/zerfoo/models/gemma3/gemma3test"
)

func tinyModel(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tiny.gguf")
	if err := gemma3test.Write(path, gemma3test.Options{Type: quant.Q8_0, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestGreedyMatchesModel checks that greedy generation emits exactly the
// argmax continuation computed directly with the decoder.
func TestGreedyMatchesModel(t *testing.T) {
	m, err := generate.Load(context.Background(), tinyModel(t))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()
	prompt, _ := m.Encode("the people of the world", false)
	var streamed strings.Builder
	res, err := m.RunTokens(ctx, prompt, generate.Options{MaxTokens: 12, OnText: func(s string) error {
		streamed.WriteString(s)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	st := m.Model.NewState(gemma3.StateOptions{MaxLen: 64})
	logits := make([]float32, m.Model.Config.Vocab)
	if err := st.Forward(ctx, prompt, logits); err != nil {
		t.Fatal(err)
	}
	var want []int32
	for len(want) < len(res.Tokens) {
		best := 0
		for i, v := range logits {
			if v > logits[best] {
				best = i
			}
		}
		want = append(want, int32(best))
		st.Forward(ctx, []int32{int32(best)}, logits)
	}
	if fmt.Sprint(res.Tokens) != fmt.Sprint(want) {
		t.Errorf("greedy tokens\n got %v\nwant %v", res.Tokens, want)
	}
	if streamed.String() != res.Text {
		t.Errorf("streamed %q, result text %q", streamed.String(), res.Text)
	}
}

func TestSamplingSeeded(t *testing.T) {
	m, err := generate.Load(context.Background(), tinyModel(t))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()
	opt := generate.Options{MaxTokens: 10, Sampling: generate.Sampling{Temperature: 1.5, TopK: 40, TopP: 0.95, MinP: 0.01, RepetitionPenalty: 1.1, Seed: 7}}
	a, err := m.Run(ctx, "hello", opt)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := m.Run(ctx, "hello", opt)
	if fmt.Sprint(a.Tokens) != fmt.Sprint(b.Tokens) {
		t.Errorf("same seed, different tokens: %v vs %v", a.Tokens, b.Tokens)
	}
	opt.TopK = 1 // top-1 = greedy whatever the temperature
	c, _ := m.Run(ctx, "hello", opt)
	opt.Sampling = generate.Sampling{RepetitionPenalty: 1.1}
	g, _ := m.Run(ctx, "hello", opt)
	if fmt.Sprint(c.Tokens) != fmt.Sprint(g.Tokens) {
		t.Errorf("top-k 1: %v, greedy %v", c.Tokens, g.Tokens)
	}
}

func TestErrors(t *testing.T) {
	m, err := generate.Load(context.Background(), tinyModel(t))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()
	for _, s := range []generate.Sampling{{Temperature: -1}, {TopK: -1}, {TopP: 1.5}, {MinP: -0.1}, {RepetitionPenalty: -2}} {
		if _, err := m.Generate(ctx, "hi", generate.Options{Sampling: s}); !errors.Is(err, generate.ErrOptions) {
			t.Errorf("%+v: got %v, want ErrOptions", s, err)
		}
	}
	long := strings.Repeat("the ", 300)
	if _, err := m.Generate(ctx, long, generate.Options{}); !errors.Is(err, gemma3.ErrContext) {
		t.Errorf("prompt longer than the context: got %v, want ErrContext", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	n := 0
	_, err = m.Generate(cctx, "hello", generate.Options{MaxTokens: 50, OnText: func(string) error {
		if n++; n == 2 {
			cancel()
		}
		return nil
	}})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: got %v, want context.Canceled", err)
	}
}

func TestSession(t *testing.T) {
	m, err := generate.Load(context.Background(), tinyModel(t))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s, err := m.NewSession("", 256)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"hello", "what is the water", "and the people"} {
		if _, err := s.Send(context.Background(), q, generate.Options{MaxTokens: 6}); err != nil {
			t.Fatalf("turn %q: %v", q, err)
		}
	}
}

// TestNaNLogits: a model whose weights make the logits NaN is an error
// wrapping ErrNaN, not a token picked from a meaningless ranking.
func TestNaNLogits(t *testing.T) {
	src := filepath.Join(t.TempDir(), "f32.gguf")
	if err := gemma3test.Write(src, gemma3test.Options{Type: quant.F32, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Read(data)
	if err != nil {
		t.Fatal(err)
	}
	norm, err := f.TensorData("output_norm.weight") // a view of data
	if err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint32(norm, math.Float32bits(float32(math.NaN())))
	path := filepath.Join(t.TempDir(), "nan.gguf")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := generate.Load(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, temp := range []float64{0, 0.8} {
		_, err := m.Generate(context.Background(), "hello", generate.Options{MaxTokens: 4, Sampling: generate.Sampling{Temperature: temp}})
		if !errors.Is(err, generate.ErrNaN) {
			t.Errorf("temperature %g: got %v, want ErrNaN", temp, err)
		}
	}
}
