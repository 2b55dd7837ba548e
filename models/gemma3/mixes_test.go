package gemma3_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/gguf/quant"
	"github.com/zerfoo/zerfoo/models/gemma3"
	"github.com/zerfoo/zerfoo/models/gemma3/gemma3test"
	"github.com/zerfoo/zerfoo/quantize"
)

// mixConfig is the tiny model with gemma-3-270m's hidden size: 640 is not
// a multiple of 256, so llama.cpp's mixes fall back to Q5_0, Q5_1, Q8_0,
// IQ4_NL or Q4_0 for most tensors, as in the real small Gemmas.
func mixConfig() gemma3.Config {
	c := gemma3test.Config()
	c.Layers, c.Hidden, c.FFN, c.Heads, c.KVHeads, c.HeadDim = 8, 640, 256, 4, 1, 64
	return c
}

// TestLlamaCppMixes checks Zerfoo against llama.cpp on llama.cpp's standard
// mixes of one random model: the F32 model is quantized by `zerfoo
// quantize` (byte-identical to llama-quantize, see quantize's
// TestLlamaQuantizeGolden), and the last-position log-probs must agree with
// llama.cpp's on the same file to the per-type tolerances of TestLlamaCpp,
// with the same top-1.
func TestLlamaCppMixes(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "tiny640-F32.gguf")
	if err := gemma3test.Write(src, gemma3test.Options{Config: mixConfig(), Type: quant.F32, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		mix string
		tol float64
	}{
		{"Q4_K_M", 1.5e-1}, {"Q4_K_S", 1.5e-1}, {"Q5_K_M", 1.5e-1}, {"Q5_K_S", 1.5e-1},
		{"Q6_K", 1.5e-1}, {"Q3_K_M", 1.5e-1}, {"Q2_K", 1.5e-1}, {"IQ4_XS", 1.5e-1}, {"IQ4_NL", 1.5e-1},
	} {
		t.Run(tc.mix, func(t *testing.T) {
			path := filepath.Join(dir, "tiny640-"+tc.mix+".gguf")
			if _, err := quantize.File(context.Background(), src, path, false, quantize.Options{Type: quantize.Type(tc.mix)}); err != nil {
				t.Fatal(err)
			}
			g := readGolden(t, path, filepath.Join("..", "..", "testdata", "gemma3", "llamacpp_mix_"+tc.mix+".json"), tc.mix, "TestLlamaCppMixes")
			m, err := gemma3.Load(path, gemma3.LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			lp, _ := runGreedy(t, m, g.Prompt, 1)
			d, std := gemma3test.MaxDiff(lp, g.LogProbs)
			t.Logf("%s: max |Δ log p| = %.3g (%.3g·std)", tc.mix, d, d/std)
			if d/std > tc.tol {
				t.Errorf("%s: max |Δ log p| / std = %.3g, want ≤ %g", tc.mix, d/std, tc.tol)
			}
			if a, b := gemma3test.Argmax(lp), gemma3test.Argmax(g.LogProbs); a != b {
				t.Errorf("%s: top-1 %d, llama.cpp %d", tc.mix, a, b)
			}
		})
	}
}

var checkFiles = flag.String("gemma3.check", "", "comma-separated GGUF files that TestLlamaCppFiles compares with llama.cpp (needs node and tools/llamacpp; e.g. the 270m/1b mixes of tools/llamacpp/bench_mixes.sh)")

// TestLlamaCppFiles compares Zerfoo's last-position log-probs with
// llama.cpp's on the GGUF files of -gemma3.check (any size; not committed,
// so not run by default): max |Δ log p| relative to the standard deviation
// of llama.cpp's log-probs, and the top-1 token. -gemma3.prefer-speed
// loads them with LoadOptions.PreferSpeed.
func TestLlamaCppFiles(t *testing.T) {
	if *checkFiles == "" {
		t.Skip("no -gemma3.check files")
	}
	for _, path := range strings.Split(*checkFiles, ",") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			m, err := gemma3.Load(path, gemma3.LoadOptions{PreferSpeed: *benchSpeed})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			prompt := llamaPrompt()
			pj, _ := json.Marshal(prompt)
			cmd := exec.Command("node", "gemma3_logits.mjs", path, string(pj), "1", fmt.Sprint(m.Config.Vocab))
			cmd.Dir = filepath.Join("..", "..", "tools", "llamacpp")
			cmd.Stderr = os.Stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("node gemma3_logits.mjs: %v", err)
			}
			want, err := llamaLogProbs(out)
			if err != nil {
				t.Fatal(err)
			}
			lp, _ := runGreedy(t, m, prompt, 1)
			d, std := gemma3test.MaxDiff(lp, want)
			top, wantTop := gemma3test.Argmax(lp), gemma3test.Argmax(want)
			t.Logf("max |Δ log p| = %.3g (%.3g·std), top-1 %d, llama.cpp %d", d, d/std, top, wantTop)
			if d/std > 0.2 || top != wantTop {
				t.Errorf("max |Δ log p| / std = %.3g (want ≤ 0.2), top-1 %d vs llama.cpp %d", d/std, top, wantTop)
			}
		})
	}
}

// llamaLogProbs returns the log-probs of gemma3_logits.mjs's output, or an
// error when llama.cpp gave some tokens a probability of exactly 0 (log
// −Inf, written as JSON null): its float32 softmax underflowed, and those
// tokens cannot be compared (a random model too peaked on its last token;
// see gemma3test.Options.EmbedStd).
func llamaLogProbs(out []byte) ([]float64, error) {
	var raw struct {
		LogProbs []*float64 `json:"logprobs"`
	}
	if err := json.Unmarshal(out, &raw); err != nil {
		return nil, err
	}
	lp := make([]float64, len(raw.LogProbs))
	zero := 0
	for i, v := range raw.LogProbs {
		if v == nil {
			zero++
			continue
		}
		lp[i] = *v
	}
	if zero > 0 {
		return nil, fmt.Errorf("llama.cpp gave %d of %d tokens probability 0 (float32 underflow): too peaked a distribution to compare; write the model with a smaller embedding deviation (mkmodel --embed-std)", zero, len(lp))
	}
	return lp, nil
}
