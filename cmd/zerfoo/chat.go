package main

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"github.com/zerfoo/zerfoo/generate"
)

type chatCmd struct {
	Model       string  `help:"GGUF model file (Gemma 3); default: the built-in tiny model (not instruction-tuned)."`
	System      string  `help:"System prompt."`
	MaxTokens   int     `default:"512" help:"Most tokens per answer (0: until the end of the turn or a full conversation)."`
	Temperature float64 `default:"0.8" help:"Sampling temperature (0: greedy)."`
	TopK        int     `default:"40" help:"Top-k cut (0: off)."`
	TopP        float64 `default:"0.95" help:"Top-p cut, in (0, 1] (1: off)."`
	MinP        float64 `default:"0.05" help:"Min-p cut (0: off)."`
	Seed        uint64  `default:"0" help:"Sampling seed."`
	Context     int     `default:"4096" help:"Most tokens kept in the conversation (0: 4096; at most the model's context)."`
	Threads     int     `default:"0" help:"Worker threads (0: all cores)."`
}

// Validate checks the flags before anything is loaded.
func (c *chatCmd) Validate() error {
	var ck checks
	ck.sampling(c.Temperature, c.TopK, c.TopP, c.MinP, 1)
	ck.atLeast("--max-tokens", c.MaxTokens, 0, " (0: until the end of the turn or a full conversation)")
	ck.atLeast("--context", c.Context, 0, " (0: 4096)")
	ck.atLeast("--threads", c.Threads, 0, " (0: all cores)")
	ck.file("--model", c.Model)
	return ck.err
}

// Run reads one user message per line of stdin and streams the answers to
// stdout; the prompt "> " and statistics go to stderr. /exit, /quit or the
// end of stdin ends the chat.
func (c *chatCmd) Run(ctx context.Context, s *streams) error {
	m, err := loadModel(ctx, s, c.Model, c.Threads, false)
	if err != nil {
		return err
	}
	defer m.Close()
	sess, err := m.NewSession(c.System, c.Context)
	if err != nil {
		return err
	}
	// Lines arrive on a channel so that Ctrl-C ends a chat waiting for input.
	lines := make(chan string)
	scanErr := make(chan error, 1)
	go func() {
		in := bufio.NewScanner(s.in)
		in.Buffer(make([]byte, 1<<20), 1<<20)
		for in.Scan() {
			select {
			case lines <- in.Text():
			case <-ctx.Done():
				return
			}
		}
		scanErr <- in.Err()
		close(lines)
	}()
	for {
		fmt.Fprint(s.err, "> ")
		var line string
		select {
		case <-ctx.Done():
			fmt.Fprintln(s.err)
			return ctx.Err()
		case l, ok := <-lines:
			if !ok {
				fmt.Fprintln(s.err)
				return <-scanErr
			}
			line = strings.TrimSpace(l)
		}
		if line == "" {
			continue
		}
		if line == "/exit" || line == "/quit" {
			return nil
		}
		res, err := sess.Send(ctx, line, generate.Options{
			Sampling:  generate.Sampling{Temperature: c.Temperature, TopK: c.TopK, TopP: c.TopP, MinP: c.MinP, Seed: c.Seed},
			MaxTokens: c.MaxTokens,
			OnText:    func(p string) error { _, err := fmt.Fprint(s.out, p); return err },
		})
		fmt.Fprintln(s.out)
		if err != nil {
			return err
		}
		printStats(s, res)
		if res.Finish == generate.FinishContext {
			n := c.Context
			if n == 0 {
				n = 4096
			}
			contextNotice(s, min(n, m.Model.Config.Context), m.Model.Config.Context, "--context")
		}
	}
}
