package gemma3

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// logitDiff returns max |got − want| divided by the standard deviation of
// want.
func logitDiff(got []float32, want []float64) (rel, std float64) {
	var mean, ss, mx float64
	for _, v := range want {
		mean += v
	}
	mean /= float64(len(want))
	for i, v := range want {
		ss += (v - mean) * (v - mean)
		mx = math.Max(mx, math.Abs(float64(got[i])-v))
	}
	std = math.Sqrt(ss / float64(len(want)))
	return mx / std, std
}

func randomTokens(r *rand.Rand, n, vocab int) []int32 {
	t := make([]int32, n)
	for i := range t {
		t[i] = int32(r.IntN(vocab))
	}
	return t
}

// TestForwardMatchesReference runs a prompt longer than the sliding window
// through the decoder token by token and in batches of several sizes (so
// the local rings wrap inside and across batches) and compares the logits
// of every position with the float64 reference.
func TestForwardMatchesReference(t *testing.T) {
	c := tinyConfig()
	w := randomWeights(c, 1)
	m, err := New(c, w)
	if err != nil {
		t.Fatal(err)
	}
	toks := randomTokens(rand.New(rand.NewPCG(2, 2)), 23, c.Vocab)
	want := refLogits(c, w, toks)
	// Single fp16 rounding flips in the GELU table (model float32 vs
	// reference float64 inputs) move a logit by up to ~5e-4·std. The
	// reference keeps keys and values exact: so does an F32 cache (an F16
	// one, with llama.cpp's roundings of queries and weights, differs by
	// ~3e-3·std).
	const tol = 1e-3
	logits := make([]float32, c.Vocab)
	t.Run("decode", func(t *testing.T) {
		s := m.NewState(StateOptions{MaxLen: 32, Batch: 1, CacheType: CacheF32})
		for i, tok := range toks {
			if err := s.Forward(context.Background(), []int32{tok}, logits); err != nil {
				t.Fatal(err)
			}
			if rel, std := logitDiff(logits, want[i]); rel > tol || std < 0.1 {
				t.Errorf("position %d: max |diff| / std = %.3g (std %.3g), want ≤ %g", i, rel, std, tol)
			}
		}
	})
	for _, batch := range []int{2, 4, 7, 128} {
		t.Run(fmt.Sprintf("batch%d", batch), func(t *testing.T) {
			s := m.NewState(StateOptions{MaxLen: 32, Batch: batch, CacheType: CacheF32})
			// prefill all but the last 3, then decode the rest one by one.
			n := len(toks) - 3
			if err := s.Forward(context.Background(), toks[:n], logits); err != nil {
				t.Fatal(err)
			}
			if rel, _ := logitDiff(logits, want[n-1]); rel > tol {
				t.Errorf("prefill of %d: max |diff| / std = %.3g, want ≤ %g", n, rel, tol)
			}
			for i := n; i < len(toks); i++ {
				if err := s.Forward(context.Background(), toks[i:i+1], logits); err != nil {
					t.Fatal(err)
				}
				if rel, _ := logitDiff(logits, want[i]); rel > tol {
					t.Errorf("position %d: max |diff| / std = %.3g, want ≤ %g", i, rel, tol)
				}
			}
		})
	}
}

func TestGlobalLayers(t *testing.T) {
	c, err := Preset("1b")
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for i := 0; i < c.Layers; i++ {
		if c.Global(i) {
			got = append(got, i)
		}
	}
	if want := []int{5, 11, 17, 23}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("1b global layers: got %v, want %v", got, want)
	}
	c27, _ := Preset("27b")
	if got, want := c27.QueryScale, float32(1/math.Sqrt(168)); got != want {
		t.Errorf("27b query scale: got %v, want %v", got, want)
	}
	if got, want := c.QueryScale, float32(0.0625); got != want {
		t.Errorf("1b query scale: got %v, want %v", got, want)
	}
}

func TestForwardErrors(t *testing.T) {
	c := tinyConfig()
	m, err := New(c, randomWeights(c, 1))
	if err != nil {
		t.Fatal(err)
	}
	s := m.NewState(StateOptions{MaxLen: 8})
	ctx := context.Background()
	if err := s.Forward(ctx, make([]int32, 9), nil); !errors.Is(err, ErrContext) {
		t.Errorf("9 tokens into MaxLen 8: got %v, want ErrContext", err)
	}
	if err := s.Forward(ctx, []int32{int32(c.Vocab)}, nil); !errors.Is(err, ErrToken) {
		t.Errorf("token = vocab: got %v, want ErrToken", err)
	}
	if s.Pos() != 0 {
		t.Errorf("failed calls moved the position to %d", s.Pos())
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Forward(cancelled, []int32{1, 2}, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: got %v, want context.Canceled", err)
	}
	bad := randomWeights(c, 1)
	bad.Layers[3].Q = randomDense(rand.New(rand.NewPCG(1, 1)), c.QDim(), c.Hidden+1, 1)
	if _, err := New(c, bad); !errors.Is(err, ErrConfig) {
		t.Errorf("wrong attn_q shape: got %v, want ErrConfig", err)
	}
}
