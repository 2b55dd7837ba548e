package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"

	"github.com/alecthomas/kong"

	"github.com/zerfoo/zerfoo/generate"
	"github.com/zerfoo/zerfoo/models/gemma3"
)

type chatCmd struct {
	Model       string  `help:"GGUF model file (Gemma 3); default: the built-in tiny model (not instruction-tuned)."`
	System      string  `help:"System prompt (kept when old turns are dropped)."`
	MaxTokens   int     `default:"512" help:"Most tokens per answer (0: until the end of the turn or a full conversation)."`
	Temperature float64 `default:"0.8" help:"Sampling temperature (0: greedy)."`
	TopK        int     `default:"40" help:"Top-k cut (0: off)."`
	TopP        float64 `default:"0.95" help:"Top-p cut, in (0, 1] (1: off)."`
	MinP        float64 `default:"0.05" help:"Min-p cut (0: off)."`
	Seed        uint64  `default:"0" help:"Sampling seed."`
	Context     int     `default:"4096" help:"Most tokens kept in the conversation (0: 4096; at most the model's context); older turns are dropped to stay within it."`
	Threads     int     `default:"0" help:"Worker threads (0: all cores)."`
	weightFlags `embed:""`

	penalty float64 // the model's repetition_penalty (no flag)
}

// chatCommands is the text of /help.
const chatCommands = `  /reset   start the conversation over (the system prompt stays)
  /help    list the commands
  /exit    end the chat (also /quit, end of input, Ctrl-D, or Ctrl-C twice at the prompt)
  //text   send "/text" as a message`

// Help is the detail of `zerfoo chat --help` (kong.HelpProvider).
func (c *chatCmd) Help() string {
	return `Each line of stdin is a user message; the answers stream to stdout, the "> " prompt (on a terminal), statistics and notices go to stderr. Input may be a pipe: each line is one turn.

When the conversation outgrows --context, the oldest turns are dropped (the system prompt stays) and a notice on stderr says so. Ctrl-C stops the answer being written; at the prompt, a second Ctrl-C ends the chat.

Commands:

` + chatCommands
}

// Validate checks the flags before anything is loaded.
func (c *chatCmd) Validate() error {
	var ck checks
	ck.sampling(c.Temperature, c.TopK, c.TopP, c.MinP, 1)
	ck.atLeast("--max-tokens", c.MaxTokens, 0, " (0: until the end of the turn or a full conversation)")
	ck.atLeast("--context", c.Context, 0, " (0: 4096)")
	ck.atLeast("--threads", c.Threads, 0, " (0: all cores)")
	ck.model("--model", c.Model)
	return ck.err
}

// Run loads the model and chats (see Help). Ctrl-C during the load
// cancels it as in every command; after the load the chat takes Ctrl-C
// over.
func (c *chatCmd) Run(ctx context.Context, k *kong.Context, s *streams) error {
	m, err := loadModel(ctx, s, c.Model, c.Threads, false, c.weightFlags)
	if err != nil {
		return err
	}
	defer m.Close()
	d := folderSampling(k, s, m, generate.Sampling{Temperature: c.Temperature, TopK: c.TopK, TopP: c.TopP, MinP: c.MinP, RepetitionPenalty: 1})
	c.Temperature, c.TopK, c.TopP, c.MinP, c.penalty = d.Temperature, d.TopK, d.TopP, d.MinP, d.RepetitionPenalty
	if err := m.TemplateError(); err != nil {
		return err // before the first message, not at it
	}
	sess, err := m.NewSession(c.System, c.Context)
	if err != nil {
		return err
	}
	intr := make(chan os.Signal, 1)
	signal.Notify(intr, os.Interrupt)
	defer signal.Stop(intr)
	if err := ctx.Err(); err != nil {
		return err // interrupted before the chat took Ctrl-C over
	}
	// main's context is cancelled by the first Ctrl-C too; the chat's
	// answers have contexts of their own.
	return c.chat(context.WithoutCancel(ctx), s, sess, intr)
}

// chat runs the conversation: a line from s.in is a message or a command,
// each receive from intr a Ctrl-C. It returns nil at /exit, at the end of
// the input or at a second Ctrl-C at the prompt; an error other than a
// stopped answer or a message too long for the session ends it.
func (c *chatCmd) chat(ctx context.Context, s *streams, sess *generate.Session, intr <-chan os.Signal) error {
	done := make(chan struct{})
	defer close(done)
	// Lines arrive on a channel so that Ctrl-C is seen while waiting.
	lines := make(chan string)
	scanErr := make(chan error, 1)
	go func() {
		in := bufio.NewScanner(s.in)
		in.Buffer(make([]byte, 1<<20), 1<<20)
		for in.Scan() {
			select {
			case lines <- in.Text():
			case <-done:
				return
			}
		}
		scanErr <- in.Err()
		close(lines)
	}()
	// The answer's room: --max-tokens, at most half the session.
	room := sess.MaxLen() / 2
	if c.MaxTokens > 0 {
		room = min(room, c.MaxTokens)
	}
	quitting := false // a Ctrl-C at the prompt: a second one ends the chat
	for {
		if s.tty {
			fmt.Fprint(s.err, "> ")
		}
		var line string
		select {
		case <-intr:
			if quitting {
				fmt.Fprintln(s.err)
				return nil
			}
			quitting = true
			fmt.Fprintln(s.err, "\n(Ctrl-C again, Ctrl-D or /exit to quit)")
			continue
		case l, ok := <-lines:
			if !ok {
				if s.tty {
					fmt.Fprintln(s.err)
				}
				return <-scanErr
			}
			line = strings.TrimSpace(l)
		}
		quitting = false
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "/") && !strings.HasPrefix(line, "//") {
			switch cmd := strings.Fields(line)[0]; cmd {
			case "/exit", "/quit":
				return nil
			case "/reset":
				sess.Reset()
				fmt.Fprintln(s.err, "zerfoo: the conversation starts over")
			case "/help":
				fmt.Fprintln(s.err, chatCommands)
			default:
				fmt.Fprintf(s.err, "zerfoo: unknown command %s (not sent; /help lists the commands, //text sends \"/text\")\n", cmd)
			}
			continue
		}
		line = strings.TrimPrefix(line, "/")
		if err := c.turn(ctx, s, sess, line, room, intr); err != nil {
			return err
		}
	}
}

// turn sends one message, dropping old turns first if the conversation
// would not fit, and streams the answer; a receive from intr stops it.
func (c *chatCmd) turn(ctx context.Context, s *streams, sess *generate.Session, line string, room int, intr <-chan os.Signal) error {
	dropped, err := sess.Fit(line, room)
	switch {
	case errors.Is(err, gemma3.ErrContext):
		fmt.Fprintf(s.err, "zerfoo: message not sent: it does not fit the %d-token context (--context raises it)\n", sess.MaxLen())
		return nil
	case err != nil:
		return err
	case dropped == 1:
		fmt.Fprintf(s.err, "zerfoo: dropped the oldest turn to fit the %d-token context\n", sess.MaxLen())
	case dropped > 1:
		fmt.Fprintf(s.err, "zerfoo: dropped the %d oldest turns to fit the %d-token context\n", dropped, sess.MaxLen())
	}
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	type sent struct {
		res generate.Result
		err error
	}
	answer := make(chan sent, 1)
	go func() {
		res, err := sess.Send(actx, line, generate.Options{
			Sampling: generate.Sampling{Temperature: c.Temperature, TopK: c.TopK, TopP: c.TopP, MinP: c.MinP,
				RepetitionPenalty: c.penalty, Seed: c.Seed},
			MaxTokens: c.MaxTokens,
			OnText:    func(p string) error { _, err := fmt.Fprint(s.out, p); return err },
		})
		answer <- sent{res, err}
	}()
	var a sent
	stopped := false
	select {
	case a = <-answer:
	case <-intr:
		cancel()
		a, stopped = <-answer, true
	}
	if errors.Is(a.err, gemma3.ErrContext) && len(a.res.Tokens) == 0 {
		// Fit measured the conversation as Send renders it; this is a guard.
		fmt.Fprintf(s.err, "zerfoo: message not sent: it does not fit the %d-token context (--context raises it)\n", sess.MaxLen())
		return nil
	}
	fmt.Fprintln(s.out)
	switch {
	case stopped && errors.Is(a.err, context.Canceled):
		fmt.Fprintln(s.err, "zerfoo: answer stopped")
	case a.err != nil:
		return a.err
	}
	printStats(s, a.res)
	if a.res.Finish == generate.FinishContext {
		fmt.Fprintf(s.err, "zerfoo: answer cut: the %d-token context is full (the next message drops the oldest turns; --context raises it)\n", sess.MaxLen())
	}
	return nil
}
