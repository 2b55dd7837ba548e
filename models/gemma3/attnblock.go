package gemma3

import (
	"math"

	"github.com/zerfoo/zerfoo/numeric"
)

// Block attention: the attention of a prompt chunk as small matrix
// products. The query vectors of a sequence's rows that share one KV head
// (its G = Heads/KVHeads query heads of each row, so 4·T vectors for
// gemma-3-270m's one KV head) are taken 32 (or, for a last few, 16) at a
// time, one per lane of one or two vector registers: each key of the
// cache is then read (and widened from F16 or Q8_0) once per block
// instead of once per row, and the scores, the softmax and the weighted
// sum of values run lane-parallel with no horizontal reductions. Decode
// rows run as blocks too (4 live lanes of 16 for one KV head), so that a
// row's attention does not depend on how the rows were batched; a block
// with at most 4 live lanes takes narrow kernels that put one key per
// lane for the scores and 4-lane tiles for the values, summing every
// score and output in the same order (so the same to the bit) without
// the padding lanes' work. A decode step with fewer jobs than threads
// splits each job's keys, then its head dimension, over the threads
// (attendSplit).
//
// Layout of one block of nq ≤ W query vectors in W lanes (lane i is
// query vector i0+i of the flattened (row, head) list: row i/G, head
// g·G + i%G):
//
//	qt[d·W + i]   query i's value d (HeadDim×W, transposed)
//	s[j·W + i]    query i's score, then weight, of key j (keys × W)
//	out[i·hd + d] query i's output (W×HeadDim)
//
// Key j is position lo+j of the sequence, lo the first position the
// block's first row sees; lane i sees keys lo_i…hi_i of them (causal,
// and the window on local layers).

// blockLanes is the most query vectors of one block: two registers of
// 16 float32 lanes.
const blockLanes = 32

// blockChunk is the number of keys (or values) widened to float32 at a
// time for the score (or, from a Q8_0 cache, the value) kernel.
const blockChunk = 64

// scoresF16Pipe returns the float32 scratch of the F16 score kernels that
// widen the keys of one twelve-key pass during the previous one (head dim
// hd ≤ 256): two halves of twelve keys, the second 12·256 + 64 values
// after the first.
func scoresF16Pipe(hd int) int { return 12*256 + 64 + 12*hd }

// attnScratch is one participant's attention scratch: the row path's
// 4·visible scores, queries and tile, or the block path's qt, s, out and
// a chunk of widened keys, at the start of f.
type attnScratch struct {
	f           []float32
	i           []int32 // Q8_0 queries: codes and offsets of 32 lanes
	idx, lo, hi [blockLanes]int32
}

// blockFloats returns the float32 values (4 bytes each) of a block's
// scratch for visible positions and head dim hd, its int32 part included.
func blockFloats(visible, hd int64) int64 {
	return blockLanes*visible + (2*blockLanes+blockChunk)*hd + hd/32*9*blockLanes // the last: attnScratch.i
}

// attnJob is one job of the attention loop: query row t's heads h0…h0+m−1
// of KV head g (m ≤ 4, the row path), or, when block, the nq query
// vectors i0… of KV head g of the sequence whose rows start at t (rows
// rows), in lanes lanes (16 or 32).
type attnJob struct {
	block        bool
	t, g, h0, m  int
	rows, i0, nq int
	lanes        int
}

// blockPlan is what the phases of a block job share: its keys' range in
// the cache, the two runs of cache slots they occupy, and its scratch (qt,
// the scores and, for a Q8_0 cache, the quantized queries).
type blockPlan struct {
	j      *attnJob
	sc     *attnScratch
	kv     *kvCache
	lo, n  int       // first position seen, keys
	off    int       // the KV head's first value in a cache row
	runs   [2][3]int // slot, first key, keys
	qt, sv []float32
	q8     []int32 // Q8_0 queries (with VNNI), corr after them
	corr   []int32
	dq     []float32
}

// attendBlock computes the attention output of j (a block job) against
// its sequence's cache.
func (r *runner) attendBlock(sc *attnScratch, j *attnJob) {
	var b blockPlan
	r.planBlock(&b, sc, j)
	r.runBlock(&b)
}

// runBlock computes the attention output of planned block b on the
// calling goroutine, in b's own scratch.
func (r *runner) runBlock(b *blockPlan) {
	b.scores(b.sc, 0, b.n)
	b.softmax()
	r.blockValues(b, b.sc, 0, r.m.Config.HeadDim)
}

// planBlock fills b for block job j with scratch sc: the lanes' queries
// (quantized for a Q8_0 cache with VNNI) and key ranges.
func (r *runner) planBlock(b *blockPlan, sc *attnScratch, j *attnJob) {
	c := &r.m.Config
	l := r.cur.layer
	hd, Q, G, W := c.HeadDim, c.QDim(), c.Heads/c.KVHeads, j.lanes
	s := r.seq[j.t]
	cp, kv := s.caps[l], &s.kv[l]
	first := func(p int) int {
		if r.cur.global {
			return 0
		}
		return max(0, p-c.Window+1)
	}
	rowOf := func(i int) int { return j.t + (j.i0+i)/G }
	lo := first(r.pos[rowOf(0)])
	hi := r.pos[rowOf(j.nq-1)]
	n := hi - lo + 1
	for i := 0; i < W; i++ {
		if i >= j.nq { // padding lanes: a copy of lane 0's query, one key
			sc.idx[i], sc.lo[i], sc.hi[i] = sc.idx[0], 0, 0
			continue
		}
		t := rowOf(i)
		h := j.g*G + (j.i0+i)%G
		sc.idx[i] = int32(t*Q + h*hd)
		sc.lo[i], sc.hi[i] = int32(first(r.pos[t])-lo), int32(r.pos[t]-lo)
	}
	*b = blockPlan{j: j, sc: sc, kv: kv, lo: lo, n: n, off: j.g * hd}
	b.qt = sc.f[:W*hd]
	b.sv = sc.f[(2*blockLanes+blockChunk)*hd:][:W*n]
	gatherQT(b.qt, r.q, sc.idx[:W], hd, kv.typ == CacheF16)
	// Against a Q8_0 cache with VNNI, the queries are quantized to Q8_0
	// as llama.cpp does for a Q8_0 K (its vec_dot_type) and the scores
	// are integer dot products of each 32-value block.
	if kv.typ == CacheQ8_0 && useVNNI {
		nb := hd / 32
		b.q8, b.corr = sc.i[:8*nb*W], sc.i[8*nb*W:9*nb*W]
		b.dq = sc.f[2*blockLanes*hd:][:nb*W] // the chunk's keys are not needed: the kernel reads the cache
		quantQT(b.qt, W, hd, b.q8, b.dq, b.corr)
	}
	// Positions lo…hi live in slots lo%cp…: at most two runs.
	a := lo % cp
	n1 := min(n, cp-a)
	b.runs = [2][3]int{{a, 0, n1}, {0, n1, n - n1}}
}

// scores writes the scores of keys k0…k1−1 into b.sv, widening keys
// into the chunk of sc (b's own scratch or another participant's). A
// key's score does not depend on the range it is computed in.
func (b *blockPlan) scores(sc *attnScratch, k0, k1 int) {
	kv, W, off := b.kv, b.j.lanes, b.off
	hd := len(b.qt) / W
	chunk := sc.f[2*blockLanes*hd : (2*blockLanes+blockChunk)*hd]
	for _, run := range b.runs {
		// The run's keys first…first+cnt−1, cut to k0…k1−1.
		slot, first, cnt := run[0], run[1], run[2]
		a, e := max(first, k0), min(first+cnt, k1)
		if a >= e {
			continue
		}
		slot, cnt = slot+a-first, e-a
		switch {
		case kv.typ == CacheF16:
			scoresF16Block(b.qt, W, b.j.nq, kv.k16[slot*kv.width+off:], kv.width, hd, cnt, b.sv[a*W:], chunk)
			continue
		case kv.typ == CacheQ8_0 && useVNNI:
			scoresQ8Block(b.q8, b.dq, b.corr, W, b.j.nq, kv.k8[slot*kv.rowBytes+off/32*34:], kv.rowBytes, hd, cnt, b.sv[a*W:])
			continue
		}
		for done := 0; done < cnt; done += blockChunk {
			m := min(blockChunk, cnt-done)
			kp, ldk := kv.keysF32(slot+done, off, hd, m, chunk)
			scoresT(b.qt, W, kp, ldk, hd, m, b.sv[(a+done)*W:])
		}
	}
}

// scoresF16Block is scoresTF16 for a block of W lanes of which nq are
// live: the narrow kernel takes the keys it can (see narrowKeys), the
// W-lane kernel the rest; lanes nq… of the narrow kernel's keys are not
// written.
func scoresF16Block(qt []float32, W, nq int, k []uint16, ldk, hd, n int, out, buf []float32) {
	if m := narrowKeys(W, nq, hd, n); m > 0 {
		scoresNarrowF16(qt, k, ldk, hd, m, out)
		if m == n { // k[m·ldk:] may lie past the cache's last row
			return
		}
		k, out, n = k[m*ldk:], out[m*W:], n-m
	}
	scoresTF16(qt, W, k, ldk, hd, n, out, buf)
}

// scoresQ8Block is scoresTQ8 (with VNNI) for a block of W lanes of which
// nq are live, as scoresF16Block.
func scoresQ8Block(q8 []int32, dq []float32, corr []int32, W, nq int, k []byte, ldk, hd, n int, out []float32) {
	if m := narrowKeys(W, nq, hd, n); m > 0 {
		scoresNarrowQ8(q8, dq, corr, k, ldk, hd, m, out)
		if m == n {
			return
		}
		k, out, n = k[m*ldk:], out[m*W:], n-m
	}
	scoresTQ8(q8, dq, corr, W, k, ldk, hd, n, out)
}

// softmax turns b's scores into weights.
func (b *blockPlan) softmax() {
	W, sc := b.j.lanes, b.sc
	// The padding lanes see key 0 only, whose score the narrow kernel
	// does not write for them: any finite value serves.
	clear(b.sv[b.j.nq:W])
	for h := 0; h < W; h += 16 {
		softmax16(b.sv[h:], W, b.n, sc.lo[h:h+16], sc.hi[h:h+16], b.kv.typ == CacheF16)
	}
}

// blockValues writes values d0…d1−1 (multiples of 32) of the outputs of
// b's query vectors into r.att, summing their weighted values in the
// out part of sc (b's own scratch or another participant's). A value's
// sum does not depend on the range it is computed in.
func (r *runner) blockValues(b *blockPlan, sc *attnScratch, d0, d1 int) {
	c := &r.m.Config
	j, W, hd, dn := b.j, b.j.lanes, c.HeadDim, d1-d0
	if dn <= 0 {
		return
	}
	G, Q := c.Heads/c.KVHeads, c.QDim()
	out := sc.f[blockLanes*hd : 2*blockLanes*hd][:min(W, (j.nq+7)&^7)*dn] // rows of dn values
	chunk := sc.f[2*blockLanes*hd : (2*blockLanes+blockChunk)*hd]
	clear(out)
	for _, run := range b.runs {
		slot, k0, cnt := run[0], run[1], run[2]
		if cnt > 0 {
			b.kv.valuesT(b.sv[k0*W:], W, slot, b.off+d0, dn, cnt, j.nq, out, chunk)
		}
	}
	for i := 0; i < j.nq; i++ {
		t := j.t + (j.i0+i)/G
		h := j.g*G + (j.i0+i)%G
		copy(r.att[t*Q+h*hd+d0:t*Q+h*hd+d1], out[i*dn:(i+1)*dn])
	}
}

// keysF32 returns the keys of slots slot…slot+n−1 (values off…off+hd−1 of
// each) as float32 rows ldk apart: the cache itself for F32, else the
// keys widened into chunk (F16 keys, which scoresT16F16 widens itself,
// only for tests).
func (c *kvCache) keysF32(slot, off, hd, n int, chunk []float32) (k []float32, ldk int) {
	w := c.width
	switch c.typ {
	case CacheF32:
		return c.k32[slot*w+off:], w
	case CacheF16:
		widenF16Rows(chunk, c.k16[slot*w+off:], w, hd, n)
	case CacheQ8_0:
		widenQ8Rows(chunk, c.k8[slot*c.rowBytes+off/32*34:], c.rowBytes, hd, n)
	}
	return chunk, hd
}

// valuesT adds Σ_{j<n} p[W·j+i]·value(slot+j)[off : off+hd] to
// out[i·hd : (i+1)·hd] for the lanes i < nq (rounded up to 8; the others
// are scratch). A Q8_0 cache is widened into chunk first.
func (c *kvCache) valuesT(p []float32, W, slot, off, hd, n, nq int, out, chunk []float32) {
	w := c.width
	switch c.typ {
	case CacheF32:
		valuesT(p, W, c.v32[slot*w+off:], w, hd, n, nq, out)
	case CacheF16:
		valuesTF16(p, W, c.v16[slot*w+off:], w, hd, n, nq, out)
	case CacheQ8_0:
		for done := 0; done < n; done += blockChunk {
			m := min(blockChunk, n-done)
			widenQ8Rows(chunk, c.v8[(slot+done)*c.rowBytes+off/32*34:], c.rowBytes, hd, m)
			valuesT(p[done*W:], W, chunk, hd, hd, m, nq, out)
		}
	}
}

// gatherQTGeneric is the specification of gatherQT: qt[d·W+i] =
// q[idx[i]+d] for d < hd, i < W = len(idx), rounded to binary16 and back
// if round.
func gatherQTGeneric(qt, q []float32, idx []int32, hd int, round bool) {
	W := len(idx)
	qt = qt[:W*hd]
	for i, o := range idx {
		row := q[o : int(o)+hd]
		for d, v := range row {
			if round {
				v = numeric.Float16FromFloat32(v).Float32()
			}
			qt[d*W+i] = v
		}
	}
}

// scoresTGeneric is the specification of scoresT: out[W·j+i] =
// Σ_{d<hd} qt[W·d+i]·k[j·ldk+d] for j < n, i < W, summed in order of d.
func scoresTGeneric(qt []float32, W int, k []float32, ldk, hd, n int, out []float32) {
	for j := 0; j < n; j++ {
		kj := k[j*ldk : j*ldk+hd]
		s := out[j*W : (j+1)*W]
		clear(s)
		for d, x := range kj {
			q := qt[d*W : (d+1)*W]
			for i := range s {
				s[i] += q[i] * x
			}
		}
	}
}

// scoresTF16Generic is the specification of scoresTF16: scoresT over
// keys widened from binary16 (ldk in values).
func scoresTF16Generic(qt []float32, W int, k []uint16, ldk, hd, n int, out []float32) {
	for j := 0; j < n; j++ {
		kj := k[j*ldk : j*ldk+hd]
		s := out[j*W : (j+1)*W]
		clear(s)
		for d, b := range kj {
			x := f16(b)
			q := qt[d*W : (d+1)*W]
			for i := range s {
				s[i] += q[i] * x
			}
		}
	}
}

// softmax16Generic is the specification of softmax16: for each lane
// i < 16, the weights p[ld·j+i] = exp(p[ld·j+i] − m) / Σ exp(p[ld·j'+i] −
// m) over the keys lo[i] ≤ j ≤ hi[i] (m their largest score; the sum in
// float64), 0 for the other keys j < n; rounded to binary16 and back if
// round. Every lane needs at least one key.
func softmax16Generic(p []float32, ld, n int, lo, hi []int32, round bool) {
	for i := 0; i < 16; i++ {
		a, b := int(lo[i]), int(hi[i])
		mx := float32(math.Inf(-1))
		for j := a; j <= b; j++ {
			mx = max(mx, p[j*ld+i])
		}
		var sum float64
		for j := 0; j < n; j++ {
			e := float32(0)
			if j >= a && j <= b {
				e = float32(math.Exp(float64(p[j*ld+i] - mx)))
				sum += float64(e)
			}
			p[j*ld+i] = e
		}
		inv := float32(1 / sum)
		for j := a; j <= b; j++ {
			v := p[j*ld+i] * inv
			if round {
				v = numeric.Float16FromFloat32(v).Float32()
			}
			p[j*ld+i] = v
		}
	}
}

// valuesTGeneric is the specification of valuesT: out[i·hd+d] +=
// Σ_{j<n} p[W·j+i]·v[j·ldv+d] for i < nq, d < hd.
func valuesTGeneric(p []float32, W int, v []float32, ldv, hd, n, nq int, out []float32) {
	for j := 0; j < n; j++ {
		vj := v[j*ldv : j*ldv+hd]
		for i := 0; i < nq; i++ {
			axpyGeneric(out[i*hd:(i+1)*hd], p[j*W+i], vj)
		}
	}
}

// valuesTF16Generic is the specification of valuesTF16: valuesT over
// values widened from binary16.
func valuesTF16Generic(p []float32, W int, v []uint16, ldv, hd, n, nq int, out []float32) {
	for j := 0; j < n; j++ {
		vj := v[j*ldv : j*ldv+hd]
		for i := 0; i < nq; i++ {
			pi, o := p[j*W+i], out[i*hd:(i+1)*hd]
			for d, b := range vj {
				o[d] += pi * f16(b)
			}
		}
	}
}

// quantQTGeneric is the specification of quantQT: each lane i < W of qt
// (hd values, transposed) as Q8_0 blocks of 32 the way ggml's
// quantize_row_q8_0 (and quantizeQ8_0) rounds: d = amax/127 rounded to
// binary16 into dq[b·W+i], codes rint(x·(127/amax)) (0 for an all-zero
// block) four to an int32 of q8[m·W+i] (values 4m…4m+3, lowest byte
// first), and 128·Σ codes of the block into corr[b·W+i].
func quantQTGeneric(qt []float32, W, hd int, q8 []int32, dq []float32, corr []int32) {
	for i := 0; i < W; i++ {
		for b := 0; b < hd/32; b++ {
			var amax float32
			for d := b * 32; d < b*32+32; d++ {
				amax = max(amax, float32(math.Abs(float64(qt[d*W+i]))))
			}
			dq[b*W+i] = numeric.Float16FromFloat32(amax / 127).Float32()
			var id float32
			if amax != 0 {
				id = 127 / amax
			}
			var sum int32
			for m := b * 8; m < b*8+8; m++ {
				var word uint32
				for k := 0; k < 4; k++ {
					c := int32(math.RoundToEven(float64(qt[(4*m+k)*W+i] * id)))
					sum += c
					word |= uint32(uint8(int8(c))) << (8 * k)
				}
				q8[m*W+i] = int32(word)
			}
			corr[b*W+i] = 128 * sum
		}
	}
}

// scoresTQ8Generic is the specification of scoresTQ8: out[W·j+i] = Σ over
// the blocks b in order of fma(float32(Σ_{d in b} cq_id·ck_jd),
// dq[b·W+i]·dk_jb, ·), where cq are the query codes of q8 and ck, dk the
// codes and scale of key j's Q8_0 block b (rows ldk bytes apart in k): the
// block products of ggml's vec_dot_q8_0_q8_0, accumulated per lane. (corr
// is the kernels' offset term and cancels here.)
func scoresTQ8Generic(q8 []int32, dq []float32, corr []int32, W int, k []byte, ldk, hd, n int, out []float32) {
	for j := 0; j < n; j++ {
		kj := k[j*ldk:]
		for i := 0; i < W; i++ {
			var acc float32
			for b := 0; b < hd/32; b++ {
				blk := kj[b*34 : b*34+34]
				var isum int32
				for m := 0; m < 8; m++ {
					word := uint32(q8[(b*8+m)*W+i])
					for t := 0; t < 4; t++ {
						isum += int32(int8(word>>(8*t))) * int32(int8(blk[2+4*m+t]))
					}
				}
				d := dq[b*W+i] * f16(uint16(blk[0])|uint16(blk[1])<<8)
				acc = float32(math.FMA(float64(isum), float64(d), float64(acc)))
			}
			out[j*W+i] = acc
		}
	}
}

// widenF16RowsGeneric is the specification of widenF16Rows: n rows of hd
// binary16 values, lds apart in src, widened into consecutive rows of dst.
func widenF16RowsGeneric(dst []float32, src []uint16, lds, hd, n int) {
	for j := 0; j < n; j++ {
		row := src[j*lds : j*lds+hd]
		for d, b := range row {
			dst[j*hd+d] = f16(b)
		}
	}
}

// widenQ8RowsGeneric is the specification of widenQ8Rows: n rows of hd
// values (hd a multiple of 32) in Q8_0 blocks, lds bytes apart in src,
// dequantized into consecutive rows of dst.
func widenQ8RowsGeneric(dst []float32, src []byte, lds, hd, n int) {
	for j := 0; j < n; j++ {
		dequantizeQ8_0(dst[j*hd:(j+1)*hd], src[j*lds:])
	}
}
