package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/zerfoo/zerfoo/gguf"
	"github.com/zerfoo/zerfoo/tokenizer"
)

type tokenizeCmd struct {
	Model        string `required:"" type:"existingfile" help:"GGUF file whose tokenizer.ggml.* metadata defines the vocabulary."`
	Text         string `arg:"" help:"Text to tokenize."`
	AddSpecial   bool   `default:"true" negatable:"" help:"Add BOS/EOS as the vocabulary asks."`
	ParseSpecial bool   `default:"true" negatable:"" help:"Match control tokens such as <start_of_turn> in the text."`
}

func (c *tokenizeCmd) Run(ctx context.Context) error {
	f, err := gguf.Open(c.Model)
	if err != nil {
		return err
	}
	defer f.Close()
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		return err
	}
	ids := tok.Encode(c.Text, c.AddSpecial, c.ParseSpecial)
	fmt.Printf("%d tokens\n", len(ids))
	for _, id := range ids {
		p, _ := tok.Piece(id)
		fmt.Printf("%8d  %s\n", id, strconv.Quote(p))
	}
	return nil
}
