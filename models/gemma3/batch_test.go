package gemma3_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/gguf/quant"
	"github.com/zerfoo/zerfoo/models/gemma3"
)

// batchTol returns the most max |Δ logit| / std allowed between a
// sequence run in a Batch and the same sequence run alone, for weights of
// type typ. Every row-wise operation is the same code on the same values;
// only the weight products see another number of rows. The int8 kernels
// (quantized weights) give every row the same sums whatever the row count:
// measured 0 (bit-identical). The float32 GEMM and the F16 kernels sum in
// another order for other row counts (a few float32 ulps), and the random
// network amplifies one ulp where it crosses a rounding point (the GELU
// table's fp16, an F16 or Q8_0 cache): measured up to 7e-3.
func batchTol(typ quant.Type) float64 {
	if typ == quant.F32 || typ == quant.F16 {
		return 2e-2
	}
	return 1e-5
}

// TestBatchMatchesState runs random mixtures of 2 to 6 sequences through
// Batch.Forward — some prefilling chunks of various sizes, some decoding,
// at different positions, many past the sliding window of 8 so the local
// rings wrap, with KV caches of every type — and checks every logit
// against the same sequence run alone with State.Forward.
func TestBatchMatchesState(t *testing.T) {
	for _, typ := range []quant.Type{quant.Q4_0, quant.Q8_0, quant.Q4_K, quant.F16, quant.F32} {
		t.Run(typ.String(), func(t *testing.T) {
			m, err := gemma3.Load(writeTiny(t, typ), gemma3.LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			worst := testBatchMixtures(t, m, 3, 5, 0, batchTol(typ))
			t.Logf("%v: max |Δ logit| / std = %.3g over all steps", typ, worst)
		})
	}
}

// testBatchMixtures runs trials of random mixtures (see
// TestBatchMatchesState) of steps each and returns the worst relative
// logit difference.
func testBatchMixtures(t *testing.T, m *gemma3.Model, trials, steps, threads int, tol float64) float64 {
	ctx := context.Background()
	c := m.Config
	r := rand.New(rand.NewPCG(uint64(c.Vocab), 11))
	b, err := m.NewBatch(gemma3.BatchOptions{MaxRows: 64, MaxSeqs: 6, MaxLen: 128, Threads: threads})
	if err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for trial := 0; trial < trials; trial++ {
		n := 2 + r.IntN(5)
		type pair struct{ ref, bat *gemma3.State }
		seqs := make([]pair, n)
		for i := range seqs {
			opt := gemma3.StateOptions{MaxLen: 128, Batch: []int{1, 4, 8, 16}[r.IntN(4)], Threads: threads,
				CacheType: []gemma3.CacheType{gemma3.CacheF16, gemma3.CacheF32, gemma3.CacheQ8_0}[r.IntN(3)]}
			ref := m.NewState(opt)
			opt.CacheOnly = i%2 == 0
			bat := m.NewState(opt)
			seqs[i] = pair{ref, bat}
			// A history of 0 to 60 positions, run by each State alone (the
			// CacheOnly one allocates its scratch for it).
			if h := r.IntN(61); h > 0 {
				toks := randTokens(r, h, c.Vocab)
				if err := ref.Forward(ctx, toks, nil); err != nil {
					t.Fatal(err)
				}
				if err := bat.Forward(ctx, toks, nil); err != nil {
					t.Fatal(err)
				}
			}
		}
		for step := 0; step < steps; step++ {
			var in []gemma3.Seq
			var refs []*gemma3.State
			for i, p := range seqs {
				if r.IntN(5) == 0 {
					continue // not in this step
				}
				k := 1
				if r.IntN(2) == 0 {
					k = 1 + r.IntN(p.bat.Batch())
				}
				k = min(k, p.bat.MaxLen()-p.bat.Pos())
				if k == 0 {
					continue
				}
				sq := gemma3.Seq{State: p.bat, Tokens: randTokens(r, k, c.Vocab)}
				if r.IntN(4) != 0 {
					sq.Logits = make([]float32, c.Vocab)
				}
				in = append(in, sq)
				refs = append(refs, seqs[i].ref)
			}
			// Logits as rows of one array (written in place), in order or
			// reversed (copied), or separate buffers (copied).
			if layout := r.IntN(3); layout > 0 {
				var want []int
				for j := range in {
					if in[j].Logits != nil {
						want = append(want, j)
					}
				}
				all := make([]float32, len(want)*c.Vocab)
				for k, j := range want {
					if layout == 2 {
						k = len(want) - 1 - k
					}
					in[j].Logits = all[k*c.Vocab : (k+1)*c.Vocab]
				}
			}
			if err := b.Forward(ctx, in); err != nil {
				t.Fatal(err)
			}
			want := make([]float32, c.Vocab)
			for j, sq := range in {
				if err := refs[j].Forward(ctx, sq.Tokens, want); err != nil {
					t.Fatal(err)
				}
				if refs[j].Pos() != sq.State.Pos() {
					t.Fatalf("trial %d step %d seq %d: position %d in the batch, %d alone", trial, step, j, sq.State.Pos(), refs[j].Pos())
				}
				if sq.Logits == nil {
					continue
				}
				d := relDiff(sq.Logits, want)
				worst = max(worst, d)
				if d > tol || math.IsNaN(d) {
					t.Errorf("trial %d step %d seq %d (%d tokens at %d, cache %v, batch %d): max |Δ logit| / std = %.3g, want ≤ %g",
						trial, step, j, len(sq.Tokens), sq.State.Pos()-len(sq.Tokens), sq.State.CacheType(), sq.State.Batch(), d, tol)
				}
			}
		}
	}
	return worst
}

// TestBatchThreads runs the mixtures on the whole worker pool (parallel
// row loops and attention from 16 rows up, Packed splitting rows from 32).
func TestBatchThreads(t *testing.T) {
	m, err := gemma3.Load(writeTiny(t, quant.Q8_0), gemma3.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	t.Logf("max |Δ logit| / std = %.3g", testBatchMixtures(t, m, 2, 4, 0, batchTol(quant.Q8_0)))
	t.Logf("one thread: max |Δ logit| / std = %.3g", testBatchMixtures(t, m, 2, 4, 1, batchTol(quant.Q8_0)))
}

// TestBatchErrors checks that every bad sequence is reported, naming its
// index, before anything changes: the positions stay, and the next good
// step gives the logits of sequences that never saw the bad calls.
func TestBatchErrors(t *testing.T) {
	ctx := context.Background()
	m, err := gemma3.Load(writeTiny(t, quant.Q8_0), gemma3.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	c := m.Config
	b, err := m.NewBatch(gemma3.BatchOptions{MaxRows: 8, MaxSeqs: 3, MaxLen: 64})
	if err != nil {
		t.Fatal(err)
	}
	if b.MaxRows() != 8 || b.MaxSeqs() != 3 || b.Bytes() <= 0 {
		t.Errorf("MaxRows, MaxSeqs, Bytes = %d, %d, %d; want 8, 3 and some", b.MaxRows(), b.MaxSeqs(), b.Bytes())
	}
	other, err := gemma3.Load(writeTiny(t, quant.Q8_0), gemma3.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	opt := gemma3.StateOptions{MaxLen: 32, Batch: 4, CacheOnly: true}
	s0, s1, full := m.NewState(opt), m.NewState(opt), m.NewState(opt)
	ref0, ref1 := m.NewState(opt), m.NewState(opt)
	for _, s := range []*gemma3.State{s0, s1, ref0, ref1} {
		if err := s.Forward(ctx, []int32{2, 400, 401}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := full.Forward(ctx, randTokens(rand.New(rand.NewPCG(1, 1)), 32, c.Vocab), nil); err != nil {
		t.Fatal(err)
	}
	logits := make([]float32, c.Vocab)
	ok := gemma3.Seq{State: s0, Tokens: []int32{5}, Logits: logits}
	for _, tc := range []struct {
		name string
		seqs []gemma3.Seq
		is   error
		text string
	}{
		{"no State", []gemma3.Seq{ok, {Tokens: []int32{1}}}, nil, "sequence 1 has no State"},
		{"failed State", []gemma3.Seq{ok, {State: m.NewState(gemma3.StateOptions{Budget: 1}), Tokens: []int32{1}}}, nil, "sequence 1: gemma3: KV cache"},
		{"other Model", []gemma3.Seq{ok, {State: other.NewState(opt), Tokens: []int32{1}}}, nil, "sequence 1: its State belongs to another Model"},
		{"no tokens", []gemma3.Seq{ok, {State: s1}}, nil, "sequence 1 has no tokens"},
		{"token", []gemma3.Seq{ok, {State: s1, Tokens: []int32{1, int32(c.Vocab)}}}, gemma3.ErrToken, "sequence 1: token 657 at index 1"},
		{"negative token", []gemma3.Seq{{State: s1, Tokens: []int32{-1}}}, gemma3.ErrToken, "sequence 0: token -1"},
		{"context full", []gemma3.Seq{ok, {State: full, Tokens: []int32{1}}}, gemma3.ErrContext, "sequence 1: 1 tokens after 32 cached"},
		{"chunk over State batch", []gemma3.Seq{ok, {State: s1, Tokens: make([]int32, 5)}}, gemma3.ErrBatch, "sequence 1: 5 tokens in one step, more than its State's Batch 4"},
		{"State over Batch MaxLen", []gemma3.Seq{ok, {State: m.NewState(gemma3.StateOptions{MaxLen: 65, CacheOnly: true}), Tokens: []int32{1}}}, gemma3.ErrBatch, "sequence 1: its State's MaxLen 65 exceeds the Batch's MaxLen 64"},
		{"rows", []gemma3.Seq{ok, {State: s1, Tokens: make([]int32, 4)}, {State: ref1, Tokens: make([]int32, 4)}}, gemma3.ErrBatch, "9 tokens in one Batch.Forward, more than MaxRows 8"},
		{"seqs", []gemma3.Seq{ok, {State: s1, Tokens: []int32{1}}, {State: ref0, Tokens: []int32{1}}, {State: ref1, Tokens: []int32{1}}}, gemma3.ErrBatch, "4 sequences in one Batch.Forward, more than MaxSeqs 3"},
		{"short logits", []gemma3.Seq{ok, {State: s1, Tokens: []int32{1}, Logits: make([]float32, c.Vocab-1)}}, nil, "sequence 1: logits buffer has 656 values"},
		{"same State", []gemma3.Seq{ok, {State: s1, Tokens: []int32{1}}, {State: s0, Tokens: []int32{1}}}, nil, "sequences 0 and 2 have the same State"},
	} {
		err := b.Forward(ctx, tc.seqs)
		switch {
		case err == nil:
			t.Errorf("%s: no error", tc.name)
		case tc.is != nil && !errors.Is(err, tc.is):
			t.Errorf("%s: got %v, want an error wrapping %v", tc.name, err, tc.is)
		case !strings.Contains(err.Error(), tc.text):
			t.Errorf("%s: got %q, want it to contain %q", tc.name, err, tc.text)
		}
	}
	if s0.Pos() != 3 || s1.Pos() != 3 || full.Pos() != 32 {
		t.Fatalf("failed calls moved positions to %d, %d, %d", s0.Pos(), s1.Pos(), full.Pos())
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := b.Forward(cancelled, []gemma3.Seq{ok}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: got %v, want context.Canceled", err)
	}
	if s0.Pos() != 3 {
		t.Fatalf("a cancelled step moved the position to %d", s0.Pos())
	}
	// The next good step matches sequences that saw none of this.
	l1 := make([]float32, c.Vocab)
	if err := b.Forward(ctx, []gemma3.Seq{ok, {State: s1, Tokens: []int32{7, 8}, Logits: l1}}); err != nil {
		t.Fatal(err)
	}
	want := make([]float32, c.Vocab)
	for _, tc := range []struct {
		s    *gemma3.State
		toks []int32
		got  []float32
	}{{ref0, []int32{5}, logits}, {ref1, []int32{7, 8}, l1}} {
		if err := tc.s.Forward(ctx, tc.toks, want); err != nil {
			t.Fatal(err)
		}
		if d := relDiff(tc.got, want); d > batchTol(quant.Q8_0) {
			t.Errorf("after the failed calls: max |Δ logit| / std = %.3g, want ≤ %g", d, batchTol(quant.Q8_0))
		}
	}
	if err := b.Forward(ctx, nil); err != nil {
		t.Errorf("no sequences: %v", err)
	}
	if _, err := m.NewBatch(gemma3.BatchOptions{Budget: 1 << 10}); err == nil || !strings.Contains(err.Error(), "batch scratch buffers") {
		t.Errorf("NewBatch over budget: got %v", err)
	}
}

// TestBatchDecodeAllocs checks that a decode step of several sequences
// allocates nothing once warm: on one thread, and on the worker pool
// (whose parallel loops reuse their groups) except for F32 weights.
func TestBatchDecodeAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("-race: sync.Pool drops buffers at random")
	}
	ctx := context.Background()
	for _, typ := range []quant.Type{quant.F32, quant.F16, quant.Q8_0, quant.Q4_K} {
		m, err := gemma3.Load(writeTiny(t, typ), gemma3.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		for _, threads := range []int{1, 0} {
			b, err := m.NewBatch(gemma3.BatchOptions{MaxRows: 16, MaxSeqs: 8, MaxLen: 256, Threads: threads})
			if err != nil {
				t.Fatal(err)
			}
			seqs := make([]gemma3.Seq, 8)
			for i := range seqs {
				s := m.NewState(gemma3.StateOptions{MaxLen: 256, Batch: 8, CacheOnly: true, CacheType: gemma3.CacheType(i % 3)})
				seqs[i] = gemma3.Seq{State: s, Tokens: []int32{int32(400 + i)}, Logits: make([]float32, m.Config.Vocab)}
				if i%2 == 1 {
					seqs[i].Logits = nil
				}
				pre := gemma3.Seq{State: s, Tokens: []int32{2, 400, 401, 402, 403, 404, 405, 406}[:1+i]}
				if err := b.Forward(ctx, []gemma3.Seq{pre}); err != nil {
					t.Fatal(err)
				}
			}
			if err := b.Forward(ctx, seqs); err != nil {
				t.Fatal(err)
			}
			allocs := testing.AllocsPerRun(20, func() {
				if err := b.Forward(ctx, seqs); err != nil {
					t.Fatal(err)
				}
			})
			// F32 weights on the pool go through internal/gemm's Sgemm,
			// which allocates its packing buffers.
			if (threads == 1 || typ != quant.F32) && allocs != 0 {
				t.Errorf("%v, threads %d: %v allocations per decode step of 8 sequences, want 0", typ, threads, allocs)
			}
			t.Logf("%v, threads %d: %v allocations per decode step of 8 sequences", typ, threads, allocs)
		}
	}
}

// TestBatchHidden checks Seq.Hidden: each row, put through the LM head
// (the tied embedding), gives the logits of the sequence's prefix ending
// at that token run alone with State.Forward, and the last row gives the
// step's own Logits bit for bit (same kernel, same input). A short buffer
// is an error.
func TestBatchHidden(t *testing.T) {
	ctx := context.Background()
	m, err := gemma3.Load(writeTiny(t, quant.F32), gemma3.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	c := m.Config
	H, V := c.Hidden, c.Vocab
	lm := m.Weights.Embed
	if m.Weights.Output != nil {
		lm = m.Weights.Output
	}
	toks := randTokens(rand.New(rand.NewPCG(5, 6)), 7, V)
	b, err := m.NewBatch(gemma3.BatchOptions{MaxRows: 16, MaxSeqs: 2, MaxLen: 64})
	if err != nil {
		t.Fatal(err)
	}
	st := m.NewState(gemma3.StateOptions{MaxLen: 64, Batch: 16, CacheType: gemma3.CacheF32, CacheOnly: true})
	other := m.NewState(gemma3.StateOptions{MaxLen: 64, Batch: 16, CacheType: gemma3.CacheF32, CacheOnly: true})
	if err := b.Forward(ctx, []gemma3.Seq{{State: st, Tokens: toks[:2], Hidden: make([]float32, H)}}); err == nil {
		t.Errorf("Forward with a hidden buffer of %d values for 2 tokens: got no error", H)
	}
	hidden := make([]float32, len(toks)*H)
	logits := make([]float32, V)
	// Another sequence in the same step, so that the rows are not the
	// Batch's first.
	seqs := []gemma3.Seq{{State: other, Tokens: toks[:3]}, {State: st, Tokens: toks, Logits: logits, Hidden: hidden}}
	if err := b.Forward(ctx, seqs); err != nil {
		t.Fatal(err)
	}
	got := make([]float32, V)
	for k := range toks {
		if err := lm.MatMul(ctx, got, hidden[k*H:(k+1)*H], 1, 0); err != nil {
			t.Fatal(err)
		}
		ref := m.NewState(gemma3.StateOptions{MaxLen: 64, CacheType: gemma3.CacheF32})
		want := make([]float32, V)
		if err := ref.Forward(ctx, toks[:k+1], want); err != nil {
			t.Fatal(err)
		}
		if d := maxRelDiff(got, want); d > batchTol(quant.F32) {
			t.Errorf("row %d: LM head of the hidden state differs from the logits of its prefix by %.3g·std", k, d)
		}
		if k == len(toks)-1 {
			for v := range got {
				if got[v] != logits[v] {
					t.Fatalf("last row: LM head of the hidden state [%d] = %v, the step's logits %v", v, got[v], logits[v])
				}
			}
		}
	}
}

// maxRelDiff returns max |a−b| over the standard deviation of b.
func maxRelDiff(a, b []float32) float64 {
	var mean, sq, worst float64
	for _, v := range b {
		mean += float64(v)
	}
	mean /= float64(len(b))
	for i, v := range b {
		sq += (float64(v) - mean) * (float64(v) - mean)
		worst = math.Max(worst, math.Abs(float64(a[i])-float64(v)))
	}
	return worst / math.Sqrt(sq/float64(len(b)))
}
