package train_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/zerfoo/zerfoo/gguf"
	"github.com/zerfoo/zerfoo/gguf/quant"
	"github.com/zerfoo/zerfoo/models/gemma3"
	"github.com/zerfoo/zerfoo/models/gemma3/train"
	"github.com/zerfoo/zerfoo/tokenizer"
)

// Train a nano Gemma 3 from scratch on a repetitive text, then export it as a
// Q8_0 GGUF file that models/gemma3 (and llama.cpp) runs. `zerfoo train` is
// this loop with a real corpus, checkpoints and resumption.
func ExampleRun() {
	corpus := strings.Repeat("the quick brown fox jumps over the lazy dog. ", 40)
	v, err := tokenizer.Train(corpus, tokenizer.TrainOptions{VocabSize: 300})
	if err != nil {
		log.Fatal(err)
	}
	tok, err := tokenizer.New(v)
	if err != nil {
		log.Fatal(err)
	}
	data := tok.Encode(corpus, false, false)

	cfg, err := train.Preset("nano", tok.Len())
	if err != nil {
		log.Fatal(err)
	}
	m, err := train.New(cfg, 1)
	if err != nil {
		log.Fatal(err)
	}
	losses, err := train.Run(context.Background(), m, data, train.Options{
		Steps: 60, Batch: 4, SeqLen: 32, BOS: v.BOS, Seed: 1, LR: 1e-2,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d parameters, %d steps\n", m.NumParams(), len(losses))
	fmt.Println("loss fell by more than half:", losses[len(losses)-1] < losses[0]/2)

	b, err := m.Builder(&v, train.ExportOptions{Type: quant.Q8_0, Name: "nano"})
	if err != nil {
		log.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := b.WriteTo(&buf); err != nil {
		log.Fatal(err)
	}
	f, err := gguf.Read(buf.Bytes())
	if err != nil {
		log.Fatal(err)
	}
	g, err := gemma3.FromFile(f, gemma3.LoadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("exported: %d layers, hidden %d, vocab %d\n", g.Config.Layers, g.Config.Hidden, g.Config.Vocab)

	// The exported model has learnt the sentence (this small vocabulary
	// spells most words letter by letter): greedy decoding goes on with it.
	ctx := context.Background()
	st := g.NewState(gemma3.StateOptions{})
	logits := make([]float32, g.Config.Vocab)
	if err := st.Forward(ctx, tok.Encode("the quick", true, false), logits); err != nil {
		log.Fatal(err)
	}
	var out []int32
	for range 12 {
		best := int32(0)
		for i, x := range logits {
			if x > logits[best] {
				best = int32(i)
			}
		}
		out = append(out, best)
		if err := st.Forward(ctx, []int32{best}, logits); err != nil {
			log.Fatal(err)
		}
	}
	text, _ := tok.Decode(out, false)
	fmt.Printf("the quick%s\n", text)
	// Output:
	// 28384 parameters, 60 steps
	// loss fell by more than half: true
	// exported: 2 layers, hidden 32, vocab 300
	// the quick brown fox jumps
}
