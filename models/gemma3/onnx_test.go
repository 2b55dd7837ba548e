package gemma3_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/zerfoo/zerfoo/models/gemma3"
	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/onnx/exec"
	"github.com/zerfoo/zerfoo/tensor"
)

// TestFromONNX runs testdata/onnx/gemma3_tiny.onnx (a 2-layer Gemma 3
// decoder in onnxruntime-genai's 2025 layout whose ONNX Runtime outputs
// onnx/exec reproduces to 1e-4) through FromONNX and compares the logits of
// every position with onnx/exec running the graph itself, token by token
// and as a 6-token prompt batch followed by decode steps, past the local
// layer's window of 4. Tolerance 1e-3 × the logits' RMS (measured: 2e-4;
// this decoder rounds GELU through ggml's fp16 table and sums RMSNorm
// squares in float64, where ORT computes in float32).
func TestFromONNX(t *testing.T) {
	om, err := onnx.Load(filepath.Join("..", "..", "testdata", "onnx", "gemma3_tiny.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	defer om.Close()
	m, err := gemma3.FromONNX(om, gemma3.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := m.Config
	if c.Layers != 2 || c.Hidden != 64 || c.Heads != 4 || c.KVHeads != 1 || c.HeadDim != 16 || c.FFN != 128 ||
		c.Vocab != 64 || c.Window != 4 || c.Period != 2 || c.Context != 32 || c.EmbedScale != 8 {
		t.Fatalf("config %+v: want 2 layers, hidden 64, 4/1 heads of 16, FFN 128, vocab 64, window 4, period 2, context 32, embed scale 8", c)
	}
	if math.Abs(c.LocalBase-1e4) > 1 || math.Abs(c.GlobalBase-1e6)/1e6 > 1e-3 {
		t.Errorf("RoPE bases from the caches: local %g global %g, want 1e4 and 1e6", c.LocalBase, c.GlobalBase)
	}
	prog, err := exec.Compile(om)
	if err != nil {
		t.Fatal(err)
	}
	toks := []int64{5, 17, 3, 60, 22, 41, 9, 33, 12, 50}
	n := len(toks)
	ids := tensor.Must(tensor.New([]int{1, n}, toks))
	pos := make([]int64, n)
	mask := make([]int64, n)
	for i := range pos {
		pos[i], mask[i] = int64(i), 1
	}
	feeds := map[string]tensor.Any{
		"input_ids":      ids,
		"position_ids":   tensor.Must(tensor.New([]int{1, n}, pos)),
		"attention_mask": tensor.Must(tensor.New([]int{1, n}, mask)),
	}
	for i := 0; i < c.Layers; i++ {
		for _, kv := range []string{"key", "value"} {
			feeds[fmt.Sprintf("past_key_values.%d.%s", i, kv)] = tensor.Must(tensor.New([]int{1, 1, 0, 16}, []float32{}))
		}
	}
	out, err := prog.Run(context.Background(), feeds)
	if err != nil {
		t.Fatal(err)
	}
	want := out["logits"].(*tensor.Tensor[float32]).Data()
	got := make([]float32, c.Vocab)
	check := func(mode string, p int) {
		w := want[p*c.Vocab : (p+1)*c.Vocab]
		var rms, mx float64
		for i, v := range w {
			rms += float64(v) * float64(v)
			mx = math.Max(mx, math.Abs(float64(got[i]-v)))
		}
		rms = math.Sqrt(rms / float64(len(w)))
		if mx > 1e-3*rms {
			t.Errorf("%s, position %d: max |Δlogit| %.3g, want ≤ 1e-3 × RMS %.3g", mode, p, mx, rms)
		}
	}
	ids32 := make([]int32, n)
	for i, v := range toks {
		ids32[i] = int32(v)
	}
	ctx := context.Background()
	// Every position one decode step at a time.
	s := m.NewState(gemma3.StateOptions{})
	for p := 0; p < n; p++ {
		if err := s.Forward(ctx, ids32[p:p+1], got); err != nil {
			t.Fatal(err)
		}
		check("decode", p)
	}
	// A 6-token prompt batch (its last logits), then decode steps.
	s = m.NewState(gemma3.StateOptions{Batch: 6})
	if err := s.Forward(ctx, ids32[:6], got); err != nil {
		t.Fatal(err)
	}
	check("prompt", 5)
	for p := 6; p < n; p++ {
		if err := s.Forward(ctx, ids32[p:p+1], got); err != nil {
			t.Fatal(err)
		}
		check("prompt+decode", p)
	}
}

// TestFromONNXErrors checks that graphs that are not a Gemma 3 export fail
// with ErrONNXLayout.
func TestFromONNXErrors(t *testing.T) {
	om, err := onnx.Load(filepath.Join("..", "..", "testdata", "onnx", "mlp_nbits.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	defer om.Close()
	if _, err := gemma3.FromONNX(om, gemma3.LoadOptions{}); !errors.Is(err, gemma3.ErrONNXLayout) {
		t.Errorf("MLP graph: got %v, want ErrONNXLayout", err)
	}
}
