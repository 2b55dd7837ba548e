package train

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/graph/gradcheck"
	"github.com/zerfoo/zerfoo/models/gemma3"
	"github.com/zerfoo/zerfoo/tensor"
	"github.com/zerfoo/zerfoo/tokenizer"
)

const testText = `The Go programming language is an open source project to make programmers more productive.
Go is expressive, concise, clean, and efficient. Its concurrency mechanisms make it easy to write programs
that get the most out of multicore and networked machines, while its novel type system enables flexible
and modular program construction. Go compiles quickly to machine code yet has the convenience of garbage
collection and the power of run-time reflection. It's a fast, statically typed, compiled language that
feels like a dynamically typed, interpreted language. The language is designed for systems programming.
`

// testVocab trains a small vocabulary on testText.
func testVocab(t testing.TB) *tokenizer.Vocab {
	t.Helper()
	v, err := tokenizer.Train(testText, tokenizer.TrainOptions{VocabSize: 384})
	if err != nil {
		t.Fatal(err)
	}
	return &v
}

// perturbNorms gives every norm weight a random value so that checks see
// the 1 + w convention.
func perturbNorms(m *Model, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 1))
	for _, p := range m.Norms() {
		for i := range p.Value.Data() {
			p.Value.Data()[i] = float32(0.3 * r.NormFloat64())
		}
	}
}

func TestGradWholeModel(t *testing.T) {
	c := gemma3.Config{Layers: 2, Hidden: 8, FFN: 12, Heads: 2, KVHeads: 1, HeadDim: 4, Vocab: 11, Context: 16,
		Window: 2, Period: 2, Eps: 1e-6, GlobalBase: 1e6, LocalBase: 1e4, GlobalScale: 1, QueryScale: 0.5, EmbedScale: float32(math.Sqrt(8))}
	m, err := New(c, 3)
	if err != nil {
		t.Fatal(err)
	}
	perturbNorms(m, 4)
	const B, T = 2, 5
	in := []int32{1, 4, 2, 9, 0, 3, 3, 10, 7, 5}
	tg := []int32{4, 2, 9, 0, 6, 3, 10, 7, 5, -1}
	params := m.Params()
	f := gradcheck.Func[float32]{
		Forward: func(ctx context.Context, _ ...*tensor.Tensor[float32]) (*tensor.Tensor[float32], error) {
			l, err := m.Eval(ctx, in, tg, B, T)
			return newT([]float32{float32(l)}, 1), err
		},
		Backward: func(ctx context.Context, dy *tensor.Tensor[float32], _ ...*tensor.Tensor[float32]) ([]*tensor.Tensor[float32], error) {
			before := make([][]float32, len(params))
			for i, p := range params {
				before[i] = append([]float32(nil), grad(p)...)
				p.ZeroGradient()
			}
			if _, err := m.Loss(ctx, in, tg, B, T); err != nil {
				return nil, err
			}
			s := dy.Data()[0]
			for i, p := range params {
				g := grad(p)
				for j := range g {
					g[j] = before[i][j] + s*g[j]
				}
			}
			return nil, nil
		},
		Parameters: params,
	}
	// Float32 finite differences of a whole network: a looser absolute
	// tolerance than the op checks, every element of the small tensors.
	if err := gradcheck.CheckFunc(context.Background(), f, nil, nil, gradcheck.Options{Eps: 2e-3, ATol: 2e-3, RTol: 3e-2}); err != nil {
		t.Fatal(err)
	}
}

func tinyModel(t testing.TB, v *tokenizer.Vocab) *Model {
	t.Helper()
	c, err := Preset("nano", len(v.Tokens))
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(c, 7)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestExportMatchesInference trains a few steps, saves an F32 GGUF and
// checks that models/gemma3 (the inference decoder, llama.cpp's numerics)
// computes the same logits as the training forward pass, position by
// position; then that Load restores the same model.
func TestExportMatchesInference(t *testing.T) {
	ctx := context.Background()
	v := testVocab(t)
	m := tinyModel(t, v)
	tok, _ := tokenizer.New(*v)
	data := tok.Encode(testText, false, false)
	if _, err := Run(ctx, m, data, Options{Steps: 5, Batch: 2, SeqLen: 16, BOS: v.BOS, LR: 1e-2}); err != nil {
		t.Fatal(err)
	}
	perturbNorms(m, 9) // make the 1 + w export visible
	path := filepath.Join(t.TempDir(), "ck.gguf")
	if err := m.Save(path, v, 5); err != nil {
		t.Fatal(err)
	}
	seq := append([]int32{v.BOS}, data[:20]...) // longer than the window 8: local layers mask
	want, err := m.Logits(ctx, seq)
	if err != nil {
		t.Fatal(err)
	}
	im, err := gemma3.Load(path, gemma3.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer im.Close()
	// A float32 KV cache: the default F16 cache rounds keys, values and
	// queries (as llama.cpp's does), which is tested on its own; here the
	// export alone is compared.
	st := im.NewState(gemma3.StateOptions{MaxLen: len(seq), CacheType: gemma3.CacheF32})
	V := m.Config.Vocab
	got := make([]float32, V)
	var worst float64
	for p, id := range seq {
		if err := st.Forward(ctx, []int32{id}, got); err != nil {
			t.Fatal(err)
		}
		for i, g := range got {
			w := want[p*V+i]
			// The inference GELU goes through ggml's fp16 table; the
			// training GELU is exact: allow for fp16 rounding.
			if d := math.Abs(float64(g - w)); d > worst {
				worst = d
			}
			if d := math.Abs(float64(g - w)); d > 2e-3+2e-3*math.Abs(float64(w)) {
				t.Fatalf("position %d logit %d: inference %v, training %v", p, i, g, w)
			}
		}
	}
	t.Logf("max |inference − training| logit difference: %.2g", worst)

	ck, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Step != 5 || len(ck.Vocab.Tokens) != V {
		t.Fatalf("Load: step %d, %d tokens; want 5, %d", ck.Step, len(ck.Vocab.Tokens), V)
	}
	again, err := ck.Model.Logits(ctx, seq)
	if err != nil {
		t.Fatal(err)
	}
	for i := range again {
		if d := math.Abs(float64(again[i] - want[i])); d > 1e-4 {
			t.Fatalf("resumed logit %d: got %v, want %v", i, again[i], want[i])
		}
	}
}

// TestLossFalls trains the nano model for 40 steps on a fixed seed and
// requires the loss to fall by 40% from its start (≈ ln(vocab)).
func TestLossFalls(t *testing.T) {
	ctx := context.Background()
	v := testVocab(t)
	m := tinyModel(t, v)
	tok, _ := tokenizer.New(*v)
	data := tok.Encode(testText, false, false)
	losses, err := Run(ctx, m, data, Options{Steps: 40, Batch: 4, SeqLen: 32, BOS: v.BOS, LR: 1e-2, Warmup: 4, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	first := (losses[0] + losses[1]) / 2
	last := (losses[38] + losses[39]) / 2
	t.Logf("loss: start %.3f (ln V = %.3f), end %.3f", first, math.Log(float64(len(v.Tokens))), last)
	if math.Abs(first-math.Log(float64(len(v.Tokens)))) > 1 {
		t.Errorf("initial loss %.3f, want within 1 of ln(vocab) = %.3f", first, math.Log(float64(len(v.Tokens))))
	}
	if last > 0.6*first {
		t.Errorf("loss fell from %.3f to %.3f, want at most 60%% of the start", first, last)
	}
}

// TestNewRefusesSoftcap: training has no soft-capped logits, so a
// checkpoint that asks for them is refused instead of trained without.
func TestNewRefusesSoftcap(t *testing.T) {
	c, err := gemma3.Preset("270m")
	if err != nil {
		t.Fatal(err)
	}
	c.Layers, c.Hidden, c.FFN, c.Vocab, c.Softcap = 1, 32, 64, 64, 30
	if _, err := New(c, 1); !errors.Is(err, gemma3.ErrConfig) || !strings.Contains(err.Error(), "soft-capping") {
		t.Errorf("got %v, want ErrConfig naming soft-capping", err)
	}
}
