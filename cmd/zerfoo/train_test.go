package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/models/gemma3"
	"github.com/zerfoo/zerfoo/models/gemma3/train"
)

const trainCorpus = `Go is an open source programming language that makes it simple to build secure, scalable systems.
The Go memory model specifies the conditions under which reads of a variable in one goroutine can be
guaranteed to observe values produced by writes to the same variable in a different goroutine.
Programs that modify data being simultaneously accessed by multiple goroutines must serialize such access.
`

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTrainCommand(t *testing.T) {
	dir := t.TempDir()
	corpus := writeFile(t, dir, "c.txt", trainCorpus)
	out := filepath.Join(dir, "m.gguf")
	c := trainCmd{Corpus: corpus, Config: "nano", Steps: 6, Out: out, Vocab: 320, Batch: 2, SeqLen: 16, LR: 3e-3, Clip: 1, Seed: 1, SaveEvery: 3}
	if err := c.run(context.Background(), quiet()); err != nil {
		t.Fatal(err)
	}
	ck, err := train.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Step != 6 {
		t.Errorf("checkpoint step: got %d, want 6", ck.Step)
	}
	m, err := gemma3.Load(out, gemma3.LoadOptions{})
	if err != nil {
		t.Fatalf("models/gemma3 cannot load the checkpoint: %v", err)
	}
	m.Close()
	// --resume continues up to the new --steps.
	c.Resume, c.Steps = true, 8
	if err := c.run(context.Background(), quiet()); err != nil {
		t.Fatal(err)
	}
	if ck, _ = train.Load(out); ck.Step != 8 {
		t.Errorf("resumed checkpoint step: got %d, want 8", ck.Step)
	}
	if st, err := ck.Model.LoadOptim(out + ".optim"); err != nil || st.Step != 8 || st.Decay.Step != 8 {
		t.Errorf("optimizer state beside the resumed checkpoint: %v (step %v)", err, st)
	}
}

// TestTrainResumeOptim checks --resume with the optimizer state file
// missing (a warning, moments at zero), from another checkpoint (an error
// naming the file and the steps) and corrupt (an error naming the file).
func TestTrainResumeOptim(t *testing.T) {
	dir := t.TempDir()
	corpus := writeFile(t, dir, "c.txt", trainCorpus)
	out := filepath.Join(dir, "m.gguf")
	c := trainCmd{Corpus: corpus, Config: "nano", Steps: 2, Out: out, Vocab: 320, Batch: 1, SeqLen: 16, LR: 3e-3, Clip: 1, Seed: 1, SaveEvery: 1}
	if err := c.run(context.Background(), quiet()); err != nil {
		t.Fatal(err)
	}
	optim := out + ".optim"
	atStep2, err := os.ReadFile(optim)
	if err != nil {
		t.Fatal(err)
	}
	c.Resume = true

	if err := os.Remove(optim); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	c.Steps = 3
	if err := c.run(context.Background(), &streams{in: strings.NewReader(""), out: io.Discard, err: &log}); err != nil {
		t.Fatal(err)
	}
	if want := "warning: no optimizer state at " + optim + ": moments restart at zero\n"; !strings.Contains(log.String(), want) {
		t.Errorf("log without %s:\n%s\nwant the line %q", optim, log.String(), want)
	}
	if _, err := os.Stat(optim); err != nil {
		t.Errorf("the resumed run did not write %s: %v", optim, err)
	}

	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"older state", atStep2, "optimizer state " + optim + " is at step 2, the checkpoint " + out + " at step 3"},
		{"corrupt", []byte("GGUF junk"), optim},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(optim, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			c.Steps = 4
			err := c.run(context.Background(), quiet())
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "delete it to restart the moments at zero") {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestTrainCommandErrors(t *testing.T) {
	dir := t.TempDir()
	empty := writeFile(t, dir, "empty.txt", " \n\n")
	short := writeFile(t, dir, "short.txt", "too short")
	good := writeFile(t, dir, "good.txt", trainCorpus)
	exists := writeFile(t, dir, "exists.gguf", "x")
	emptyDir := filepath.Join(dir, "nothing")
	os.Mkdir(emptyDir, 0o755)
	for _, tc := range []struct {
		name, corpus, out string
		seqLen            int
		want              string
		is                error
	}{
		{"empty corpus", empty, filepath.Join(dir, "a.gguf"), 16, "holds no text", train.ErrData},
		{"empty directory", emptyDir, filepath.Join(dir, "b.gguf"), 16, "holds no text", train.ErrData},
		{"corpus shorter than a sequence", short, filepath.Join(dir, "c.gguf"), 64, "fewer than one sequence", train.ErrData},
		{"output exists", good, exists, 16, "exists (use --force", nil},
		{"missing corpus", filepath.Join(dir, "nope.txt"), filepath.Join(dir, "d.gguf"), 16, "no such file", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := trainCmd{Corpus: tc.corpus, Config: "nano", Steps: 2, Out: tc.out, Vocab: 300, Batch: 1, SeqLen: tc.seqLen, LR: 1e-3, Clip: 1}
			err := c.run(context.Background(), quiet())
			if err == nil || !strings.Contains(err.Error(), tc.want) || (tc.is != nil && !errors.Is(err, tc.is)) {
				t.Fatalf("got %v, want an error containing %q (wrapping %v)", err, tc.want, tc.is)
			}
		})
	}
}
