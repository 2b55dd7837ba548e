package tokenizer_test

import (
	"bytes"
	"fmt"
	"log"
	"strings"

	"github.com/zerfoo/zerfoo/gguf"
	"github.com/zerfoo/zerfoo/tokenizer"
)

// Train a small vocabulary, then encode and decode with it. Words seen often
// become single pieces; characters never seen fall back to byte tokens.
func Example() {
	corpus := strings.Repeat("the cat sat on the mat. the dog sat on the log.\n", 20)
	v, err := tokenizer.Train(corpus, tokenizer.TrainOptions{VocabSize: 300})
	if err != nil {
		log.Fatal(err)
	}
	tok, err := tokenizer.New(v)
	if err != nil {
		log.Fatal(err)
	}
	ids := tok.Encode("the cat sat on the log!", true, false)
	fmt.Println(ids)
	var pieces []string
	for _, id := range ids {
		p, _ := tok.Piece(id)
		pieces = append(pieces, p)
	}
	fmt.Println(strings.Join(pieces, "|"))
	text, err := tok.Decode(ids, false)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%q\n", text)
	// Output:
	// [2 279 292 285 284 280 262 289 39]
	// <bos>|the|▁cat|▁sat|▁on|▁the|▁|log|<0x21>
	// "the cat sat on the log!"
}

// A vocabulary travels in GGUF metadata; FromGGUF reads it back from any
// file (here one built in memory).
func ExampleFromGGUF() {
	v, err := tokenizer.Train(strings.Repeat("hello world ", 10), tokenizer.TrainOptions{VocabSize: 280})
	if err != nil {
		log.Fatal(err)
	}
	b := gguf.NewBuilder()
	for _, kv := range v.Metadata() {
		if err := b.Set(kv.Key, kv.Value); err != nil {
			log.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := b.WriteTo(&buf); err != nil {
		log.Fatal(err)
	}
	f, err := gguf.Read(buf.Bytes())
	if err != nil {
		log.Fatal(err)
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		log.Fatal(err)
	}
	ids := tok.Encode("hello world", false, false)
	p0, _ := tok.Piece(ids[0])
	p1, _ := tok.Piece(ids[1])
	fmt.Println(tok.Len(), ids, p0, p1)
	// Output:
	// 280 [273 278] hello ▁world
}

func ExampleGemmaChat() {
	s, err := tokenizer.GemmaChat([]tokenizer.Message{
		{Role: "system", Content: "Answer briefly."},
		{Role: "user", Content: "What is a goroutine?"},
		{Role: "assistant", Content: "A lightweight thread."},
		{Role: "user", Content: "And a channel?"},
	}, true)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(s)
	// Output:
	// <bos><start_of_turn>user
	// Answer briefly.
	//
	// What is a goroutine?<end_of_turn>
	// <start_of_turn>model
	// A lightweight thread.<end_of_turn>
	// <start_of_turn>user
	// And a channel?<end_of_turn>
	// <start_of_turn>model
}
