package gemma3

import (
	"context"
	"slices"
	"sync/atomic"

	"github.com/zerfoo/zerfoo/internal/workerpool"
)

// runner runs forward steps over rows that may belong to different
// sequences: row t of a step is token toks[t] at position pos[t] of
// sequence seq[t], whose KV cache it writes and reads. It owns the scratch
// buffers of up to maxRows rows, so that a step allocates nothing. A State
// runs its own prompt batches through one (all rows of one sequence); a
// Batch runs the rows of many States through another. Not safe for
// concurrent use.
type runner struct {
	m       *Model
	maxRows int
	threads int

	x, a, q, k, v, att, o, gu, g []float32
	qkv                          []float32 // output of stacked Q|K|V (nil if no layer has one)
	cosL, sinL, cosG, sinG       []float32
	scores                       chan *attnScratch // per participant
	jobs                         []attnJob         // the attention jobs of the layer in progress
	altJobs                      []attnJob         // another cut of them (attentionJobs)
	finish                       []float64         // per participant, for jobsMakespan

	// per row of the step in progress
	seq []*State
	pos []int

	// arguments of the row and attention loops, set before each call
	cur struct {
		toks           []int32 // the step's tokens, for opEmbed
		layer, rows    int
		global         bool
		lw             *Layer
		op             int
		gStride, uBase int // gate row t at gu[t·gStride], up row at gu[uBase+t·gStride]
	}
	rowFn, attnFn func(lo, hi int)
	loop          parLoop

	// a block job split over the participants (see attendSplit)
	split struct {
		b      blockPlan
		parts  int
		values bool // the phase: scores by keys, or values by head dim
	}
	splitFn func(lo, hi int)
}

// runnerFloats returns the float32 values of a runner's scratch for rows
// rows whose attention sees at most visible positions (int64: the factors
// are bounded by Config.Validate).
func runnerFloats(c *Config, rows, visible int) int64 {
	H, Q, KV, hd2 := int64(c.Hidden), int64(c.QDim()), int64(c.KVDim()), int64(c.HeadDim/2)
	nw := int64(workerpool.Workers() + 1)
	// x, a, o; q, att; k, v; gu (2F), g; qkv; four RoPE tables; seq and pos
	return int64(rows)*(3*H+2*Q+2*KV+3*int64(c.FFN)+Q+2*KV+4*hd2+4) +
		nw*scratchFloats(c, visible)
}

// scratchFloats returns the float32 values of one participant's attention
// scratch: a block's (see blockFloats), which also holds the per-row
// kernels' 4·visible scores, 4×HeadDim queries and 4×HeadDim tile.
func scratchFloats(c *Config, visible int) int64 {
	return max(4*int64(visible)+8*int64(c.HeadDim), blockFloats(int64(visible), int64(c.HeadDim)))
}

// newRunner allocates a runner (sizes checked by the caller).
func newRunner(m *Model, rows, visible, threads int) *runner {
	c := &m.Config
	H, Q, KV, B, hd2 := c.Hidden, c.QDim(), c.KVDim(), rows, c.HeadDim/2
	r := &runner{m: m, maxRows: rows, threads: threads}
	r.x, r.a, r.o = make([]float32, B*H), make([]float32, B*H), make([]float32, B*H)
	r.q, r.att = make([]float32, B*Q), make([]float32, B*Q)
	r.k, r.v = make([]float32, B*KV), make([]float32, B*KV)
	r.gu, r.g = make([]float32, 2*B*c.FFN), make([]float32, B*c.FFN)
	for l := range m.Weights.Layers {
		if m.Weights.Layers[l].qkv != nil {
			r.qkv = make([]float32, B*(Q+2*KV))
			break
		}
	}
	r.cosL, r.sinL = make([]float32, B*hd2), make([]float32, B*hd2)
	r.cosG, r.sinG = make([]float32, B*hd2), make([]float32, B*hd2)
	r.seq, r.pos = make([]*State, B), make([]int, B)
	nw := workerpool.Workers() + 1
	r.scores = make(chan *attnScratch, nw)
	for i := 0; i < nw; i++ {
		r.scores <- &attnScratch{f: make([]float32, scratchFloats(c, visible)), i: make([]int32, c.HeadDim/32*9*blockLanes)}
	}
	r.jobs = make([]attnJob, 0, rows*c.Heads)
	r.altJobs = make([]attnJob, 0, rows*c.Heads)
	r.finish = make([]float64, nw)
	r.attnFn, r.rowFn, r.splitFn = r.attention, r.runRows, r.splitPart
	return r
}

// step runs rows toks (with r.seq and r.pos set for each) through every
// layer, writing their keys and values into their sequences' caches and
// leaving the final hidden states in r.x. It moves no position.
func (r *runner) step(ctx context.Context, toks []int32) error {
	c := &r.m.Config
	T, H, Q, KV := len(toks), c.Hidden, c.QDim(), c.KVDim()
	w := r.m.Weights
	r.cur.rows, r.cur.toks = T, toks
	err := r.forRows(ctx, opEmbed)
	r.cur.toks = nil
	if err != nil {
		return err
	}
	o := r.o[:T*H]
	for l := range w.Layers {
		lw := &w.Layers[l]
		r.cur.layer, r.cur.global, r.cur.lw = l, c.Global(l), lw
		if err := r.forRows(ctx, opAttnNorm); err != nil {
			return err
		}
		if err := r.projectQKV(ctx, lw, r.q[:T*Q], r.k[:T*KV], r.v[:T*KV], r.a[:T*H], T); err != nil {
			return err
		}
		if err := r.forRows(ctx, opQK); err != nil {
			return err
		}
		if err := r.attentionLayer(ctx, T); err != nil {
			return err
		}
		if err := lw.O.MatMul(ctx, o, r.att[:T*Q], T, r.threads); err != nil {
			return err
		}
		if err := r.forRows(ctx, opMid); err != nil {
			return err
		}
		if err := r.gatedFFN(ctx, lw, T); err != nil {
			return err
		}
		if err := lw.Down.MatMul(ctx, o, r.g[:T*c.FFN], T, r.threads); err != nil {
			return err
		}
		if err := r.forRows(ctx, opOut); err != nil {
			return err
		}
	}
	return nil
}

// Row-wise steps of a layer, run by rowOp over query rows.
const (
	opEmbed    = iota // x = scaled embedding of the row's token; its RoPE tables
	opAttnNorm        // a = RMSNorm(x)·AttnNorm
	opQK              // per-head q/k norms, RoPE, q scale; k, v into the cache
	opMid             // x += RMSNorm(o)·PostAttnNorm; a = RMSNorm(x)·FFNNorm
	opGeglu           // g = gelu(gate)·up
	opOut             // x += RMSNorm(o)·PostFFNNorm
)

// forRows runs rowOp(op) over the r.cur.rows query rows, in parallel for
// 16 rows or more (fewer run inline).
func (r *runner) forRows(ctx context.Context, op int) error {
	T := r.cur.rows
	if T < rowsPerPart || r.threads == 1 {
		r.rowOp(op, 0, T)
		return ctx.Err()
	}
	r.cur.op = op
	return r.loop.run(ctx, T, 8, r.threads, r.rowFn)
}

// runRows is forRows's parallel body.
func (r *runner) runRows(lo, hi int) { r.rowOp(r.cur.op, lo, hi) }

// rowOp runs step op of layer r.cur.lw on query rows [lo, hi).
func (r *runner) rowOp(op, lo, hi int) {
	c := &r.m.Config
	lw := r.cur.lw
	H, Q, KV, hd, F := c.Hidden, c.QDim(), c.KVDim(), c.HeadDim, c.FFN
	hd2 := hd / 2
	for t := lo; t < hi; t++ {
		xt, at, ot := r.x[t*H:(t+1)*H], r.a[t*H:(t+1)*H], r.o[t*H:(t+1)*H]
		switch op {
		case opEmbed:
			r.m.Weights.Embed.Row(int(r.cur.toks[t]), xt)
			for i := range xt {
				xt[i] *= c.EmbedScale
			}
			p := r.pos[t]
			r.m.local.table(r.cosL[t*hd2:(t+1)*hd2], r.sinL[t*hd2:(t+1)*hd2], p)
			r.m.global.table(r.cosG[t*hd2:(t+1)*hd2], r.sinG[t*hd2:(t+1)*hd2], p)
		case opAttnNorm:
			rmsNorm(at, xt, lw.AttnNorm, c.Eps)
		case opQK:
			cs, sn := r.cosL, r.sinL
			if r.cur.global {
				cs, sn = r.cosG, r.sinG
			}
			ct, st := cs[t*hd2:(t+1)*hd2], sn[t*hd2:(t+1)*hd2]
			for h := 0; h < c.Heads; h++ {
				qh := r.q[t*Q+h*hd : t*Q+(h+1)*hd]
				rmsNorm(qh, qh, lw.QNorm, c.Eps)
				applyRope(qh, ct, st)
				for i := range qh {
					qh[i] *= c.QueryScale
				}
			}
			kt := r.k[t*KV : (t+1)*KV]
			for h := 0; h < c.KVHeads; h++ {
				kh := kt[h*hd : (h+1)*hd]
				rmsNorm(kh, kh, lw.KNorm, c.Eps)
				applyRope(kh, ct, st)
			}
			s, l := r.seq[t], r.cur.layer
			s.kv[l].store(r.pos[t]%s.caps[l], kt, r.v[t*KV:(t+1)*KV])
		case opMid:
			rmsNorm(ot, ot, lw.PostAttnNorm, c.Eps)
			for i, v := range ot {
				xt[i] += v
			}
			rmsNorm(at, xt, lw.FFNNorm, c.Eps)
		case opGeglu:
			g := r.gu[t*r.cur.gStride:]
			u := r.gu[r.cur.uBase+t*r.cur.gStride:]
			geglu(r.g[t*F:(t+1)*F], g[:F], u[:F])
		case opOut:
			rmsNorm(ot, ot, lw.PostFFNNorm, c.Eps)
			for i, v := range ot {
				xt[i] += v
			}
		}
	}
}

// projectQKV computes the T rows of q, k and v from the normed input a,
// with the stacked matrix when the layer has one (Q|K|V, or Q|K and then
// V alone).
func (r *runner) projectQKV(ctx context.Context, lw *Layer, q, k, v, a []float32, T int) error {
	if lw.qkv == nil {
		if err := lw.Q.MatMul(ctx, q, a, T, r.threads); err != nil {
			return err
		}
		if err := lw.K.MatMul(ctx, k, a, T, r.threads); err != nil {
			return err
		}
		return lw.V.MatMul(ctx, v, a, T, r.threads)
	}
	Q, KV := r.m.Config.QDim(), r.m.Config.KVDim()
	W := Q + KV
	if lw.qkvN == 3 {
		W += KV
	}
	out := r.qkv[:T*W]
	if err := lw.qkv.MatMul(ctx, out, a, T, r.threads); err != nil {
		return err
	}
	for t := 0; t < T; t++ {
		row := out[t*W : (t+1)*W]
		copy(q[t*Q:(t+1)*Q], row[:Q])
		copy(k[t*KV:(t+1)*KV], row[Q:Q+KV])
		if lw.qkvN == 3 {
			copy(v[t*KV:(t+1)*KV], row[Q+KV:])
		}
	}
	if lw.qkvN == 2 {
		return lw.V.MatMul(ctx, v, a, T, r.threads)
	}
	return nil
}

// gatedFFN sets the T rows of r.g to gelu(a·Gateᵀ)·(a·Upᵀ), with the
// stacked matrix when the layer has one.
func (r *runner) gatedFFN(ctx context.Context, lw *Layer, T int) error {
	F := r.m.Config.FFN
	a := r.a[:T*r.m.Config.Hidden]
	if lw.gateUp == nil {
		B := r.maxRows
		r.cur.gStride, r.cur.uBase = F, B*F
		if err := lw.Gate.MatMul(ctx, r.gu[:T*F], a, T, r.threads); err != nil {
			return err
		}
		if err := lw.Up.MatMul(ctx, r.gu[B*F:B*F+T*F], a, T, r.threads); err != nil {
			return err
		}
	} else {
		r.cur.gStride, r.cur.uBase = 2*F, F
		if err := lw.gateUp.MatMul(ctx, r.gu[:2*T*F], a, T, r.threads); err != nil {
			return err
		}
	}
	return r.forRows(ctx, opGeglu)
}

// attentionJobs fills r.jobs for T query rows and returns their number
// and the piece size of the loop over them.
//
// Where blockAttn, every sequence's rows run as block jobs (see
// attnblock.go): up to 32 query vectors of one KV head each, 16 when there
// would be fewer jobs than threads, and 16 for the last vectors (or all)
// where that shares the work between the threads more evenly (see
// jobsMakespan). Never fewer: a block computes 16 lanes whatever the live
// ones, so two jobs of 2 live lanes cost each as much as one of 4 and the
// split only adds a fork (decode of gemma-3-270m, one KV head: the
// attention took 16 µs per layer on two threads, 11.6 on one).
// A row's attention then comes out the same, bit for bit, whether its
// sequence's step has one row or many and whatever else the step holds,
// as the per-row kernels' results are too (each lane's sums run over its
// own keys in order).
//
// Otherwise each job is one query row and up to four query heads of one
// KV head (sharing its keys and values), split further when there would
// be fewer jobs than threads (decode with one KV head).
func (r *runner) attentionJobs(T int) (int, int) {
	c := &r.m.Config
	G := c.Heads / c.KVHeads
	workers := workerpool.Workers()
	if r.threads > 0 {
		workers = min(workers, r.threads)
	}
	r.jobs = r.jobs[:0]
	if blockAttn && c.HeadDim%32 == 0 {
		const half = blockLanes / 2
		r.jobs = r.blockJobs(r.jobs, T, blockLanes, blockLanes)
		switch {
		case len(r.jobs) < workers:
			r.jobs = r.blockJobs(r.jobs[:0], T, half, half)
		case workers > 1:
			// The jobs are claimed one at a time, so the slowest
			// participant's share sets the layer's time. Where a cut of 32
			// query vectors leaves one participant the last block alone
			// (7 blocks on 2 threads: a 55-row turn of gemma-3-270m),
			// blocks of 16 can share the work more evenly: take whichever
			// cut the claim order finishes soonest (blocks of 32; of 32
			// with the last vectors in 16s; of 16).
			best := r.jobsMakespan(r.jobs, workers)
			for _, full := range []int{blockLanes, half} {
				alt := r.blockJobs(r.altJobs[:0], T, full, half)
				if m := r.jobsMakespan(alt, workers); m < best {
					best = m
					r.jobs, alt = alt, r.jobs
				}
				r.altJobs = alt
			}
		}
		return len(r.jobs), 1
	}
	per := min(4, G)
	for per > 1 && T*c.KVHeads*((G+per-1)/per) < workers {
		per = (per + 1) / 2
	}
	for t := 0; t < T; t++ {
		for g := 0; g < c.KVHeads; g++ {
			for h0 := g * G; h0 < g*G+G; h0 += per {
				r.jobs = append(r.jobs, attnJob{t: t, g: g, h0: h0, m: min(per, g*G+G-h0)})
			}
		}
	}
	piece := 1
	if T >= rowsPerPart {
		piece = 8
	}
	return len(r.jobs), piece
}

// seqEnd returns one past the last of the T rows that continue the
// sequence of row t (a sequence's rows are consecutive).
func (r *runner) seqEnd(t, T int) int {
	e := t + 1
	for e < T && r.seq[e] == r.seq[t] && r.pos[e] == r.pos[e-1]+1 {
		e++
	}
	return e
}

// blockJobs appends to dst the block jobs of the step's T rows: each
// sequence's query vectors of each KV head in blocks of full, the last
// ones in blocks of at most tail (≤ full) when they do not fill a block of
// full.
func (r *runner) blockJobs(dst []attnJob, T, full, tail int) []attnJob {
	c := &r.m.Config
	G := c.Heads / c.KVHeads
	for t := 0; t < T; {
		e := r.seqEnd(t, T)
		nv := (e - t) * G
		for g := 0; g < c.KVHeads; g++ {
			for i0 := 0; i0 < nv; {
				per := full
				if nv-i0 < full {
					per = tail
				}
				nq := min(per, nv-i0)
				dst = append(dst, attnJob{block: true, t: t, g: g, rows: e - t, i0: i0, nq: nq, lanes: (nq + 15) &^ 15})
				i0 += nq
			}
		}
		t = e
	}
	return dst
}

// Relative costs of one key of a block job, for jobsMakespan: a block of
// 16 lanes does half the multiply-adds of one of 32 but reads and widens
// each key as often (on the 2-vCPU EPYC of docs/PERFORMANCE.md, whose
// 512-bit FMAs run at half rate, 16-lane blocks cost 0.48–0.5 of 32-lane
// ones per key; 0.6 allows for CPUs where the reads weigh more); a block
// with at most 4 live lanes runs the narrow kernels.
const (
	costLanes32 = 1.0
	costLanes16 = 0.6
	costNarrow  = 0.25
)

// jobsMakespan returns the estimated time until workers participants,
// each taking the next job when done with its last (as the attention
// loop's counter hands them out), finish the block jobs, in units of
// costLanes32 per key.
func (r *runner) jobsMakespan(jobs []attnJob, workers int) float64 {
	c := &r.m.Config
	G := c.Heads / c.KVHeads
	fin := r.finish[:min(workers, len(r.finish))]
	clear(fin)
	for i := range jobs {
		j := &jobs[i]
		p0, p1 := r.pos[j.t+j.i0/G], r.pos[j.t+(j.i0+j.nq-1)/G]
		lo := 0
		if !r.cur.global {
			lo = max(0, p0-c.Window+1)
		}
		cost := costLanes32
		switch {
		case j.nq <= 4:
			cost = costNarrow
		case j.lanes <= blockLanes/2:
			cost = costLanes16
		}
		w := 0
		for k := range fin {
			if fin[k] < fin[w] {
				w = k
			}
		}
		fin[w] += cost * float64(p1-lo+1)
	}
	return slices.Max(fin)
}

// splitKeys is the fewest keys for which a block job with fewer jobs
// than participants is split over them (attendSplit): below it the two
// extra parallel phases cost about what they save. On the 2-vCPU EPYC of
// docs/PERFORMANCE.md, gemma-3-270m-shaped Q4_0 decoding at two threads
// after 256 cached tokens went from 166 to 177–185 tokens/s with splits
// from 64 or 128 keys, after 512 from 142–149 to 158–165, and after 64
// tokens it did not change beyond noise. A variable for the tests.
var splitKeys = 128

// attentionLayer runs the attention of the step's T rows for the current
// layer: the jobs in parallel, or, when there are fewer jobs than
// participants (a decode step of a model with one KV head), each job
// with many keys split over the participants.
func (r *runner) attentionLayer(ctx context.Context, T int) error {
	jobs, piece := r.attentionJobs(T)
	parts := workerpool.Workers()
	if r.threads > 0 {
		parts = min(parts, r.threads)
	}
	if jobs >= parts || !r.jobs[0].block {
		return r.loop.run(ctx, jobs, piece, r.threads, r.attnFn)
	}
	for i := range r.jobs {
		if err := r.attendSplit(ctx, &r.jobs[i], parts); err != nil {
			return err
		}
	}
	return nil
}

// attendSplit computes block job j as attendBlock does, with its scores
// split over parts participants by keys and its weighted sum of values by
// head dimension, when it has splitKeys keys or more. Each key's score and
// each output value is summed in the same order as by attendBlock, so the
// outputs are the same to the bit.
func (r *runner) attendSplit(ctx context.Context, j *attnJob, parts int) error {
	sc := <-r.scores
	defer func() { r.scores <- sc }()
	b := &r.split.b
	r.planBlock(b, sc, j)
	if b.n < splitKeys || parts < 2 {
		r.runBlock(b)
		*b = blockPlan{}
		return ctx.Err()
	}
	r.split.parts, r.split.values = parts, false
	err := r.loop.run(ctx, parts, 1, parts, r.splitFn)
	if err == nil {
		b.softmax()
		r.split.values = true
		err = r.loop.run(ctx, parts, 1, parts, r.splitFn)
	}
	*b = blockPlan{} // hold no scratch or cache past the step
	return err
}

// splitPart is attendSplit's parallel body: part lo of r.split.parts.
func (r *runner) splitPart(lo, _ int) {
	sc := <-r.scores
	defer func() { r.scores <- sc }()
	b, parts := &r.split.b, r.split.parts
	if !r.split.values {
		b.scores(sc, lo*b.n/parts, (lo+1)*b.n/parts)
		return
	}
	nb := r.m.Config.HeadDim / 32
	r.blockValues(b, sc, 32*(lo*nb/parts), 32*((lo+1)*nb/parts))
}

// attention computes the attention output of jobs [lo, hi) of r.jobs
// against the cached keys each query row may see.
func (r *runner) attention(lo, hi int) {
	sc := <-r.scores
	defer func() { r.scores <- sc }()
	for i := lo; i < hi; i++ {
		j := &r.jobs[i]
		if j.block {
			r.attendBlock(sc, j)
		} else {
			r.attend(sc.f, j.t, j.g, j.h0, j.m)
		}
	}
}

// attend computes query row t's attention output for the m ≤ 4 query
// heads h0… of KV head g against its own sequence's cache: positions 0…p
// (global layers) or the last Window of them (local layers), where p is
// the row's position. buf is scratch: 4·n scores, then 4×HeadDim
// queries and a 4×HeadDim tile at its end.
//
// With an F16 cache, the queries and the attention weights are rounded to
// F16 as well, as llama.cpp multiplies an F16 cache (its mul_mat rounds
// the float32 operand to the F16 one's vec_dot type).
func (r *runner) attend(buf []float32, t, g, h0, m int) {
	c := &r.m.Config
	l := r.cur.layer
	hd, Q := c.HeadDim, c.QDim()
	s, p := r.seq[t], r.pos[t]
	cp, kv := s.caps[l], &s.kv[l]
	first := 0
	if !r.cur.global {
		first = max(0, p-c.Window+1)
	}
	n := p - first + 1
	var qs [4][]float32
	for h := range qs {
		hh := h0 + min(h, m-1) // unused rows repeat the last head
		qs[h] = r.q[t*Q+hh*hd : t*Q+(hh+1)*hd]
	}
	f16 := kv.typ == CacheF16
	if f16 {
		qr := buf[len(buf)-8*hd : len(buf)-4*hd]
		for h := range qs {
			roundF16(qr[h*hd:(h+1)*hd], qs[h])
			qs[h] = qr[h*hd : (h+1)*hd]
		}
	}
	off := g * hd
	// Positions first…p live in slots first%cp…: at most two runs.
	a := first % cp
	n1 := min(n, cp-a)
	sc := buf[:4*n]
	kv.scores(&qs, a, off, n1, sc)
	if n1 < n {
		kv.scores(&qs, 0, off, n-n1, sc[4*n1:])
	}
	softmax4(sc, n)
	for h := m; h < 4; h++ {
		for j := 0; j < n; j++ {
			sc[4*j+h] = 0
		}
	}
	if f16 {
		roundF16(sc, sc)
	}
	tile := buf[len(buf)-4*hd:]
	clear(tile)
	kv.values(sc, a, off, hd, n1, tile)
	if n1 < n {
		kv.values(sc[4*n1:], 0, off, hd, n-n1, tile)
	}
	for h := 0; h < m; h++ {
		copy(r.att[t*Q+(h0+h)*hd:t*Q+(h0+h+1)*hd], tile[h*hd:(h+1)*hd])
	}
}

// rowsPerPart is the fewest query rows for which a step's row-wise work
// (forRows) runs in parallel, and for which attention jobs are claimed 8 at
// a time.
const rowsPerPart = 16

// parLoop runs a parallel loop whose participants take pieces from a
// shared counter, so that a participant the OS runs late (other processes
// on the cores) holds up at most one piece instead of a static share. It
// allocates nothing per call: the counter and the arguments live in the
// loop, which one runner reuses for every parallel row and attention loop
// of a step (they never nest).
type parLoop struct {
	next         atomic.Int64
	n, piece, np int
	fn           func(lo, hi int)
	body         func(lo, hi int) // l.take, bound once
}

// run runs fn over [0, n) in pieces of size piece that up to threads
// participants (0: the whole worker pool) take from the shared counter.
func (l *parLoop) run(ctx context.Context, n, piece, threads int, fn func(lo, hi int)) error {
	parts := workerpool.Workers()
	if threads > 0 {
		parts = min(parts, threads)
	}
	np := (n + piece - 1) / piece
	if parts = min(parts, np); parts <= 1 {
		fn(0, n)
		return ctx.Err()
	}
	if l.body == nil {
		l.body = l.take
	}
	l.next.Store(0)
	l.n, l.piece, l.np, l.fn = n, piece, np, fn
	err := workerpool.ForN(ctx, parts, 1, parts, l.body)
	l.fn = nil
	return err
}

// take is run's body on each participant.
func (l *parLoop) take(_, _ int) {
	for {
		i := int(l.next.Add(1)) - 1
		if i >= l.np {
			return
		}
		l.fn(i*l.piece, min((i+1)*l.piece, l.n))
	}
}
