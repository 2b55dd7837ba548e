package train

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/zerfoo/zerfoo/models/gemma3"
	"github.com/zerfoo/zerfoo/models/gemma3/gemma3test"
	"github.com/zerfoo/zerfoo/quantize"
	"github.com/zerfoo/zerfoo/tokenizer"
)

var update = flag.Bool("update", false, "retrain the nano checkpoint, requantize it, rerun llama.cpp (node tools/llamacpp/gemma3_logits.mjs) and rewrite testdata/train")

// trainDir holds the checkpoint trained by Zerfoo, its quantized exports
// and llama.cpp's goldens for them. The GGUF files are committed (about
// 135 KB for F32) so that each golden refers to exact bytes, whatever the
// machine that retrains.
var trainDir = filepath.Join("..", "..", "..", "testdata", "train")

// llamaGolden is what llama.cpp recorded for one GGUF file, in the format of
// testdata/gemma3/llamacpp_*.json plus the file's SHA-256.
type llamaGolden struct {
	Type     string    `json:"type"`
	File     string    `json:"file"`
	SHA256   string    `json:"sha256"`
	Prompt   []int32   `json:"prompt"`
	LogProbs []float64 `json:"logprobs"` // log softmax at the last prompt position
	Greedy   []int32   `json:"greedy"`   // greedy continuation
}

const trainGreedy = 16

// trainedPrompt is BOS and the first 31 tokens of testText: longer than
// the nano window of 8, so the local layers mask.
func trainedPrompt(t *testing.T, v *tokenizer.Vocab) []int32 {
	tok, err := tokenizer.New(*v)
	if err != nil {
		t.Fatal(err)
	}
	return append([]int32{v.BOS}, tok.Encode(testText, false, false)[:31]...)
}

// writeTrained trains the nano model for 60 steps on a fixed seed, saves
// the F32 checkpoint as nano_F32.gguf and quantizes it with the quantize
// package (what `zerfoo quantize` runs) to Q8_0 and Q4_0.
func writeTrained(t *testing.T) {
	ctx := context.Background()
	v := testVocab(t)
	m := tinyModel(t, v)
	tok, _ := tokenizer.New(*v)
	data := tok.Encode(testText, false, false)
	losses, err := Run(ctx, m, data, Options{Steps: 60, Batch: 4, SeqLen: 32, BOS: v.BOS, LR: 1e-2, Warmup: 3, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("trained 60 steps: loss %.3f → %.3f", losses[0], losses[len(losses)-1])
	if err := os.MkdirAll(trainDir, 0o755); err != nil {
		t.Fatal(err)
	}
	f32 := filepath.Join(trainDir, "nano_F32.gguf")
	if err := m.Save(f32, v, 60); err != nil {
		t.Fatal(err)
	}
	for _, typ := range []quantize.Type{quantize.Q8_0, quantize.Q4_0} {
		if _, err := quantize.File(ctx, f32, quantizedPath(typ), true, quantize.Options{Type: typ}); err != nil {
			t.Fatal(err)
		}
	}
}

func quantizedPath(typ quantize.Type) string {
	name := map[quantize.Type]string{quantize.Q8_0: "Q8_0", quantize.Q4_0: "Q4_0"}[typ]
	return filepath.Join(trainDir, "nano_"+name+".gguf")
}

// TestLlamaCppTrained checks that llama.cpp loads a checkpoint trained and
// saved by Zerfoo, and its Q8_0 and Q4_0 exports by the quantize package,
// and computes the next-token log-probabilities models/gemma3 computes.
// Tolerances are those of models/gemma3's TestLlamaCpp (max |Δ log p| over
// the vocabulary relative to the standard deviation of llama.cpp's
// log-probs): F32 1e-2 (llama.cpp's fp16 K/V cache), Q8_0 and Q4_0 1e-1
// (activation rounding to Q8_0 in ggml's quantized dot products). The top-1
// token and the greedy continuation of 16 tokens must be identical for all
// three; trained for 60 steps, the model's top-1 leads its runner-up by
// about 2 nats or more at the prompt (llama.cpp: 3.0 F32, 2.9 Q8_0, 2.1
// Q4_0), far more than the differences, so the check is not a coin toss.
func TestLlamaCppTrained(t *testing.T) {
	if *update {
		writeTrained(t)
	}
	v := testVocab(t)
	prompt := trainedPrompt(t, v)
	for _, tc := range []struct {
		typ string
		tol float64
	}{{"F32", 1e-2}, {"Q8_0", 1e-1}, {"Q4_0", 1e-1}} {
		t.Run(tc.typ, func(t *testing.T) {
			path := filepath.Join(trainDir, "nano_"+tc.typ+".gguf")
			gpath := filepath.Join(trainDir, "llamacpp_"+tc.typ+".json")
			if *update {
				recordTrainedGolden(t, path, gpath, tc.typ, prompt, len(v.Tokens))
			}
			raw, err := os.ReadFile(gpath)
			if err != nil {
				t.Fatalf("%v (run go test -run TestLlamaCppTrained -update with node and tools/llamacpp installed)", err)
			}
			var g llamaGolden
			if err := json.Unmarshal(raw, &g); err != nil {
				t.Fatal(err)
			}
			if sum := fileSHA256(t, path); sum != g.SHA256 {
				t.Fatalf("%s: sha256 %s, golden recorded for %s", path, sum, g.SHA256)
			}
			for _, exact := range []bool{false, true} {
				m, err := gemma3.Load(path, gemma3.LoadOptions{Exact: exact})
				if err != nil {
					t.Fatal(err)
				}
				defer m.Close()
				lp, greedy := trainedGreedy(t, m, g.Prompt, len(g.Greedy))
				d, std := gemma3test.MaxDiff(lp, g.LogProbs)
				t.Logf("exact=%v: max |Δ log p| = %.3g (%.3g·std), top-1 %d, greedy %v", exact, d, d/std, gemma3test.Argmax(lp), greedy)
				if d/std > tc.tol {
					t.Errorf("exact=%v: max |Δ log p| / std = %.3g, want ≤ %g", exact, d/std, tc.tol)
				}
				if got, want := gemma3test.Argmax(lp), gemma3test.Argmax(g.LogProbs); got != want {
					t.Errorf("exact=%v: top-1 %d, llama.cpp %d", exact, got, want)
				}
				if fmt.Sprint(greedy) != fmt.Sprint(g.Greedy) {
					t.Errorf("exact=%v: greedy\n got %v\nwant %v", exact, greedy, g.Greedy)
				}
			}
		})
	}
}

// TestQuantizeTrainedReproducible checks that the committed Q8_0 and Q4_0
// files are what the quantize package makes of the committed F32
// checkpoint today, byte for byte, so the llama.cpp goldens keep covering
// the current quantizers.
func TestQuantizeTrainedReproducible(t *testing.T) {
	f32 := filepath.Join(trainDir, "nano_F32.gguf")
	for _, typ := range []quantize.Type{quantize.Q8_0, quantize.Q4_0} {
		out := filepath.Join(t.TempDir(), "q.gguf")
		if _, err := quantize.File(context.Background(), f32, out, false, quantize.Options{Type: typ}); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(quantizedPath(typ))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: quantize.File output (%d bytes) differs from committed %s (%d bytes)", typ, len(got), quantizedPath(typ), len(want))
		}
	}
}

func fileSHA256(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func recordTrainedGolden(t *testing.T, model, gpath, typ string, prompt []int32, vocab int) {
	abs, err := filepath.Abs(model)
	if err != nil {
		t.Fatal(err)
	}
	pj, _ := json.Marshal(prompt)
	cmd := exec.Command("node", "gemma3_logits.mjs", abs, string(pj), fmt.Sprint(trainGreedy), fmt.Sprint(vocab))
	cmd.Dir = filepath.Join("..", "..", "..", "tools", "llamacpp")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node gemma3_logits.mjs: %v", err)
	}
	g := llamaGolden{Type: typ, File: filepath.Base(model), SHA256: fileSHA256(t, model), Prompt: prompt}
	if err := json.Unmarshal(out, &g); err != nil {
		t.Fatal(err)
	}
	for i, v := range g.LogProbs { // 7 significant digits are plenty
		g.LogProbs[i] = float64(float32(v))
	}
	b, _ := json.Marshal(g)
	if err := os.WriteFile(gpath, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// trainedGreedy returns the log-softmax at the last prompt position and
// the greedy continuation of n tokens.
func trainedGreedy(t *testing.T, m *gemma3.Model, prompt []int32, n int) ([]float64, []int32) {
	ctx := context.Background()
	s := m.NewState(gemma3.StateOptions{MaxLen: len(prompt) + n, Batch: 16})
	logits := make([]float32, m.Config.Vocab)
	if err := s.Forward(ctx, prompt, logits); err != nil {
		t.Fatal(err)
	}
	first := gemma3test.LogSoftmax(logits)
	lp := first
	var out []int32
	for {
		tok := int32(gemma3test.Argmax(lp))
		out = append(out, tok)
		if len(out) == n {
			return first, out
		}
		if err := s.Forward(ctx, []int32{tok}, logits); err != nil {
			t.Fatal(err)
		}
		lp = gemma3test.LogSoftmax(logits)
	}
}
