package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/zerfoo/zerfoo/generate"
)

type chatCmd struct {
	Model       string  `required:"" type:"existingfile" help:"GGUF model file (Gemma 3)."`
	System      string  `help:"System prompt."`
	MaxTokens   int     `default:"512" help:"Most tokens per answer."`
	Temperature float64 `default:"0.8" help:"Sampling temperature (0: greedy)."`
	TopK        int     `default:"40" help:"Top-k cut (0: off)."`
	TopP        float64 `default:"0.95" help:"Top-p cut (1: off)."`
	MinP        float64 `default:"0.05" help:"Min-p cut (0: off)."`
	Seed        uint64  `default:"0" help:"Sampling seed."`
	Context     int     `default:"4096" help:"Most tokens kept in the conversation."`
	Threads     int     `default:"0" help:"Worker threads (0: all cores)."`
}

func (c *chatCmd) Run(ctx context.Context) error {
	m, err := loadModel(c.Model, c.Threads, false)
	if err != nil {
		return err
	}
	defer m.Close()
	s := m.NewSession(c.System, c.Context)
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	for {
		fmt.Fprint(os.Stderr, "> ")
		if !in.Scan() {
			fmt.Fprintln(os.Stderr)
			return in.Err()
		}
		line := strings.TrimSpace(in.Text())
		if line == "" {
			continue
		}
		if line == "/exit" || line == "/quit" {
			return nil
		}
		res, err := s.Send(ctx, line, generate.Options{
			Sampling:  generate.Sampling{Temperature: c.Temperature, TopK: c.TopK, TopP: c.TopP, MinP: c.MinP, Seed: c.Seed},
			MaxTokens: c.MaxTokens, Threads: c.Threads,
			OnText: func(p string) error { _, err := fmt.Print(p); return err },
		})
		fmt.Println()
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		}
		printStats(res)
	}
}
