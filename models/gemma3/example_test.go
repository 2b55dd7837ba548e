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
