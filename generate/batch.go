package generate

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zerfoo/zerfoo/internal/workerpool"
	"github.com/zerfoo/zerfoo/models/gemma3"
)

// ErrClosed is wrapped by the error of a Batcher.Run on a closed Batcher.
var ErrClosed = errors.New("generate: batcher closed")

// errStopped ends a sequence whose caller stopped reading (a callback
// error); the caller returns its own error instead.
var errStopped = errors.New("generate: sequence stopped by its caller")

// BatcherOptions tunes NewBatcher.
type BatcherOptions struct {
	// Slots is the number of sequences generated at once (0: 1). A Run
	// beyond them waits for a free slot.
	Slots int
	// Context is the number of positions of all slots together, divided
	// evenly among them, as llama-server's --ctx-size with --parallel
	// (0: the model's context per slot).
	Context int
	// CacheType is the slots' KV cache element type (the zero value:
	// F16).
	CacheType gemma3.CacheType
	// Chunk is the most prompt tokens of one sequence in one step (0:
	// 128): a longer prompt is prefilled over several steps.
	Chunk int
	// StepTokens bounds the tokens of one step, all sequences together
	// (0: Chunk + Slots): decodes first, the rest to prompt chunks, so a
	// long prompt does not stall the others' streams.
	StepTokens int
	// Threads bounds the kernels' parallelism (0: the model's
	// WithThreads, else all workers). Options.Threads is ignored.
	Threads int
	// OnStep, if set, is called after each step with the number of
	// sequences and tokens it ran, on the engine goroutine: it must not
	// block.
	OnStep func(seqs, tokens int)
}

// A Batcher generates for many requests at once with continuous batching:
// one engine goroutine runs a gemma3.Batch step after step over every
// active sequence — one token for each decoding sequence, a prompt chunk
// for sequences still prefilling — so a step reads each weight once
// however many sequences it advances. Sequences join and leave between
// steps.
//
// Each slot keeps the tokens in its KV cache; a new Run takes the free
// slot whose cache shares the longest prefix with its prompt (ties: the
// least recently used; the least recently used slot when no prefix reaches
// a tenth of the prompt), rewinds to it and prefills only the rest (prompt
// cache), so turn k of a chat prefills only its new tokens.
//
// Run is safe for concurrent use. Callbacks run on Run's goroutine, never
// on the engine's: a slow reader delays only its own request.
type Batcher struct {
	m          *Model
	batch      *gemma3.Batch
	slots      []*slot
	logits     []float32 // Slots × Vocab, a row per sequence wanting logits
	chunk      int
	stepTokens int
	slotLen    int
	onStep     func(seqs, tokens int)

	sem     chan struct{} // a place per slot
	wake    chan struct{}
	quit    chan struct{}
	stopped chan struct{}
	close   sync.Once

	mu      sync.Mutex
	pending []*bseq
	closed  bool
	uses    int64

	prefilled, cached atomic.Int64
	lastSeqs          atomic.Int64
	steps             atomic.Int64

	seqs     []gemma3.Seq // engine scratch
	in       []*bseq
	sampling []*bseq

	// hook, if set, runs before each step's Forward (tests).
	hook func([]gemma3.Seq)
}

// slot is one cache. tokens are the ids in st's cache; while busy only the
// sequence's goroutines (Run, then the engine) touch it, else b.mu guards.
type slot struct {
	st     *gemma3.State
	tokens []int32
	busy   bool
	used   int64
}

// reset empties the slot's cache.
func (sl *slot) reset() {
	sl.st.Reset()
	sl.tokens = sl.tokens[:0]
}

// NewBatcher allocates the slots' caches and the batch scratch and starts
// the engine goroutine; Close stops it. Allocations beyond the model's
// budget (WithBudget) fail with an error wrapping budget.ErrExceeded.
func (m *Model) NewBatcher(opt BatcherOptions) (*Batcher, error) {
	if opt.Slots < 0 || opt.Context < 0 || opt.Chunk < 0 || opt.StepTokens < 0 || opt.Threads < 0 {
		return nil, fmt.Errorf("generate: batcher options must be ≥ 0: %w", ErrOptions)
	}
	n := max(opt.Slots, 1)
	slotLen := m.Model.Config.Context
	if opt.Context > 0 {
		slotLen = min(slotLen, opt.Context/n)
	}
	if slotLen < 2 {
		return nil, fmt.Errorf("generate: context %d for %d slots leaves %d positions per slot: %w", opt.Context, n, slotLen, ErrOptions)
	}
	chunk := opt.Chunk
	if chunk == 0 {
		chunk = 128
	}
	chunk = min(chunk, slotLen)
	step := opt.StepTokens
	if step == 0 {
		step = chunk + n
	}
	step = max(step, n+1)
	threads := opt.Threads
	if threads == 0 {
		threads = m.threads
	}
	bt, err := m.Model.NewBatch(gemma3.BatchOptions{MaxRows: step, MaxSeqs: n, MaxLen: slotLen, Threads: threads})
	if err != nil {
		return nil, err
	}
	b := &Batcher{
		m: m, batch: bt, chunk: chunk, stepTokens: step, slotLen: slotLen, onStep: opt.OnStep,
		logits: make([]float32, n*m.Model.Config.Vocab),
		sem:    make(chan struct{}, n), wake: make(chan struct{}, 1),
		quit: make(chan struct{}), stopped: make(chan struct{}),
	}
	for range n {
		st := m.Model.NewState(gemma3.StateOptions{MaxLen: slotLen, Batch: chunk, Threads: threads, CacheType: opt.CacheType, CacheOnly: true})
		if err := st.Err(); err != nil {
			return nil, err
		}
		b.slots = append(b.slots, &slot{st: st})
	}
	go b.loop()
	return b, nil
}

// Close stops the engine: running and waiting Runs fail with an error
// wrapping ErrClosed. It returns once the engine has stopped.
func (b *Batcher) Close() error {
	b.close.Do(func() {
		b.mu.Lock()
		b.closed = true
		b.mu.Unlock()
		close(b.quit)
	})
	<-b.stopped
	return nil
}

// Forget empties the cache of every free slot, so that no later Run
// reuses what earlier ones left (a warm-up run, say).
func (b *Batcher) Forget() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, sl := range b.slots {
		if !sl.busy {
			sl.reset()
		}
	}
}

// SlotLen returns the positions of one slot (the context of each Run).
func (b *Batcher) SlotLen() int { return b.slotLen }

// BatcherStats are a Batcher's counters.
type BatcherStats struct {
	Prefilled int64 // prompt tokens run through the model
	Cached    int64 // prompt tokens taken from the slots' caches
	Steps     int64 // Batch.Forward calls
	LastSeqs  int   // sequences of the last step
	KVBytes   int64 // the slots' KV caches
	Scratch   int64 // the batch's scratch and logits buffers
	// SlotTokens are the tokens held in each slot's cache.
	SlotTokens []int
}

// Stats returns the counters.
func (b *Batcher) Stats() BatcherStats {
	s := BatcherStats{
		Prefilled: b.prefilled.Load(), Cached: b.cached.Load(), Steps: b.steps.Load(),
		LastSeqs: int(b.lastSeqs.Load()), Scratch: b.batch.Bytes(),
	}
	for _, sl := range b.slots {
		s.KVBytes += sl.st.Bytes()
	}
	b.mu.Lock()
	for _, sl := range b.slots {
		n := -1 // busy: changing
		if !sl.busy {
			n = len(sl.tokens)
		}
		s.SlotTokens = append(s.SlotTokens, n)
	}
	b.mu.Unlock()
	return s
}

// event is what the engine hands a Run: a generated token, text, or the
// end.
type event struct {
	id   int32
	tok  *Token
	text string
	kind int8 // evToken, evText, evEnd
	res  Result
	err  error
}

const (
	evToken = iota
	evText
	evEnd
)

// bseq is one Run in the engine.
type bseq struct {
	ctx     context.Context
	slot    *slot
	prompt  []int32
	fed     int // prompt tokens in the cache
	sp      *stepper
	maxLen  int
	tok     [1]int32 // the token to feed while decoding
	decode  bool
	t0      time.Time
	logits  []float32 // this step's row, or nil
	pool    *pooler   // an embedding (Embed): its pooled states; sp is nil
	hidden  []float32 // an embedding's chunk of hidden states
	fin     bool      // the stepper ended the generation
	err     error     // its error
	stopped atomic.Bool

	qmu   sync.Mutex
	q     []event
	ready chan struct{}
}

func (s *bseq) push(e event) {
	s.qmu.Lock()
	s.q = append(s.q, e)
	s.qmu.Unlock()
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

func (s *bseq) token(id int32, t *Token) error {
	s.push(event{kind: evToken, id: id, tok: t})
	return nil
}

func (s *bseq) text(t string) error {
	if t != "" {
		s.push(event{kind: evText, text: t})
	}
	return nil
}

// Run generates after the prompt token ids as RunTokens does, in a slot of
// b: the context is the slot's (Options.MaxLen may shorten it), a prompt
// that fills it is an error wrapping gemma3.ErrContext, and Result
// counts in CachedTokens the prompt tokens taken from the slot's cache.
// Run waits for a free slot; the callbacks run on its goroutine. When ctx
// is cancelled or a callback fails, the sequence leaves at the next step
// and Run returns once its slot is free.
func (b *Batcher) Run(ctx context.Context, prompt []int32, opt Options) (Result, error) {
	if err := opt.validate(); err != nil {
		return Result{}, err
	}
	if err := opt.checkVocab(b.m.Model.Config.Vocab); err != nil {
		return Result{}, err
	}
	if len(prompt) == 0 {
		return Result{}, fmt.Errorf("generate: empty prompt: %w", ErrOptions)
	}
	maxLen := b.slotLen
	if opt.MaxLen > 0 {
		maxLen = min(maxLen, opt.MaxLen)
	}
	if len(prompt) >= maxLen {
		return Result{}, fmt.Errorf("generate: prompt of %d tokens does not fit the context of %d: %w", len(prompt), maxLen, gemma3.ErrContext)
	}
	if opt.MaxTokens > 0 && opt.MaxTokens < maxLen-len(prompt) {
		maxLen = len(prompt) + opt.MaxTokens
	}
	select {
	case b.sem <- struct{}{}:
	case <-ctx.Done():
		return Result{}, ctx.Err()
	case <-b.quit:
		return Result{}, ErrClosed
	}
	s := &bseq{ctx: ctx, prompt: prompt, maxLen: maxLen, t0: time.Now(), ready: make(chan struct{}, 1)}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		<-b.sem
		return Result{}, ErrClosed
	}
	s.slot = b.pick(prompt)
	s.slot.busy = true
	b.mu.Unlock()
	sl := s.slot
	n := commonPrefix(sl.tokens, prompt)
	if err := sl.st.Rewind(n); err != nil {
		sl.st.Reset()
		n = 0
	}
	sl.tokens = sl.tokens[:n]
	s.fed = n
	b.cached.Add(int64(n))
	s.sp = b.m.newStepper(&opt, s, prompt[n:], prompt[:n], maxLen)
	s.sp.res.PromptTokens = len(prompt)
	s.sp.res.CachedTokens = n
	b.mu.Lock()
	if b.closed {
		s.slot.busy = false
		b.mu.Unlock()
		<-b.sem
		return Result{}, ErrClosed
	}
	b.pending = append(b.pending, s)
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
	return s.drain(&opt)
}

// Embed runs the prompt token ids through the model in a slot of b, as
// part of the continuous batch, and returns their final hidden states
// pooled into one vector (see Model.Embed, whose errors it shares; the
// context is the slot's). It waits for a free slot and takes the least
// recently used one; every token is run (the states of cached tokens are
// not kept), and the slot's cache then holds the prompt for a later Run.
// When ctx is cancelled the sequence leaves at the next step.
func (b *Batcher) Embed(ctx context.Context, prompt []int32, pool Pooling) ([]float32, error) {
	if err := b.m.checkEmbed(prompt, b.slotLen, pool); err != nil {
		return nil, err
	}
	select {
	case b.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-b.quit:
		return nil, ErrClosed
	}
	H := b.m.Model.Config.Hidden
	s := &bseq{ctx: ctx, prompt: prompt, maxLen: len(prompt), t0: time.Now(), ready: make(chan struct{}, 1),
		pool: newPooler(pool, len(prompt), H), hidden: make([]float32, min(b.chunk, len(prompt))*H)}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		<-b.sem
		return nil, ErrClosed
	}
	for _, sl := range b.slots {
		if !sl.busy && (s.slot == nil || sl.used < s.slot.used) {
			s.slot = sl
		}
	}
	s.slot.busy = true
	s.slot.reset()
	b.pending = append(b.pending, s)
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
	if _, err := s.drain(&Options{}); err != nil {
		return nil, err
	}
	return s.pool.result(), nil
}

// drain runs the callbacks of s's events until its end.
func (s *bseq) drain(opt *Options) (Result, error) {
	var (
		toks  []int32
		text  strings.Builder
		cbErr error
	)
	for {
		<-s.ready
		s.qmu.Lock()
		q := s.q
		s.q = nil
		s.qmu.Unlock()
		for _, e := range q {
			switch {
			case e.kind == evEnd:
				if cbErr == nil {
					return e.res, e.err
				}
				r := e.res
				r.Tokens, r.Text, r.Finish = toks, text.String(), ""
				return r, cbErr
			case cbErr != nil:
			case e.kind == evToken:
				toks = append(toks, e.id)
				if opt.OnToken != nil {
					cbErr = opt.OnToken(*e.tok)
				}
			case e.kind == evText:
				text.WriteString(e.text)
				if opt.OnText != nil {
					cbErr = opt.OnText(e.text)
				}
			}
			if cbErr != nil {
				s.stopped.Store(true)
			}
		}
	}
}

// pick returns the free slot sharing the longest prefix with prompt, the
// least recently used among equals (b.mu held, a slot free). A prefix
// under a tenth of the prompt (a shared chat template's start) does not
// count, as llama-server's --slot-prompt-similarity: the least recently
// used slot is taken, so that an unrelated request does not evict a long
// conversation's cache while an older one could go.
func (b *Batcher) pick(prompt []int32) *slot {
	var best, lru *slot
	bestN := -1
	for _, sl := range b.slots {
		if sl.busy {
			continue
		}
		if lru == nil || sl.used < lru.used {
			lru = sl
		}
		n := commonPrefix(sl.tokens, prompt)
		if n > bestN || n == bestN && sl.used < best.used {
			best, bestN = sl, n
		}
	}
	if 10*bestN < len(prompt) {
		return lru
	}
	return best
}

// commonPrefix returns the length of the common prefix of a and prompt, at
// most len(prompt) − 1 so that a token runs and gives logits.
func commonPrefix(a, prompt []int32) int {
	n := 0
	for n < len(a) && n < len(prompt)-1 && a[n] == prompt[n] {
		n++
	}
	return n
}

// end frees s's slot, then finishes s with err (nil: its stepper's
// result): in that order, so that a Run made after this one returns sees
// the slot free, with its tokens for the prompt cache.
func (b *Batcher) end(s *bseq, err error) {
	var res Result
	if s.sp != nil {
		res = s.sp.res
	}
	b.mu.Lock()
	b.uses++
	s.slot.busy, s.slot.used = false, b.uses
	b.mu.Unlock()
	<-b.sem
	s.push(event{kind: evEnd, res: res, err: err})
}

// loop is the engine goroutine.
func (b *Batcher) loop() {
	defer close(b.stopped)
	var active []*bseq
	for {
		b.mu.Lock()
		active = append(active, b.pending...)
		b.pending = nil
		b.mu.Unlock()
		select {
		case <-b.quit:
			b.mu.Lock()
			active = append(active, b.pending...)
			b.pending = nil
			b.mu.Unlock()
			for _, s := range active {
				b.end(s, ErrClosed)
			}
			return
		default:
		}
		keep := active[:0]
		for _, s := range active {
			switch {
			case s.stopped.Load():
				b.end(s, errStopped)
			case s.ctx.Err() != nil:
				b.end(s, s.ctx.Err())
			default:
				keep = append(keep, s)
			}
		}
		clear(active[len(keep):])
		active = keep
		if len(active) == 0 {
			select {
			case <-b.wake:
			case <-b.quit:
			}
			continue
		}
		active = b.step(active)
		// Let the goroutines this step readied run now: a Run's
		// goroutine woken by its token (its callbacks write the stream)
		// waits in this goroutine's run queue, and the loop neither
		// blocks nor yields while sequences are active (the pool's
		// caller polls), so without this it ran only when the runtime
		// preempted the loop, every 10 ms: streamed tokens came in
		// bursts, and a turn's first token waited up to that long
		// after its step.
		runtime.Gosched()
	}
}

// step runs one Batch.Forward over active and samples; it returns the
// sequences still running.
func (b *Batcher) step(active []*bseq) []*bseq {
	V := b.m.Model.Config.Vocab
	seqs, in := b.seqs[:0], b.in[:0]
	rows, n := 0, 0
	for _, s := range active {
		if s.decode {
			s.logits = b.logits[n*V : (n+1)*V]
			seqs = append(seqs, gemma3.Seq{State: s.slot.st, Tokens: s.tok[:], Logits: s.logits})
			in = append(in, s)
			rows, n = rows+1, n+1
		}
	}
	for _, s := range active {
		if s.decode || rows >= b.stepTokens {
			continue
		}
		k := min(len(s.prompt)-s.fed, b.chunk, b.stepTokens-rows)
		s.logits = nil
		var hidden []float32
		if s.pool != nil {
			hidden = s.hidden[:k*len(s.pool.out)]
		} else if s.fed+k == len(s.prompt) {
			s.logits = b.logits[n*V : (n+1)*V]
			n++
		}
		seqs = append(seqs, gemma3.Seq{State: s.slot.st, Tokens: s.prompt[s.fed : s.fed+k], Logits: s.logits, Hidden: hidden})
		in = append(in, s)
		rows += k
	}
	b.seqs, b.in = seqs, in
	err := b.forward(seqs)
	b.steps.Add(1)
	b.lastSeqs.Store(int64(len(seqs)))
	if b.onStep != nil {
		b.onStep(len(seqs), rows)
	}
	done := map[*bseq]bool{}
	sample := b.sampling[:0]
	for i, s := range in {
		sl := s.slot
		if err != nil {
			sl.reset()
			if s.sp != nil {
				s.sp.fail(err)
			}
			b.end(s, err)
			done[s] = true
			continue
		}
		sl.tokens = append(sl.tokens, seqs[i].Tokens...)
		if !s.decode {
			s.fed += len(seqs[i].Tokens)
			b.prefilled.Add(int64(len(seqs[i].Tokens)))
		}
		if s.pool != nil {
			s.pool.add(seqs[i].Hidden)
			if s.fed == len(s.prompt) {
				b.end(s, nil)
				done[s] = true
			}
			continue
		}
		if s.logits == nil {
			continue
		}
		if !s.decode {
			s.decode = true
			s.sp.res.Prompt = time.Since(s.t0)
			s.sp.start = time.Now()
		}
		sample = append(sample, s)
	}
	b.sampleAll(sample)
	for _, s := range sample {
		if s.err != nil || s.fin {
			b.end(s, s.err)
			done[s] = true
		}
	}
	clear(sample)
	b.sampling = sample
	clear(seqs)
	clear(in)
	if len(done) == 0 {
		return active
	}
	keep := active[:0]
	for _, s := range active {
		if !done[s] {
			keep = append(keep, s)
		}
	}
	clear(active[len(keep):])
	return keep
}

// sampleAll runs the steppers of seqs on their logits over the worker pool
// (idle between forward steps; each sequence's sampling is its own, so a
// grammar's vocabulary walk in one does not wait for the others'), setting
// each one's tok, fin and err. sample recovers its own panics, so the loop
// returns no error.
func (b *Batcher) sampleAll(seqs []*bseq) {
	_ = workerpool.ForN(context.Background(), len(seqs), 1, 0, func(lo, hi int) {
		for _, s := range seqs[lo:hi] {
			b.sample(s)
		}
	})
}

// sample runs s's stepper on its logits, a panic becoming an error.
func (b *Batcher) sample(s *bseq) {
	defer func() {
		if r := recover(); r != nil {
			s.fin, s.err = true, s.sp.fail(fmt.Errorf("generate: sampling panicked: %v", r))
		}
	}()
	var tok int32
	tok, s.fin, s.err = s.sp.next(s.logits, s.slot.st.Pos(), s.maxLen)
	if !s.fin && s.err == nil {
		s.tok[0] = tok
	}
}

// forward runs one step, a panic becoming an error.
func (b *Batcher) forward(seqs []gemma3.Seq) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("generate: batch step of %d sequences panicked: %v", len(seqs), r)
		}
	}()
	if b.hook != nil {
		b.hook(seqs)
	}
	return b.batch.Forward(context.Background(), seqs)
}
