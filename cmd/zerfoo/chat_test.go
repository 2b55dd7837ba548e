package main

import (
	"context"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zerfoo/zerfoo/generate"
)

// TestChatPipe chats through a pipe in a 64-token context: the
// conversation outgrows it, old turns are dropped with a notice, and the
// chat goes on to the end of the input; commands are not sent to the model.
func TestChatPipe(t *testing.T) {
	msgs := strings.Repeat("a goroutine is\nthe channel\nwhat is a slice of\n", 4)
	stdin := "/help\n" + msgs + "/xyz please\n/reset\n//etc is a directory\n\n"
	code, out, errs := zerfoo(t, context.Background(), stdin, "-q", "chat", "--context", "64", "--max-tokens", "16", "--system", "be brief", "--seed", "1")
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, errs)
	}
	if stats := strings.Count(errs, "prompt: "); stats != 13 || out == "" {
		t.Errorf("%d answers (statistics lines on stderr), %d bytes on stdout; want 13 (12 messages and //etc)\nstderr:\n%s", stats, len(out), errs)
	}
	for _, want := range []string{
		"  /reset   start the conversation over",
		"zerfoo: dropped the ",
		"oldest turn",
		"to fit the 64-token context\n",
		"zerfoo: unknown command /xyz (not sent; /help lists the commands",
		"zerfoo: the conversation starts over\n",
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	if strings.Contains(errs, "> ") {
		t.Errorf("stderr shows the prompt, but it is not a terminal:\n%s", errs)
	}

	code, _, errs = zerfoo(t, context.Background(), "hello\n/exit\nnot read\n", "-q", "chat", "--max-tokens", "4")
	if code != exitOK || strings.Count(errs, "prompt: ") != 1 {
		t.Errorf("/exit: exit %d, stderr:\n%s\nwant exit 0 after one answer", code, errs)
	}
}

func TestChatHelp(t *testing.T) {
	code, out, _ := zerfoo(t, context.Background(), "", "chat", "--help")
	for _, want := range []string{"/reset", "/help", "/exit", "oldest turns are dropped", "Ctrl-C"} {
		if code != exitOK || !strings.Contains(out, want) {
			t.Errorf("zerfoo chat --help: exit %d, output lacks %q:\n%s", code, want, out)
		}
	}
}

// lineLog is a stderr that hands each write to waitFor.
type lineLog struct {
	mu   sync.Mutex
	text strings.Builder
	more chan struct{} // receives after each write
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.text.Write(p)
	l.mu.Unlock()
	select {
	case l.more <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (l *lineLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.text.String()
}

// waitFor waits until the log holds n occurrences of s.
func (l *lineLog) waitFor(t *testing.T, s string, n int) {
	t.Helper()
	deadline := time.After(time.Minute)
	for strings.Count(l.String(), s) < n {
		select {
		case <-l.more:
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			t.Fatalf("no %d× %q on stderr after a minute:\n%s", n, s, l.String())
		}
	}
}

// firstWrite is a stdout whose first write signals wrote and waits for
// release.
type firstWrite struct {
	once           sync.Once
	wrote, release chan struct{}
}

func (w *firstWrite) Write(p []byte) (int, error) {
	w.once.Do(func() {
		close(w.wrote)
		<-w.release
	})
	return len(p), nil
}

// TestChatInterrupt sends Ctrl-C through the chat's interrupt channel: one
// during an answer stops that answer and the chat goes on; one at the
// prompt prints a hint, and a second one there ends the chat.
func TestChatInterrupt(t *testing.T) {
	ctx := context.Background()
	m, err := generate.Load(ctx, builtin(t))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	c := &chatCmd{Context: 512, MaxTokens: 0, Temperature: 0.8, TopK: 40, TopP: 0.95, Seed: 1}
	sess, err := m.NewSession("", c.Context)
	if err != nil {
		t.Fatal(err)
	}
	in, feed := io.Pipe()
	defer feed.Close()
	out := &firstWrite{wrote: make(chan struct{}), release: make(chan struct{})}
	errs := &lineLog{more: make(chan struct{}, 1)}
	intr := make(chan os.Signal) // unbuffered: a send returns once the chat has it
	done := make(chan error, 1)
	go func() { done <- c.chat(ctx, &streams{in: in, out: out, err: errs}, sess, intr) }()
	send := func(line string) {
		go func() { _, _ = io.WriteString(feed, line+"\n") }()
	}

	// Ctrl-C during the first answer (its first piece of text is held
	// until the chat has the signal; MaxTokens 0 lets it run on to the end
	// of the 512-token context).
	send("a goroutine is")
	<-out.wrote
	intr <- os.Interrupt
	close(out.release)
	errs.waitFor(t, "zerfoo: answer stopped\n", 1)
	errs.waitFor(t, "prompt: ", 1)
	if sess.Turns() != 1 {
		t.Errorf("after the stopped answer: %d turns, want 1 (the partial answer is kept)", sess.Turns())
	}

	// Ctrl-C at the prompt: a hint; a message then resets the count.
	intr <- os.Interrupt
	errs.waitFor(t, "(Ctrl-C again, Ctrl-D or /exit to quit)", 1)
	send("the channel")
	errs.waitFor(t, "prompt: ", 2)
	intr <- os.Interrupt
	errs.waitFor(t, "(Ctrl-C again, Ctrl-D or /exit to quit)", 2)
	select {
	case err := <-done:
		t.Fatalf("the chat ended after one Ctrl-C at the prompt (%v)", err)
	default:
	}
	intr <- os.Interrupt
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("two Ctrl-C at the prompt: got %v, want nil", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the chat did not end after two Ctrl-C at the prompt")
	}
	// How far the first answer ran before the chat's cancel reached it is
	// up to the scheduler: a long one leaves no room for the second turn,
	// which then drops it (and says so).
	dropped := strings.Count(errs.String(), "dropped the oldest turn")
	if got := strings.Count(errs.String(), "answer stopped"); got != 1 || sess.Turns() != 2-dropped {
		t.Errorf("%d answers stopped, %d turns, %d dropped; want 1 and %d:\n%s", got, sess.Turns(), dropped, 2-dropped, errs.String())
	}
}
