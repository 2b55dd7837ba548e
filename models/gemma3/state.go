package gemma3

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/zerfoo/zerfoo/budget"
)

// ErrContext is wrapped by the error of a Forward call that would run past
// the State's maximum length.
var ErrContext = errors.New("gemma3: context length exceeded")

// ErrToken is wrapped by the error for a token id outside the vocabulary.
var ErrToken = errors.New("gemma3: token out of range")

// StateOptions tunes NewState.
type StateOptions struct {
	// MaxLen bounds the positions the State holds (prompt plus generated
	// tokens); 0 or more than Config.Context means Config.Context.
	MaxLen int
	// Batch is the most prompt tokens one prefill step runs through the
	// GEMM kernels at once (0: 128), and the most tokens one Batch.Forward
	// may append to the State. It sizes the scratch buffers and the local
	// layers' rings (Window + Batch − 1 positions), and bounds how far
	// Rewind can go back (see Rewind).
	Batch int
	// Threads bounds the parallel chunks of every kernel (0: the whole
	// worker pool).
	Threads int
	// Budget bounds the memory NewState allocates: the KV cache and the
	// scratch buffers. 0 means the model's budget (LoadOptions.Budget,
	// itself budget.Default() when 0).
	Budget budget.Limit
	// CacheType is the element type of the KV cache: CacheF16 (the zero
	// value, as llama.cpp's default), CacheF32 or CacheQ8_0.
	CacheType CacheType
	// CacheOnly allocates only the KV cache, for a State that runs in a
	// Batch (which brings its own scratch buffers): a server's slots then
	// do not each hold a prompt batch's scratch. Forward still works; its
	// first call allocates the scratch buffers (checked against the budget
	// then).
	CacheOnly bool
}

// State is one sequence being decoded: its KV cache, its position and,
// unless CacheOnly, the scratch buffers of its own forward pass, all
// allocated up front so that decoding allocates nothing per token. A
// State is not safe for concurrent use (nor is a Batch running it).
type State struct {
	m       *Model
	pos     int
	maxLen  int
	batch   int
	threads int
	ctype   CacheType
	// written is one past the highest position whose keys and values
	// were written since the last Reset, failed and rewound steps
	// included: Rewind checks the rings against it.
	written int

	// kv[l] holds caps[l] slots of KVDim keys and values; position p
	// lives in slot p % caps[l]. Global layers hold maxLen slots, local
	// layers a ring of Window + Batch − 1 (enough for a whole batch).
	kv   []kvCache
	caps []int

	run  *runner   // own Forward's scratch (nil until needed with CacheOnly)
	last []float32 // the final-normed last row, for the LM head
	lim  budget.Limit

	err error // why NewState allocated nothing (see Err)
}

// NewState allocates a sequence for m: a KV cache of MaxLen positions
// (local layers: a ring of Window + Batch − 1) in the CacheType and,
// unless CacheOnly, the scratch buffers of a Batch-row step.
//
// If those would exceed the budget (StateOptions.Budget), or m.Config is
// no longer valid, or the CacheType cannot hold the model's heads,
// NewState allocates nothing and returns a State whose Err and Forward
// report why: an error wrapping budget.ErrExceeded that names the KV cache
// and its size, or ErrConfig. A smaller MaxLen needs less memory.
func (m *Model) NewState(opt StateOptions) *State {
	c := &m.Config
	s := &State{m: m, maxLen: opt.MaxLen, batch: opt.Batch, threads: opt.Threads, ctype: opt.CacheType}
	if err := c.Validate(); err != nil {
		s.err = err
		return s
	}
	if err := s.ctype.check(c.HeadDim); err != nil {
		s.err = err
		return s
	}
	if s.maxLen <= 0 || s.maxLen > c.Context {
		s.maxLen = c.Context
	}
	if s.batch <= 0 {
		s.batch = 128
	}
	s.batch = min(s.batch, s.maxLen)
	KV := c.KVDim()
	// Validate bounds every factor (positions ≤ 2²⁰, KV ≤ 2²⁰, ≤ 2¹⁰
	// layers…), so these int64 sums cannot overflow; int may be 32 bits.
	maxCap := 0
	for l := 0; l < c.Layers; l++ {
		cp := s.maxLen
		if !c.Global(l) {
			cp = min(cp, c.Window+s.batch-1)
		}
		maxCap = max(maxCap, cp)
		s.caps = append(s.caps, cp)
	}
	var size int64
	for _, cp := range s.caps {
		size += 2 * int64(cp) * s.ctype.rowBytes(int64(KV))
	}
	what := "KV cache of %d positions × %d layers × %d values (K and V)"
	if !opt.CacheOnly {
		size += 4 * (runnerFloats(c, s.batch, maxCap) + int64(c.Hidden))
		what += " and scratch buffers"
	}
	s.lim = opt.Budget
	if s.lim == 0 {
		s.lim = m.budget
	}
	s.lim = budget.Limit(min(s.lim.Bytes(), math.MaxInt)) // a 32-bit address space holds less
	if err := s.lim.Check(fmt.Sprintf(what, s.maxLen, c.Layers, KV), size); err != nil {
		s.caps, s.err = nil, fmt.Errorf("gemma3: %w", err)
		return s
	}
	for _, cp := range s.caps {
		s.kv = append(s.kv, newKVCache(s.ctype, cp, KV))
	}
	if !opt.CacheOnly {
		s.run, s.last = newRunner(m, s.batch, maxCap, s.threads), make([]float32, c.Hidden)
	}
	return s
}

// scratch allocates the scratch buffers of s's own Forward if it has none
// (a CacheOnly State), within its budget.
func (s *State) scratch() error {
	if s.run != nil {
		return nil
	}
	c := &s.m.Config
	maxCap := 0
	for _, cp := range s.caps {
		maxCap = max(maxCap, cp)
	}
	if err := s.lim.Check(fmt.Sprintf("scratch buffers of a %d-row step", s.batch),
		4*(runnerFloats(c, s.batch, maxCap)+int64(c.Hidden))); err != nil {
		return fmt.Errorf("gemma3: %w", err)
	}
	s.run, s.last = newRunner(s.m, s.batch, maxCap, s.threads), make([]float32, c.Hidden)
	return nil
}

// Err returns the reason NewState allocated nothing (see NewState), or
// nil for a usable State.
func (s *State) Err() error { return s.err }

// Pos returns the number of positions already in the cache.
func (s *State) Pos() int { return s.pos }

// MaxLen returns the most positions the State can hold.
func (s *State) MaxLen() int { return s.maxLen }

// Batch returns the most tokens one Batch.Forward may append to the State
// (StateOptions.Batch, at most MaxLen).
func (s *State) Batch() int { return s.batch }

// CacheType returns the element type of the KV cache.
func (s *State) CacheType() CacheType { return s.ctype }

// Bytes returns the memory the State holds: its KV cache and, once
// allocated, its own scratch buffers.
func (s *State) Bytes() int64 {
	var n int64
	for i := range s.kv {
		n += 2 * int64(s.caps[i]) * int64(s.kv[i].rowBytes)
	}
	if s.run != nil {
		maxCap := 0
		for _, cp := range s.caps {
			maxCap = max(maxCap, cp)
		}
		n += 4 * (runnerFloats(&s.m.Config, s.batch, maxCap) + int64(len(s.last)))
	}
	return n
}

// Reset empties the cache; the next Forward starts at position 0.
func (s *State) Reset() { s.pos, s.written = 0, 0 }

// Rewind drops the last positions so that Pos() == pos, keeping the cached
// prefix of pos tokens for reuse. Global layers keep every position, but a
// local layer's ring of R = Window + Batch − 1 slots (when R < MaxLen)
// holds only the last R positions written. Let hw be one past the highest
// position written since the last Reset (Pos(), unless an earlier Rewind
// or a failed Forward went back). Rewind(pos) fails, wrapping ErrContext,
// exactly when hw > R and pos < hw − Batch: the ring has wrapped and no
// longer holds the Window positions before pos. So a State can always drop
// up to Batch of its last tokens, and any number while it has held at most
// R positions.
func (s *State) Rewind(pos int) error {
	if pos < 0 || pos > s.pos {
		return fmt.Errorf("gemma3: rewind to %d outside [0, %d]", pos, s.pos)
	}
	for l, cp := range s.caps {
		if cp < s.maxLen && s.written-cp > max(0, pos-s.m.Config.Window+1) {
			return fmt.Errorf("gemma3: rewind to %d: layer %d no longer holds the window: %w", pos, l, ErrContext)
		}
	}
	s.pos = pos
	return nil
}

// Forward appends tokens to the sequence and, if logits is not nil, writes
// the Vocab logits of the last position into it. Prompts run in batches
// through the GEMM kernels; a single token is one decode step. On error
// the position does not move (the cache past it may have been written).
func (s *State) Forward(ctx context.Context, tokens []int32, logits []float32) error {
	c := &s.m.Config
	if s.err != nil {
		return s.err
	}
	if len(tokens) == 0 {
		return fmt.Errorf("gemma3: Forward with no tokens")
	}
	if s.pos+len(tokens) > s.maxLen {
		return fmt.Errorf("gemma3: %d tokens after %d cached exceed the maximum length %d: %w",
			len(tokens), s.pos, s.maxLen, ErrContext)
	}
	if logits != nil && len(logits) < c.Vocab {
		return fmt.Errorf("gemma3: logits buffer has %d values, vocabulary %d", len(logits), c.Vocab)
	}
	for i, t := range tokens {
		if t < 0 || int(t) >= c.Vocab {
			return fmt.Errorf("gemma3: token %d at index %d is outside the vocabulary [0, %d): %w", t, i, c.Vocab, ErrToken)
		}
	}
	if err := s.scratch(); err != nil {
		return err
	}
	r := s.run
	start := s.pos
	for i := 0; i < len(tokens); i += s.batch {
		n := min(s.batch, len(tokens)-i)
		for t := 0; t < n; t++ {
			r.seq[t], r.pos[t] = s, s.pos+t
		}
		s.written = max(s.written, s.pos+n)
		err := r.step(ctx, tokens[i:i+n])
		clear(r.seq[:n]) // hold no State past the step
		if err != nil {
			s.pos = start
			return err
		}
		s.pos += n
	}
	if logits == nil {
		return nil
	}
	n := (len(tokens)-1)%s.batch + 1 // rows of the last batch
	H := c.Hidden
	rmsNorm(s.last, r.x[(n-1)*H:n*H], s.m.Weights.Norm, c.Eps)
	if err := s.m.logits(ctx, logits, s.last, 1, s.threads); err != nil {
		s.pos = start
		return err
	}
	return nil
}
