package gemma3_test

import (
	"context"
	"fmt"
	"log"

	"github.com/zerfoo/zerfoo/gguf"
	"github.com/zerfoo/zerfoo/internal/defaultmodel"
	"github.com/zerfoo/zerfoo/models/gemma3"
	"github.com/zerfoo/zerfoo/tokenizer"
)

// Run the decoder by hand: build the model and the tokenizer from one GGUF
// file (here the built-in model; gemma3.Load opens a file by path), feed a
// prompt through a State and decode greedily, one token per Forward call.
// Package generate wraps this loop with sampling and stop conditions.
func Example() {
	f, err := gguf.Read(defaultmodel.Bytes())
	if err != nil {
		log.Fatal(err)
	}
	m, err := gemma3.FromFile(f, gemma3.LoadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		log.Fatal(err)
	}
	c := m.Config
	fmt.Printf("%d layers, hidden %d, vocab %d, window %d\n", c.Layers, c.Hidden, c.Vocab, c.Window)

	ctx := context.Background()
	st := m.NewState(gemma3.StateOptions{MaxLen: 64})
	logits := make([]float32, c.Vocab)
	tokens := tok.Encode("A goroutine is", true, false)
	if err := st.Forward(ctx, tokens, logits); err != nil {
		log.Fatal(err)
	}
	var out []int32
	for range 8 {
		best := int32(0)
		for i, v := range logits {
			if v > logits[best] {
				best = int32(i)
			}
		}
		out = append(out, best)
		if err := st.Forward(ctx, []int32{best}, logits); err != nil {
			log.Fatal(err)
		}
	}
	text, _ := tok.Decode(out, false)
	fmt.Printf("%d prompt tokens, position %d\n%q\n", len(tokens), st.Pos(), text)
	// Output:
	// 6 layers, hidden 128, vocab 1024, window 64
	// 6 prompt tokens, position 14
	// " not panicking or complete"
}

// Decode two prompts together: the first Batch step prefills both (each
// prompt one chunk, within its State's Batch), then every step decodes one
// token of each, reading every weight once for both. The States hold only
// their KV caches; the Batch brings the scratch buffers. The first prompt
// continues exactly as in Example, where it runs alone.
func ExampleBatch() {
	f, err := gguf.Read(defaultmodel.Bytes())
	if err != nil {
		log.Fatal(err)
	}
	m, err := gemma3.FromFile(f, gemma3.LoadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	b, err := m.NewBatch(gemma3.BatchOptions{MaxRows: 64, MaxSeqs: 2, MaxLen: 64})
	if err != nil {
		log.Fatal(err)
	}
	prompts := []string{"A goroutine is", "A slice is"}
	seqs := make([]gemma3.Seq, len(prompts))
	for i, p := range prompts {
		seqs[i] = gemma3.Seq{
			State:  m.NewState(gemma3.StateOptions{MaxLen: 64, Batch: 32, CacheOnly: true}),
			Tokens: tok.Encode(p, true, false),
			Logits: make([]float32, m.Config.Vocab),
		}
	}
	out := make([][]int32, len(seqs))
	for range 8 {
		if err := b.Forward(ctx, seqs); err != nil {
			log.Fatal(err)
		}
		for i := range seqs {
			best := int32(0)
			for j, v := range seqs[i].Logits {
				if v > seqs[i].Logits[best] {
					best = int32(j)
				}
			}
			out[i] = append(out[i], best)
			seqs[i].Tokens = []int32{best} // the next step decodes it
		}
	}
	for i, p := range prompts {
		text, _ := tok.Decode(out[i], false)
		fmt.Printf("%q → %q (position %d)\n", p, text, seqs[i].State.Pos())
	}
	// Output:
	// "A goroutine is" → " not panicking or complete" (position 13)
	// "A slice is" → " a defined type,\nembed" (position 11)
}
