package main

import (
	"bufio"
	"context"
	"fmt"
	"strconv"

	"github.com/zerfoo/zerfoo/gguf"
	"github.com/zerfoo/zerfoo/tokenizer"
)

type tokenizeCmd struct {
	Model        string `required:"" help:"GGUF file whose tokenizer.ggml.* metadata defines the vocabulary."`
	Text         string `arg:"" help:"Text to tokenize; - reads it from stdin. Put -- before text that starts with -."`
	AddSpecial   bool   `default:"true" negatable:"" help:"Add BOS/EOS as the vocabulary asks."`
	ParseSpecial bool   `default:"true" negatable:"" help:"Match control tokens such as <start_of_turn> in the text."`
}

// Validate checks the flags before the file is read.
func (c *tokenizeCmd) Validate() error {
	var ck checks
	ck.file("--model", c.Model)
	return ck.err
}

func (c *tokenizeCmd) Run(ctx context.Context, s *streams) error {
	text, err := readText(s, c.Text)
	if err != nil {
		return err
	}
	f, err := gguf.Open(c.Model)
	if err != nil {
		return err
	}
	defer f.Close()
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		return err
	}
	ids := tok.Encode(text, c.AddSpecial, c.ParseSpecial)
	// Buffered: a line per token, hundreds of thousands for a long text.
	w := bufio.NewWriter(s.out)
	fmt.Fprintf(w, "%d tokens\n", len(ids))
	for _, id := range ids {
		p, _ := tok.Piece(id)
		fmt.Fprintf(w, "%8d  %s\n", id, strconv.Quote(p))
	}
	return w.Flush()
}
