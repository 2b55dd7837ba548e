// Command mkmodel writes a random-weight Gemma 3 GGUF of a preset shape,
// the input that tools/llamacpp/bench_mixes.sh hands to llama-quantize.
//
//	go run ./tools/llamacpp/mkmodel --preset 270m --type F16 --vocab 262144 --out M.gguf
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/zerfoo/zerfoo/gguf/quant"
	"github.com/zerfoo/zerfoo/models/gemma3"
	"github.com/zerfoo/zerfoo/models/gemma3/gemma3test"
)

func main() {
	preset := flag.String("preset", "270m", "gemma3.Preset name (270m, 1b, …)")
	typ := flag.String("type", "F16", "ggml type of every matrix (F32, F16, BF16, Q4_0, …)")
	vocab := flag.Int("vocab", 262144, "vocabulary size")
	seed := flag.Uint64("seed", 1, "random seed")
	out := flag.String("out", "", "output GGUF path")
	embedStd := flag.Float64("embed-std", 0.1, "standard deviation of the token embedding (the tied LM head); a 4b-wide model needs about 0.02 for llama.cpp's probabilities to stay above float32's range (gemma3test.Options.EmbedStd)")
	flag.Parse()
	if err := run(*preset, *typ, *vocab, *seed, *embedStd, *out); err != nil {
		fmt.Fprintln(os.Stderr, "mkmodel:", err)
		os.Exit(1)
	}
}

func run(preset, typ string, vocab int, seed uint64, embedStd float64, out string) error {
	if out == "" {
		return fmt.Errorf("--out is required")
	}
	c, err := gemma3.Preset(preset)
	if err != nil {
		return err
	}
	t, err := quant.ParseType(typ)
	if err != nil {
		return err
	}
	return gemma3test.Write(out, gemma3test.Options{Config: c, Type: t, EmbedType: t, Seed: seed, Vocab: vocab, EmbedStd: embedStd})
}
