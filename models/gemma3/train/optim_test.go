package train

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tokenizer"
	"github.com/zerfoo/zerfoo/training"
)

// TestResumeContinues trains S steps straight, and again with an
// interruption after the checkpoint of step S1 (model GGUF + optimizer
// state file), then resumes from the files to S. The resumed losses and
// final weights must match the straight run's up to the float32 rounding
// of the norms' 1 + w in the GGUF; restarting the moments at zero (the
// old behaviour) must not.
func TestResumeContinues(t *testing.T) {
	const S, S1 = 8, 4
	v := testVocab(t)
	tok, _ := tokenizer.New(*v)
	data := tok.Encode(testText, false, false)
	opts := func() Options {
		return Options{Steps: S, Batch: 2, SeqLen: 16, BOS: v.BOS, LR: 1e-2, Warmup: 2, Seed: 3, CheckpointEvery: S1}
	}
	straight := tinyModel(t, v)
	want, err := Run(context.Background(), straight, data, opts())
	if err != nil {
		t.Fatal(err)
	}

	path := filepath.Join(t.TempDir(), "ck.gguf")
	m := tinyModel(t, v)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var saved *OptimState
	o := opts()
	o.Checkpoint = func(step int, st *OptimState) error {
		if step != S1 {
			t.Fatalf("checkpoint at step %d after the interruption at %d", step, S1)
		}
		if st.Step != S1 || st.Decay.Step != S1 || st.NoDecay.Step != S1 {
			t.Fatalf("optimizer state steps %d/%d/%d, want %d", st.Step, st.Decay.Step, st.NoDecay.Step, S1)
		}
		saved = st
		cancel() // interrupt: the next step must not complete
		if err := m.Save(path, v, step); err != nil {
			return err
		}
		return m.SaveOptim(path+OptimSuffix, st)
	}
	first, err := Run(ctx, m, data, o)
	if !errors.Is(err, context.Canceled) || len(first) != S1 {
		t.Fatalf("interrupted run: %d losses, error %v; want %d, context.Canceled", len(first), err, S1)
	}
	for i, l := range first {
		if l != want[i] {
			t.Fatalf("step %d before the interruption: loss %v, straight run %v", i+1, l, want[i])
		}
	}
	if _, err := os.Stat(path + OptimSuffix + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("the temporary optimizer file is left behind: %v", err)
	}

	resume := func(withState bool) ([]float64, *Model) {
		t.Helper()
		ck, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		o := opts()
		o.Start = ck.Step
		if withState {
			st, err := ck.Model.LoadOptim(path + OptimSuffix)
			if err != nil {
				t.Fatal(err)
			}
			sameState(t, st, saved)
			o.Optim = st
		}
		var final *OptimState
		o.Checkpoint = func(step int, st *OptimState) error { final = st; return nil }
		losses, err := Run(context.Background(), ck.Model, data, o)
		if err != nil {
			t.Fatal(err)
		}
		if withState && (final == nil || final.Step != S || final.Decay.Step != S) {
			t.Fatalf("final optimizer state %+v, want step %d", final, S)
		}
		return losses, ck.Model
	}
	dev := func(losses []float64, got *Model) (dl, dw float64) {
		for i, l := range losses {
			dl = max(dl, math.Abs(l-want[S1+i]))
		}
		wp := straight.Params()
		for i, p := range got.Params() {
			for j, x := range p.Value.Data() {
				dw = max(dw, math.Abs(float64(x-wp[i].Value.Data()[j])))
			}
		}
		return dl, dw
	}
	losses, got := resume(true)
	if len(losses) != S-S1 {
		t.Fatalf("resumed run: %d losses, want %d", len(losses), S-S1)
	}
	dl, dw := dev(losses, got)
	zl, zw := dev(resume(false))
	t.Logf("resumed with the optimizer state: max |Δloss| %.2g, max |Δw| %.2g; moments at zero: %.2g, %.2g", dl, dw, zl, zw)
	// The only difference is the GGUF's float32 1 + w of the norms
	// (≤ 2⁻²⁴ per weight at step S1), carried through S−S1 steps.
	if dl > 2e-6 || dw > 2e-6 {
		t.Errorf("resumed run differs from the straight run: max |Δloss| %.2g, max |Δw| %.2g, want ≤ 2e-6", dl, dw)
	}
	if zl < 100*dl || zw < 100*dw {
		t.Errorf("restarting the moments at zero (|Δloss| %.2g, |Δw| %.2g) is not clearly worse than restoring them (%.2g, %.2g): the test cannot see the state", zl, zw, dl, dw)
	}
}

// sameState requires got to equal want bit for bit.
func sameState(t *testing.T, got, want *OptimState) {
	t.Helper()
	if got.Step != want.Step {
		t.Fatalf("optimizer state step: got %d, want %d", got.Step, want.Step)
	}
	for _, g := range []struct {
		name      string
		got, want training.AdamWState
	}{{"decay", got.Decay, want.Decay}, {"no_decay", got.NoDecay, want.NoDecay}} {
		if g.got.Step != g.want.Step || len(g.got.M) != len(g.want.M) || len(g.got.V) != len(g.want.V) {
			t.Fatalf("%s: step %d, %d/%d moments; want %d, %d/%d", g.name, g.got.Step, len(g.got.M), len(g.got.V), g.want.Step, len(g.want.M), len(g.want.V))
		}
		for i := range g.want.M {
			for _, mo := range [][2][]float64{{g.got.M[i], g.want.M[i]}, {g.got.V[i], g.want.V[i]}} {
				if len(mo[0]) != len(mo[1]) {
					t.Fatalf("%s parameter %d: %d values, want %d", g.name, i, len(mo[0]), len(mo[1]))
				}
				for j := range mo[1] {
					if math.Float64bits(mo[0][j]) != math.Float64bits(mo[1][j]) {
						t.Fatalf("%s parameter %d [%d]: got %v, want %v", g.name, i, j, mo[0][j], mo[1][j])
					}
				}
			}
		}
	}
}

// zeroOptim returns the optimizer state of m before any step.
func zeroOptim(t *testing.T, m *Model) *OptimState {
	t.Helper()
	s := &OptimState{}
	a, err := training.NewAdamW(m.Matrices(), numeric.Float32Ops{}, training.DefaultAdamW(1))
	if err != nil {
		t.Fatal(err)
	}
	b, err := training.NewAdamW(m.Norms(), numeric.Float32Ops{}, training.DefaultAdamW(1))
	if err != nil {
		t.Fatal(err)
	}
	s.Decay, s.NoDecay = a.State(), b.State()
	return s
}

func TestOptimStateRejected(t *testing.T) {
	dir := t.TempDir()
	v := testVocab(t)
	m := tinyModel(t, v)
	model := func(vocab, layers int) *Model {
		c, err := Preset("nano", vocab)
		if err != nil {
			t.Fatal(err)
		}
		c.Layers = layers
		o, err := New(c, 1)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	write := func(name string, from *Model, edit func(*OptimState)) string {
		t.Helper()
		s := zeroOptim(t, from)
		s.Step, s.Decay.Step, s.NoDecay.Step = 4, 4, 4
		if edit != nil {
			edit(s)
		}
		p := filepath.Join(dir, name)
		if err := from.SaveOptim(p, s); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.optim", m, nil)
	if s, err := m.LoadOptim(good); err != nil || s.Step != 4 || s.Decay.Step != 4 {
		t.Fatalf("LoadOptim of a matching file: %v (state %+v)", err, s)
	}
	ckpt := filepath.Join(dir, "model.gguf")
	if err := m.Save(ckpt, v, 4); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "garbage.optim")
	if err := os.WriteFile(garbage, []byte("GGUF\x03\x00\x00\x00 not really"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		want       string
		is         error
	}{
		{"other vocabulary", write("vocab.optim", model(len(v.Tokens)+16, 2), nil),
			"tensor adamw.decay.m.token_embd.weight is F64 [32 400], want F64 [32 384] (another model shape?)", ErrCheckpoint},
		{"other layer count", write("layers.optim", model(len(v.Tokens), 4), nil),
			"zerfoo.optim.decay lists 29 parameters, the model has 15 (another model?)", ErrCheckpoint},
		{"step above the file's", write("step.optim", m, func(s *OptimState) { s.NoDecay.Step = 5 }),
			"zerfoo.optim.no_decay.step missing or above the step 4", ErrCheckpoint},
		{"NaN moment", write("nan.optim", m, func(s *OptimState) { s.Decay.V[3][7] = math.NaN() }),
			"tensor adamw.decay.v.blk.0.attn_v.weight [7] is NaN", ErrCheckpoint},
		{"a model checkpoint", ckpt, "not a zerfoo optimizer state", ErrCheckpoint},
		{"corrupt file", garbage, garbage, nil},
		{"missing file", filepath.Join(dir, "none.optim"), "none.optim", os.ErrNotExist},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := m.LoadOptim(tc.path)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.path) || (tc.is != nil && !errors.Is(err, tc.is)) {
				t.Fatalf("got %v, want an error naming %s containing %q (wrapping %v)", err, tc.path, tc.want, tc.is)
			}
		})
	}

	// Run checks the state's step against Start, and its sizes.
	tok, _ := tokenizer.New(*v)
	data := tok.Encode(testText, false, false)
	s, _ := m.LoadOptim(good)
	for _, tc := range []struct {
		name  string
		start int
		edit  func(*OptimState)
		want  string
	}{
		{"step", 3, nil, "the optimizer state is at step 4, the run starts after step 3"},
		{"sizes", 4, func(s *OptimState) { s.NoDecay.M[2] = s.NoDecay.M[2][:3] }, `optimizer state of the norms: training: AdamW.SetState: graph: bad input: parameter 2 ("blk.0.attn_q_norm.weight"): first moment has 3 values, want 16`},
	} {
		t.Run("Run "+tc.name, func(t *testing.T) {
			st := *s
			if tc.edit != nil {
				st.NoDecay.M = append([][]float64(nil), s.NoDecay.M...)
				tc.edit(&st)
			}
			_, err := Run(context.Background(), m, data, Options{Steps: 6, Start: tc.start, Batch: 1, SeqLen: 16, BOS: v.BOS, Optim: &st})
			if !errors.Is(err, ErrCheckpoint) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrCheckpoint containing %q", err, tc.want)
			}
		})
	}
}
