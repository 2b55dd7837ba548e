package gemma3

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/zerfoo/zerfoo/budget"
)

// ErrBatch is wrapped by the error of a Batch.Forward call whose
// sequences do not fit: more tokens or sequences than the Batch was sized
// for, more tokens for one sequence than its State's Batch, or a State
// longer than the Batch's MaxLen.
var ErrBatch = errors.New("gemma3: batch too large")

// BatchOptions tunes NewBatch.
type BatchOptions struct {
	// MaxRows bounds the tokens of one Forward, all sequences together
	// (0: 512; at most MaxContext). It sizes the scratch buffers.
	MaxRows int
	// MaxSeqs bounds the sequences of one Forward (0: 16, at most
	// MaxRows). It sizes the logits buffer: MaxSeqs × Vocab values.
	MaxSeqs int
	// MaxLen bounds the MaxLen of the States the Batch runs (0 or more
	// than Config.Context: Config.Context). It sizes the attention
	// scratch: 128·MaxLen bytes per worker.
	MaxLen int
	// Threads bounds the parallel chunks of every kernel (0: the whole
	// worker pool).
	Threads int
	// Budget bounds the memory NewBatch allocates (0: the model's budget,
	// as StateOptions.Budget).
	Budget budget.Limit
}

// A Batch runs one forward step over tokens of several sequences at once:
// the rows of all of them are stacked into one matrix for every weight
// product (Q|K|V, O, Gate|Up, Down, and the LM head over the rows that
// want logits), so a step reads each weight once however many sequences
// it advances. Each row keeps its own position (RoPE), writes its keys and
// values into its own State's cache and attends to that cache only: the
// sequence's earlier positions and its own earlier rows of the step
// (causal), the last Window of them on local layers.
//
// A Batch owns scratch buffers for MaxRows rows, reused by every Forward,
// so that a step allocates nothing; the States bring only their KV caches
// (see StateOptions.CacheOnly). A Batch is not safe for concurrent use,
// and a State must not be used elsewhere while a Batch runs it.
type Batch struct {
	m       *Model
	run     *runner
	maxSeqs int
	maxLen  int
	threads int
	toks    []int32   // MaxRows token ids of the step
	last    []float32 // MaxSeqs final-normed rows, for the LM head
	logits  []float32 // MaxSeqs × Vocab
	bytes   int64
}

// Seq is one sequence's part of a Batch step.
type Seq struct {
	// State is the sequence: its KV cache and position. Its own scratch
	// buffers, if any, are not used.
	State *State
	// Tokens are appended to the sequence at positions State.Pos()…: one
	// for a decoding sequence, a chunk of its prompt for one prefilling.
	// At most State.Batch() of them.
	Tokens []int32
	// Logits, if not nil, receives the Vocab logits of the sequence's last
	// token of the step. When the Logits of the sequences that want them
	// are consecutive Vocab-sized rows of one array, in order (rows of one
	// MaxSeqs × Vocab slice), the LM head writes them in place; otherwise
	// they are copied from the Batch's own buffer.
	Logits []float32
	// Hidden, if not nil, receives the final-normed hidden state of each
	// of the step's Tokens (the input of the LM head; what embeddings
	// pool): len(Tokens) rows of Config.Hidden values.
	Hidden []float32
}

// NewBatch allocates a Batch for m. If its buffers would exceed the budget
// (BatchOptions.Budget) it allocates nothing and returns an error wrapping
// budget.ErrExceeded; an invalid m.Config gives ErrConfig.
func (m *Model) NewBatch(opt BatchOptions) (*Batch, error) {
	c := &m.Config
	if err := c.Validate(); err != nil {
		return nil, err
	}
	rows, seqs, maxLen := opt.MaxRows, opt.MaxSeqs, opt.MaxLen
	if rows <= 0 {
		rows = 512
	}
	if seqs <= 0 {
		seqs = 16
	}
	seqs = min(seqs, rows)
	if maxLen <= 0 || maxLen > c.Context {
		maxLen = c.Context
	}
	lim := opt.Budget
	if lim == 0 {
		lim = m.budget
	}
	lim = budget.Limit(min(lim.Bytes(), math.MaxInt))
	if rows > MaxContext {
		return nil, fmt.Errorf("gemma3: MaxRows %d is more than %d: %w", rows, MaxContext, ErrBatch)
	}
	size := 4 * (runnerFloats(c, rows, maxLen) + int64(rows) + int64(seqs)*int64(c.Hidden+c.Vocab))
	if err := lim.Check(fmt.Sprintf("batch scratch buffers of %d rows and logits of %d sequences", rows, seqs), size); err != nil {
		return nil, fmt.Errorf("gemma3: %w", err)
	}
	return &Batch{
		m: m, run: newRunner(m, rows, maxLen, opt.Threads),
		maxSeqs: seqs, maxLen: maxLen, threads: opt.Threads,
		toks: make([]int32, rows), last: make([]float32, seqs*c.Hidden), logits: make([]float32, seqs*c.Vocab),
		bytes: size,
	}, nil
}

// MaxRows returns the most tokens one Forward takes, all sequences
// together.
func (b *Batch) MaxRows() int { return b.run.maxRows }

// MaxSeqs returns the most sequences one Forward takes.
func (b *Batch) MaxSeqs() int { return b.maxSeqs }

// Bytes returns the memory the Batch holds (its scratch and logits
// buffers).
func (b *Batch) Bytes() int64 { return b.bytes }

// Forward appends each sequence's Tokens to its State in one forward step
// and writes the logits of the sequences that ask for them; each State's
// position then advances by its tokens. An empty seqs does nothing.
//
// Before anything runs, Forward checks every sequence and returns an error
// naming the first bad one: a nil or failed State (its Err), a State of
// another Model, no tokens, a token outside the vocabulary (ErrToken),
// tokens past the State's MaxLen (ErrContext), more tokens than the
// State's Batch, a State longer than the Batch's MaxLen, more than MaxRows
// tokens or MaxSeqs sequences in all (ErrBatch), a short Logits or Hidden
// buffer, or a State given twice. Nothing has changed then. If the step itself fails
// (ctx cancelled, a kernel panic), no position moves, but the caches
// beyond the positions may have been written (see State.Rewind).
func (b *Batch) Forward(ctx context.Context, seqs []Seq) error {
	if len(seqs) == 0 {
		return nil
	}
	if len(seqs) > b.maxSeqs {
		return fmt.Errorf("gemma3: %d sequences in one Batch.Forward, more than MaxSeqs %d: %w", len(seqs), b.maxSeqs, ErrBatch)
	}
	rows := 0
	for i := range seqs {
		if err := b.check(seqs, i); err != nil {
			return err
		}
		rows += len(seqs[i].Tokens)
	}
	r := b.run
	if rows > r.maxRows {
		return fmt.Errorf("gemma3: %d tokens in one Batch.Forward, more than MaxRows %d: %w", rows, r.maxRows, ErrBatch)
	}
	t := 0
	for i := range seqs {
		s := seqs[i].State
		for k, tok := range seqs[i].Tokens {
			b.toks[t], r.seq[t], r.pos[t] = tok, s, s.pos+k
			t++
		}
		s.written = max(s.written, s.pos+len(seqs[i].Tokens))
	}
	err := r.step(ctx, b.toks[:rows])
	if err == nil {
		b.hidden(seqs)
		err = b.lmHead(ctx, seqs)
	}
	clear(r.seq[:rows]) // hold no State past the step
	if err != nil {
		return err
	}
	for i := range seqs {
		seqs[i].State.pos += len(seqs[i].Tokens)
	}
	return nil
}

// check returns the error of sequence i of seqs, if any (see Forward).
func (b *Batch) check(seqs []Seq, i int) error {
	c := &b.m.Config
	sq := &seqs[i]
	s, n := sq.State, len(sq.Tokens)
	switch {
	case s == nil:
		return fmt.Errorf("gemma3: sequence %d has no State", i)
	case s.err != nil:
		return fmt.Errorf("gemma3: sequence %d: %w", i, s.err)
	case s.m != b.m:
		return fmt.Errorf("gemma3: sequence %d: its State belongs to another Model", i)
	case n == 0:
		return fmt.Errorf("gemma3: sequence %d has no tokens", i)
	case s.pos+n > s.maxLen:
		return fmt.Errorf("gemma3: sequence %d: %d tokens after %d cached exceed the maximum length %d: %w",
			i, n, s.pos, s.maxLen, ErrContext)
	case n > s.batch:
		return fmt.Errorf("gemma3: sequence %d: %d tokens in one step, more than its State's Batch %d: %w", i, n, s.batch, ErrBatch)
	case s.maxLen > b.maxLen:
		return fmt.Errorf("gemma3: sequence %d: its State's MaxLen %d exceeds the Batch's MaxLen %d: %w", i, s.maxLen, b.maxLen, ErrBatch)
	case sq.Logits != nil && len(sq.Logits) < c.Vocab:
		return fmt.Errorf("gemma3: sequence %d: logits buffer has %d values, vocabulary %d", i, len(sq.Logits), c.Vocab)
	case sq.Hidden != nil && len(sq.Hidden) < n*c.Hidden:
		return fmt.Errorf("gemma3: sequence %d: hidden-state buffer has %d values, %d tokens need %d", i, len(sq.Hidden), n, n*c.Hidden)
	}
	for k, t := range sq.Tokens {
		if t < 0 || int(t) >= c.Vocab {
			return fmt.Errorf("gemma3: sequence %d: token %d at index %d is outside the vocabulary [0, %d): %w", i, t, k, c.Vocab, ErrToken)
		}
	}
	for j := 0; j < i; j++ {
		if seqs[j].State == s {
			return fmt.Errorf("gemma3: sequences %d and %d have the same State", j, i)
		}
	}
	return nil
}

// hidden writes the final-normed hidden states of the sequences that want
// them.
func (b *Batch) hidden(seqs []Seq) {
	c := &b.m.Config
	H := c.Hidden
	x := b.run.x
	row := 0
	for i := range seqs {
		n := len(seqs[i].Tokens)
		if h := seqs[i].Hidden; h != nil {
			for k := 0; k < n; k++ {
				rmsNorm(h[k*H:(k+1)*H], x[(row+k)*H:(row+k+1)*H], b.m.Weights.Norm, c.Eps)
			}
		}
		row += n
	}
}

// lmHead writes the logits of the sequences that want them: their last
// rows, final-normed, go through the LM head as one product.
func (b *Batch) lmHead(ctx context.Context, seqs []Seq) error {
	c := &b.m.Config
	H, V := c.Hidden, c.Vocab
	x := b.run.x
	n, row, one := 0, 0, -1
	for i := range seqs {
		row += len(seqs[i].Tokens)
		if seqs[i].Logits == nil {
			continue
		}
		rmsNorm(b.last[n*H:(n+1)*H], x[(row-1)*H:row*H], b.m.Weights.Norm, c.Eps)
		n, one = n+1, i
	}
	switch n {
	case 0:
		return nil
	case 1:
		return b.m.logits(ctx, seqs[one].Logits, b.last[:H], 1, b.threads)
	}
	if out := rows(seqs, n, V); out != nil {
		return b.m.logits(ctx, out, b.last[:n*H], n, b.threads)
	}
	if err := b.m.logits(ctx, b.logits[:n*V], b.last[:n*H], n, b.threads); err != nil {
		return err
	}
	n = 0
	for i := range seqs {
		if seqs[i].Logits != nil {
			copy(seqs[i].Logits[:V], b.logits[n*V:(n+1)*V])
			n++
		}
	}
	return nil
}

// rows returns the n·V values behind the Logits of the n sequences that
// want them if those are consecutive rows of V values of one array, in
// order (so the LM head can write them in place), or nil.
func rows(seqs []Seq, n, V int) []float32 {
	var all []float32
	k := 0
	for i := range seqs {
		l := seqs[i].Logits
		if l == nil {
			continue
		}
		if k == 0 {
			if all = l[:cap(l)]; len(all) < n*V {
				return nil
			}
		} else if &all[k*V] != &l[0] {
			return nil
		}
		k++
	}
	return all[:n*V]
}
