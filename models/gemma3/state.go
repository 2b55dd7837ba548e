package gemma3

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/zerfoo/zerfoo/budget"
	"github.com/zerfoo/zerfoo/internal/workerpool"
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
	// GEMM kernels at once (0: 128). It sizes the scratch buffers.
	Batch int
	// Threads bounds the parallel chunks of every kernel (0: the whole
	// worker pool).
	Threads int
	// Budget bounds the memory NewState allocates: the KV cache and the
	// scratch buffers. 0 means the model's budget (LoadOptions.Budget,
	// itself budget.Default() when 0).
	Budget budget.Limit
}

// State is one sequence being decoded: its KV cache, its position and the
// scratch buffers of the forward pass, all allocated by NewState so that
// decoding allocates nothing per token. A State is not safe for concurrent
// use.
type State struct {
	m       *Model
	pos     int
	maxLen  int
	batch   int
	threads int

	// keys[l], vals[l]: caps[l] slots of KVDim values; position p lives in
	// slot p % caps[l]. Global layers hold maxLen slots, local layers a
	// ring of Window + Batch − 1 (enough for a whole prefill batch).
	keys, vals [][]float32
	caps       []int

	x, a, q, k, v, att, o, gu, g []float32
	qkv                          []float32 // output of stacked Q|K|V (nil if no layer has one)
	cosL, sinL, cosG, sinG       []float32
	last                         []float32
	scores                       chan []float32

	// arguments of the attention loop, set before each call
	cur struct {
		layer, rows, p0 int
		global          bool
		perJob          int // query heads per attention job (≤ 4)
		lw              *Layer
		op              int
		gStride, uBase  int // gate row t at gu[t·gStride], up row at gu[uBase+t·gStride]
	}
	rowFn  func(lo, hi int)
	attnFn func(lo, hi int)

	err error // why NewState allocated nothing (see Err)
}

// NewState allocates a sequence for m: a KV cache of MaxLen positions
// (local layers: a ring of Window + Batch − 1) and the scratch buffers of
// a Batch-row step.
//
// If those would exceed the budget (StateOptions.Budget), or m.Config is
// no longer valid, NewState allocates nothing and returns a State whose
// Err and Forward report why: an error wrapping budget.ErrExceeded that
// names the KV cache and its size, or ErrConfig. A smaller MaxLen needs
// less memory.
func (m *Model) NewState(opt StateOptions) *State {
	c := &m.Config
	s := &State{m: m, maxLen: opt.MaxLen, batch: opt.Batch, threads: opt.Threads}
	if err := c.Validate(); err != nil {
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
	H, Q, KV, B, hd2 := c.Hidden, c.QDim(), c.KVDim(), s.batch, c.HeadDim/2
	// Validate bounds every factor (positions ≤ 2²⁰, KV ≤ 2²⁰, ≤ 2¹⁰
	// layers…), so these int64 sums cannot overflow; int may be 32 bits.
	maxCap := 0
	for l := 0; l < c.Layers; l++ {
		cp := s.maxLen
		if !c.Global(l) {
			cp = min(cp, c.Window+B-1)
		}
		maxCap = max(maxCap, cp)
		s.caps = append(s.caps, cp)
	}
	nw := workerpool.Workers() + 1
	var cache, scratch int64
	for _, cp := range s.caps {
		cache += 2 * int64(cp) * int64(KV)
	}
	scratch = int64(B)*int64(3*H+2*Q+2*KV+3*c.FFN+Q+2*KV+4*hd2) + int64(H) +
		int64(nw)*int64(4*maxCap+4*c.HeadDim)
	lim := opt.Budget
	if lim == 0 {
		lim = m.budget
	}
	lim = budget.Limit(min(lim.Bytes(), math.MaxInt)) // a 32-bit address space holds less
	if err := lim.Check(fmt.Sprintf("KV cache of %d positions × %d layers × %d values (K and V) and scratch buffers",
		s.maxLen, c.Layers, KV), 4*(cache+scratch)); err != nil {
		s.caps, s.err = nil, fmt.Errorf("gemma3: %w", err)
		return s
	}
	for _, cp := range s.caps {
		s.keys = append(s.keys, make([]float32, cp*KV))
		s.vals = append(s.vals, make([]float32, cp*KV))
	}
	s.x, s.a, s.o = make([]float32, B*H), make([]float32, B*H), make([]float32, B*H)
	s.q, s.att = make([]float32, B*Q), make([]float32, B*Q)
	s.k, s.v = make([]float32, B*KV), make([]float32, B*KV)
	s.gu, s.g = make([]float32, 2*B*c.FFN), make([]float32, B*c.FFN)
	for l := range m.Weights.Layers {
		if m.Weights.Layers[l].qkv != nil {
			s.qkv = make([]float32, B*(Q+2*KV))
			break
		}
	}
	s.cosL, s.sinL = make([]float32, B*hd2), make([]float32, B*hd2)
	s.cosG, s.sinG = make([]float32, B*hd2), make([]float32, B*hd2)
	s.last = make([]float32, H)
	s.scores = make(chan []float32, nw)
	for i := 0; i < nw; i++ {
		s.scores <- make([]float32, 4*maxCap+4*c.HeadDim)
	}
	s.attnFn, s.rowFn = s.attention, s.runRows
	return s
}

// Err returns the reason NewState allocated nothing (see NewState), or
// nil for a usable State.
func (s *State) Err() error { return s.err }

// Pos returns the number of positions already in the cache.
func (s *State) Pos() int { return s.pos }

// MaxLen returns the most positions the State can hold.
func (s *State) MaxLen() int { return s.maxLen }

// Reset empties the cache; the next Forward starts at position 0.
func (s *State) Reset() { s.pos = 0 }

// Rewind drops the last positions so that Pos() == pos. Only positions
// still in every local ring can be kept: it fails if tokens after pos
// overwrote slots a local layer still needs.
func (s *State) Rewind(pos int) error {
	if pos < 0 || pos > s.pos {
		return fmt.Errorf("gemma3: rewind to %d outside [0, %d]", pos, s.pos)
	}
	for l, cp := range s.caps {
		if cp < s.maxLen && s.pos-cp > max(0, pos-s.m.Config.Window+1) {
			return fmt.Errorf("gemma3: rewind to %d: layer %d no longer holds the window: %w", pos, l, ErrContext)
		}
	}
	s.pos = pos
	return nil
}

// Forward appends tokens to the sequence and, if logits is not nil, writes
// the Vocab logits of the last position into it. Prompts run in batches
// through the GEMM kernels; a single token is one decode step.
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
	start := s.pos
	for i := 0; i < len(tokens); i += s.batch {
		n := min(s.batch, len(tokens)-i)
		if err := s.step(ctx, tokens[i:i+n]); err != nil {
			s.pos = start
			return err
		}
	}
	if logits == nil {
		return nil
	}
	n := (len(tokens)-1)%s.batch + 1 // rows of the last batch
	H := c.Hidden
	rmsNorm(s.last, s.x[(n-1)*H:n*H], s.m.Weights.Norm, c.Eps)
	return s.m.lmHead().MatMul(ctx, logits, s.last, 1, s.threads)
}

// step runs one batch of tokens at positions s.pos… through every layer,
// leaving the final hidden states in s.x.
func (s *State) step(ctx context.Context, toks []int32) error {
	m, c := s.m, &s.m.Config
	T, H, Q, KV, hd := len(toks), c.Hidden, c.QDim(), c.KVDim(), c.HeadDim
	hd2 := hd / 2
	w := m.Weights
	for t, tok := range toks {
		row := s.x[t*H : (t+1)*H]
		w.Embed.Row(int(tok), row)
		for i := range row {
			row[i] *= c.EmbedScale
		}
		p := s.pos + t
		m.local.table(s.cosL[t*hd2:(t+1)*hd2], s.sinL[t*hd2:(t+1)*hd2], p)
		m.global.table(s.cosG[t*hd2:(t+1)*hd2], s.sinG[t*hd2:(t+1)*hd2], p)
	}
	o := s.o[:T*H]
	s.cur.rows, s.cur.p0 = T, s.pos
	for l := range w.Layers {
		lw := &w.Layers[l]
		s.cur.layer, s.cur.global, s.cur.lw = l, c.Global(l), lw
		if err := s.forRows(ctx, opAttnNorm); err != nil {
			return err
		}
		if err := s.projectQKV(ctx, lw, s.q[:T*Q], s.k[:T*KV], s.v[:T*KV], s.a[:T*H], T); err != nil {
			return err
		}
		if err := s.forRows(ctx, opQK); err != nil {
			return err
		}
		if jobs := s.attentionJobs(T); T < rowsPerPart {
			if err := workerpool.ForN(ctx, jobs, 1, s.threads, s.attnFn); err != nil {
				return err
			}
		} else if err := pieces(ctx, jobs, 8, s.threads, s.attnFn); err != nil {
			return err
		}
		if err := lw.O.MatMul(ctx, o, s.att[:T*Q], T, s.threads); err != nil {
			return err
		}
		if err := s.forRows(ctx, opMid); err != nil {
			return err
		}
		if err := s.gatedFFN(ctx, lw, T); err != nil {
			return err
		}
		if err := lw.Down.MatMul(ctx, o, s.g[:T*c.FFN], T, s.threads); err != nil {
			return err
		}
		if err := s.forRows(ctx, opOut); err != nil {
			return err
		}
	}
	s.pos += T
	return nil
}

// Row-wise steps of a layer, run by rowOp over query rows.
const (
	opAttnNorm = iota // a = RMSNorm(x)·AttnNorm
	opQK              // per-head q/k norms, RoPE, q scale; k, v into the cache
	opMid             // x += RMSNorm(o)·PostAttnNorm; a = RMSNorm(x)·FFNNorm
	opGeglu           // g = gelu(gate)·up
	opOut             // x += RMSNorm(o)·PostFFNNorm
)

// forRows runs rowOp(op) over the s.cur.rows query rows, in parallel for
// prompt batches (decode steps run inline and allocate nothing).
func (s *State) forRows(ctx context.Context, op int) error {
	T := s.cur.rows
	if T < rowsPerPart || s.threads == 1 {
		s.rowOp(op, 0, T)
		return ctx.Err()
	}
	s.cur.op = op
	return pieces(ctx, T, 8, s.threads, s.rowFn)
}

// runRows is forRows's parallel body.
func (s *State) runRows(lo, hi int) { s.rowOp(s.cur.op, lo, hi) }

// rowOp runs step op of layer s.cur.lw on query rows [lo, hi).
func (s *State) rowOp(op, lo, hi int) {
	c := &s.m.Config
	lw := s.cur.lw
	H, Q, KV, hd, F := c.Hidden, c.QDim(), c.KVDim(), c.HeadDim, c.FFN
	hd2 := hd / 2
	for t := lo; t < hi; t++ {
		xt, at, ot := s.x[t*H:(t+1)*H], s.a[t*H:(t+1)*H], s.o[t*H:(t+1)*H]
		switch op {
		case opAttnNorm:
			rmsNorm(at, xt, lw.AttnNorm, c.Eps)
		case opQK:
			cs, sn := s.cosL, s.sinL
			if s.cur.global {
				cs, sn = s.cosG, s.sinG
			}
			ct, st := cs[t*hd2:(t+1)*hd2], sn[t*hd2:(t+1)*hd2]
			for h := 0; h < c.Heads; h++ {
				qh := s.q[t*Q+h*hd : t*Q+(h+1)*hd]
				rmsNorm(qh, qh, lw.QNorm, c.Eps)
				applyRope(qh, ct, st)
				for i := range qh {
					qh[i] *= c.QueryScale
				}
			}
			l := s.cur.layer
			slot := (s.cur.p0 + t) % s.caps[l]
			kt := s.k[t*KV : (t+1)*KV]
			for h := 0; h < c.KVHeads; h++ {
				kh := kt[h*hd : (h+1)*hd]
				rmsNorm(kh, kh, lw.KNorm, c.Eps)
				applyRope(kh, ct, st)
			}
			copy(s.keys[l][slot*KV:(slot+1)*KV], kt)
			copy(s.vals[l][slot*KV:(slot+1)*KV], s.v[t*KV:(t+1)*KV])
		case opMid:
			rmsNorm(ot, ot, lw.PostAttnNorm, c.Eps)
			for i, v := range ot {
				xt[i] += v
			}
			rmsNorm(at, xt, lw.FFNNorm, c.Eps)
		case opGeglu:
			g := s.gu[t*s.cur.gStride:]
			u := s.gu[s.cur.uBase+t*s.cur.gStride:]
			geglu(s.g[t*F:(t+1)*F], g[:F], u[:F])
		case opOut:
			rmsNorm(ot, ot, lw.PostFFNNorm, c.Eps)
			for i, v := range ot {
				xt[i] += v
			}
		}
	}
}

// projectQKV computes the T rows of q, k and v from the normed input a,
// with the stacked matrix when the layer has one.
func (s *State) projectQKV(ctx context.Context, lw *Layer, q, k, v, a []float32, T int) error {
	if lw.qkv == nil {
		if err := lw.Q.MatMul(ctx, q, a, T, s.threads); err != nil {
			return err
		}
		if err := lw.K.MatMul(ctx, k, a, T, s.threads); err != nil {
			return err
		}
		return lw.V.MatMul(ctx, v, a, T, s.threads)
	}
	Q, KV := s.m.Config.QDim(), s.m.Config.KVDim()
	W := Q + 2*KV
	out := s.qkv[:T*W]
	if err := lw.qkv.MatMul(ctx, out, a, T, s.threads); err != nil {
		return err
	}
	for t := 0; t < T; t++ {
		row := out[t*W : (t+1)*W]
		copy(q[t*Q:(t+1)*Q], row[:Q])
		copy(k[t*KV:(t+1)*KV], row[Q:Q+KV])
		copy(v[t*KV:(t+1)*KV], row[Q+KV:])
	}
	return nil
}

// gatedFFN sets the T rows of s.g to gelu(a·Gateᵀ)·(a·Upᵀ), with the
// stacked matrix when the layer has one.
func (s *State) gatedFFN(ctx context.Context, lw *Layer, T int) error {
	F := s.m.Config.FFN
	a := s.a[:T*s.m.Config.Hidden]
	if lw.gateUp == nil {
		s.cur.gStride, s.cur.uBase = F, s.batch*F
		if err := lw.Gate.MatMul(ctx, s.gu[:T*F], a, T, s.threads); err != nil {
			return err
		}
		if err := lw.Up.MatMul(ctx, s.gu[s.batch*F:s.batch*F+T*F], a, T, s.threads); err != nil {
			return err
		}
	} else {
		s.cur.gStride, s.cur.uBase = 2*F, F
		if err := lw.gateUp.MatMul(ctx, s.gu[:2*T*F], a, T, s.threads); err != nil {
			return err
		}
	}
	return s.forRows(ctx, opGeglu)
}

// attentionJobs sets s.cur.perJob and returns the number of attention
// jobs for T query rows: each job is one query row and up to four query
// heads of one KV head (sharing its keys and values), split further when
// there would be fewer jobs than threads (decode with one KV head).
func (s *State) attentionJobs(T int) int {
	c := &s.m.Config
	G := c.Heads / c.KVHeads
	workers := workerpool.Workers()
	if s.threads > 0 {
		workers = min(workers, s.threads)
	}
	per := min(4, G)
	for per > 1 && T*c.KVHeads*((G+per-1)/per) < workers {
		per = (per + 1) / 2
	}
	s.cur.perJob = per
	return T * c.KVHeads * ((G + per - 1) / per)
}

// attention computes the attention output of jobs [lo, hi) (see
// attentionJobs) against the cached keys each query row may see.
func (s *State) attention(lo, hi int) {
	c := &s.m.Config
	G := c.Heads / c.KVHeads
	per := s.cur.perJob
	chunks := (G + per - 1) / per // jobs per KV head and row
	buf := <-s.scores
	defer func() { s.scores <- buf }()
	for job := lo; job < hi; job++ {
		t, r := job/(c.KVHeads*chunks), job%(c.KVHeads*chunks)
		g := r / chunks
		h0 := g*G + (r%chunks)*per
		s.attend(buf, t, g, h0, min(per, g*G+G-h0))
	}
}

// attend computes query row t's attention output for the m ≤ 4 query
// heads h0… of KV head g, with buf as scratch (4·cap scores and a 4×HeadDim
// output tile).
func (s *State) attend(buf []float32, t, g, h0, m int) {
	c := &s.m.Config
	l, p0 := s.cur.layer, s.cur.p0
	hd, Q, KV := c.HeadDim, c.QDim(), c.KVDim()
	cp, kc, vc := s.caps[l], s.keys[l], s.vals[l]
	p := p0 + t
	first := 0
	if !s.cur.global {
		first = max(0, p-c.Window+1)
	}
	n := p - first + 1
	var qs [4][]float32
	for h := range qs {
		hh := h0 + min(h, m-1) // unused rows repeat the last head
		qs[h] = s.q[t*Q+hh*hd : t*Q+(hh+1)*hd]
	}
	off := g * hd
	// Positions first…p live in slots first%cp…: at most two runs.
	a := first % cp
	n1 := min(n, cp-a)
	sc := buf[:4*n]
	scores4(&qs, kc[a*KV+off:], KV, n1, sc)
	if n1 < n {
		scores4(&qs, kc[off:], KV, n-n1, sc[4*n1:])
	}
	for h := 0; h < 4; h++ {
		if h >= m {
			for j := 0; j < n; j++ {
				sc[4*j+h] = 0
			}
			continue
		}
		mx := float32(math.Inf(-1))
		for j := 0; j < n; j++ {
			mx = max(mx, sc[4*j+h])
		}
		var sum float64
		for j := 0; j < n; j++ {
			e := float32(math.Exp(float64(sc[4*j+h] - mx)))
			sc[4*j+h] = e
			sum += float64(e)
		}
		inv := float32(1 / sum)
		for j := 0; j < n; j++ {
			sc[4*j+h] *= inv
		}
	}
	tile := buf[len(buf)-4*hd:]
	clear(tile)
	values4(sc, vc[a*KV+off:], KV, hd, n1, tile)
	if n1 < n {
		values4(sc[4*n1:], vc[off:], KV, hd, n-n1, tile)
	}
	for h := 0; h < m; h++ {
		copy(s.att[t*Q+(h0+h)*hd:t*Q+(h0+h+1)*hd], tile[h*hd:(h+1)*hd])
	}
}
