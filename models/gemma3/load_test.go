package gemma3_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/gguf/quant"
	"github.com/zerfoo/zerfoo/internal/qgemm"
	"github.com/zerfoo/zerfoo/models/gemma3"
	"github.com/zerfoo/zerfoo/models/gemma3/gemma3test"
)

func writeTiny(t testing.TB, typ quant.Type) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tiny-"+typ.String()+".gguf")
	if err := gemma3test.Write(path, gemma3test.Options{Type: typ, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	return path
}

// lastLogits returns the logits of the last of toks, with an F32 KV cache:
// the tests using it compare weight kernels, and an F16 cache's roundings
// (queries and attention weights too, as llama.cpp) would amplify their
// differences.
func lastLogits(t testing.TB, m *gemma3.Model, toks []int32) []float32 {
	t.Helper()
	s := m.NewState(gemma3.StateOptions{MaxLen: 64, Batch: 16, CacheType: gemma3.CacheF32})
	logits := make([]float32, m.Config.Vocab)
	if err := s.Forward(context.Background(), toks, logits); err != nil {
		t.Fatal(err)
	}
	return logits
}

func relDiff(a, b []float32) float64 {
	var mean, ss, mx float64
	for _, v := range b {
		mean += float64(v)
	}
	mean /= float64(len(b))
	for i, v := range b {
		ss += (float64(v) - mean) * (float64(v) - mean)
		mx = math.Max(mx, math.Abs(float64(a[i]-v)))
	}
	return mx / math.Sqrt(ss/float64(len(b)))
}

// TestLoadFormats loads the tiny model in every format in both modes and
// checks that the fast kernels agree with the llama.cpp-exact reference
// path, on a prompt longer than the sliding window.
func TestLoadFormats(t *testing.T) {
	toks := make([]int32, 30)
	r := rand.New(rand.NewPCG(3, 3))
	for i := range toks {
		toks[i] = int32(107 + r.IntN(300))
	}
	toks[0] = 2
	for _, tc := range []struct {
		typ quant.Type
		tol float64
	}{
		// F32: float32 GEMM vs float64 dots; single fp16 GELU-table flips.
		{quant.F32, 1e-3},
		// Q8_0/Q4_0: each product agrees to ~1e-7 (TestMatrices), but a
		// float32 summation-order difference occasionally moves an
		// activation across a Q8_0 rounding boundary, and the random tiny
		// model amplifies that by the last layer.
		{quant.Q8_0, 5e-2}, {quant.Q4_0, 5e-2},
		// F16/BF16: internal/hgemm's float32 sums against float64 dots of
		// the same rounded activations, amplified by the random model.
		{quant.F16, 5e-3}, {quant.BF16, 2e-2},
		// The super-block kernels (integer sub-block sums) against the
		// float64 Blocks reference: the same rounding-boundary effect.
		// Q4_1 and Q5_1 also round the activation sums to float16 as
		// llama.cpp's Q8_1 does (the reference does not).
		{quant.Q4_1, 1e-1}, {quant.Q5_0, 5e-2}, {quant.Q5_1, 1e-1},
		{quant.Q4_K, 5e-2}, {quant.Q5_K, 5e-2}, {quant.Q6_K, 5e-2},
		// Q2_K: single products agree to 1e-6 relative; its coarse levels
		// make the random model more sensitive to the boundary effect.
		{quant.Q2_K, 1.5e-1}, {quant.Q3_K, 5e-2}, {quant.IQ4_NL, 5e-2}, {quant.IQ4_XS, 5e-2},
	} {
		t.Run(tc.typ.String(), func(t *testing.T) {
			path := writeTiny(t, tc.typ)
			exact, err := gemma3.Load(path, gemma3.LoadOptions{Exact: true})
			if err != nil {
				t.Fatal(err)
			}
			defer exact.Close()
			fast, err := gemma3.Load(path, gemma3.LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer fast.Close()
			a, b := lastLogits(t, fast, toks), lastLogits(t, exact, toks)
			d := relDiff(a, b)
			t.Logf("%v: fast vs exact max |diff| / std = %.3g", tc.typ, d)
			if d > tc.tol {
				t.Errorf("%v: fast vs exact max |diff| / std = %.3g, want ≤ %g", tc.typ, d, tc.tol)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := gemma3.Load(filepath.Join(t.TempDir(), "missing.gguf"), gemma3.LoadOptions{}); err == nil {
		t.Error("missing file: got nil error")
	}
	b, err := gemma3test.Build(gemma3test.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	b.Set("general.architecture", "llama")
	p2 := filepath.Join(t.TempDir(), "llama.gguf")
	if err := b.WriteFile(p2); err != nil {
		t.Fatal(err)
	}
	if _, err := gemma3.Load(p2, gemma3.LoadOptions{}); !errors.Is(err, gemma3.ErrArchitecture) {
		t.Errorf("architecture llama: got %v, want ErrArchitecture", err)
	}
}

// TestLoadContext: a cancelled context stops the conversion before the next
// tensor with an error naming it.
func TestLoadContext(t *testing.T) {
	path := writeTiny(t, quant.Q8_0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := gemma3.LoadContext(ctx, path, gemma3.LoadOptions{})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "token_embd.weight") {
		t.Errorf("LoadContext(cancelled) = %v, want context.Canceled naming token_embd.weight", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	tensors := 0
	_, err = gemma3.LoadContext(ctx, path, gemma3.LoadOptions{Progress: func(done, total int64) {
		if tensors++; tensors == 3 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) || tensors != 3 {
		t.Errorf("cancelled after 3 tensors: err %v after %d tensors, want context.Canceled after 3", err, tensors)
	}
}

// TestLoadPreferSpeed: LoadOptions.PreferSpeed holds IQ3_S in its faster
// form where the CPU keeps grid indices (more bytes), with the same
// logits to the bit: both forms sum the same integers.
func TestLoadPreferSpeed(t *testing.T) {
	path := writeTiny(t, quant.IQ3_S)
	var ms [2]*gemma3.Model
	for i, speed := range []bool{false, true} {
		m, err := gemma3.Load(path, gemma3.LoadOptions{PreferSpeed: speed})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		ms[i] = m
	}
	var bytes [2]int64
	for i, m := range ms {
		p, ok := m.Weights.Layers[0].Down.(*gemma3.Packed)
		if !ok {
			t.Fatalf("PreferSpeed %v: ffn_down is %T, want *gemma3.Packed", i == 1, m.Weights.Layers[0].Down)
		}
		bytes[i] = p.Bytes()
	}
	n, k := ms[0].Weights.Layers[0].Down.Dims()
	want := qgemm.PackOptions{Speed: true}.Bytes(quant.IQ3_S, n, k)
	if bytes[1] != want || (bytes[1] > bytes[0]) != (qgemm.GGMLBytes(quant.IQ3_S, n, k) < want) {
		t.Errorf("ffn_down bytes: %d default, %d PreferSpeed (want %d)", bytes[0], bytes[1], want)
	}
	toks := []int32{2, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100}
	if a, b := lastLogits(t, ms[0], toks), lastLogits(t, ms[1], toks); !slices.Equal(a, b) {
		t.Error("PreferSpeed changed the logits")
	}
}
