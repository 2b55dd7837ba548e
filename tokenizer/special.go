package tokenizer

import (
	"slices"
	"sort"
)

// Special pieces (control, user-defined and unknown tokens) are cut out of
// the text before the merges, as llama.cpp's tokenizer_st_partition does:
// it takes the special pieces longest first (ties in vocabulary order, see
// below) and, for each, cuts every occurrence out of the runs of text left
// by the pieces before it, left to right, an occurrence never overlapping
// the previous one. llama.cpp scans the text once per special piece
// (6,414 times for Gemma 3); matcher finds the same occurrences in one
// pass.
//
// One pass: an Aho–Corasick automaton over the special pieces reports, at
// each end position of the text, the longest piece ending there (and
// through dictionary links the shorter ones). Occurrences are then claimed
// in llama.cpp's order, by rank (the piece's place in the longest-first
// order) and, within a rank, left to right, from a heap. Because every
// piece claimed before rank r is at least as long as rank r's piece, an
// occurrence [s, e) overlaps an earlier claim exactly when byte s or byte
// e−1 is claimed: a claimed run that is at least as long and touches
// neither end cannot overlap it. So each occurrence is checked in O(1);
// once byte e−1 is claimed, every shorter piece ending at e is dead too,
// and otherwise the next shorter one is queued. The cost is linear in the
// text (and the number of occurrences) whatever the size of the
// vocabulary.
//
// Ties: llama.cpp orders pieces of equal length with std::sort, which is
// not stable, so two overlapping special pieces of the same length may
// come out in either order depending on the C++ library and the number of
// specials; matcher breaks ties by token id, which is what libstdc++ does
// for up to 16 special pieces.
type matcher struct {
	root     [256]int32 // child of the root (node 0) for each byte; 0: none
	edgeOff  []int32    // edges of node u: edgeByte/edgeNode[edgeOff[u]:edgeOff[u+1]], by byte
	edgeByte []byte
	edgeNode []int32
	fail     []int32 // longest proper suffix of node u's text that is a node
	rank     []int32 // rank of the piece that node u spells, or -1
	// out[m][u] is the node of the longest piece matched in mode m
	// (0: user-defined only, 1: all specials) that is a suffix of node
	// u's text, u included; -1 if none.
	out  [2][]int32
	ids  []int32 // token id of each rank
	lens []int   // byte length of each rank's piece
	any  [2]bool // whether mode m matches any piece
}

// newMatcher builds the automaton over pieces[ids[r]] (each non-empty and
// distinct), ids being in llama.cpp's order; onlyParsed[r] says whether
// rank r is matched only when special tokens are parsed (control and
// unknown tokens).
func newMatcher(pieces []string, ids []int32, onlyParsed []bool) *matcher {
	m := &matcher{ids: ids, lens: make([]int, len(ids))}
	// The trie, children kept per node as (byte, node) pairs.
	type edge struct {
		b byte
		n int32
	}
	kids := [][]edge{nil}
	m.rank = []int32{-1}
	for r, id := range ids {
		p := pieces[id]
		m.lens[r] = len(p)
		u := int32(0)
		for i := 0; i < len(p); i++ {
			next := int32(-1)
			for _, e := range kids[u] {
				if e.b == p[i] {
					next = e.n
					break
				}
			}
			if next < 0 {
				next = int32(len(kids))
				kids = append(kids, nil)
				m.rank = append(m.rank, -1)
				kids[u] = append(kids[u], edge{p[i], next})
			}
			u = next
		}
		if m.rank[u] < 0 { // pieces are distinct; keep the first rank anyway
			m.rank[u] = int32(r)
		}
	}
	n := len(kids)
	m.edgeOff = make([]int32, n+1)
	for u, ks := range kids {
		slices.SortFunc(ks, func(a, b edge) int { return int(a.b) - int(b.b) })
		m.edgeOff[u+1] = m.edgeOff[u] + int32(len(ks))
		for _, e := range ks {
			m.edgeByte = append(m.edgeByte, e.b)
			m.edgeNode = append(m.edgeNode, e.n)
		}
	}
	for _, e := range kids[0] {
		m.root[e.b] = e.n
	}
	// Failure and output links in breadth-first order.
	m.fail = make([]int32, n)
	m.out[0], m.out[1] = make([]int32, n), make([]int32, n)
	m.out[0][0], m.out[1][0] = -1, -1
	queue := make([]int32, 0, n)
	for _, e := range kids[0] {
		queue = append(queue, e.n)
	}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		for _, e := range kids[u] {
			m.fail[e.n] = m.step(m.fail[u], e.b)
			queue = append(queue, e.n)
		}
		f := m.fail[u]
		for mode := range m.out {
			m.out[mode][u] = m.out[mode][f]
			if r := m.rank[u]; r >= 0 && (mode == 1 || !onlyParsed[r]) {
				m.out[mode][u] = u
				m.any[mode] = true
			}
		}
	}
	return m
}

// step returns the node reached from u on byte c.
func (m *matcher) step(u int32, c byte) int32 {
	for u != 0 {
		lo, hi := m.edgeOff[u], m.edgeOff[u+1]
		for lo < hi { // binary search of the sorted edge bytes
			mid := int32(uint32(lo+hi) >> 1)
			switch b := m.edgeByte[mid]; {
			case b == c:
				return m.edgeNode[mid]
			case b < c:
				lo = mid + 1
			default:
				hi = mid
			}
		}
		u = m.fail[u]
	}
	return m.root[c]
}

// occurrence is a piece (node) of the automaton that ends at end.
type occurrence struct {
	rank, node int32
	end        int
}

// occHeap orders occurrences by rank, then end: llama.cpp's order.
type occHeap []occurrence

func (h occHeap) less(i, j int) bool {
	return h[i].rank < h[j].rank || h[i].rank == h[j].rank && h[i].end < h[j].end
}

func (h *occHeap) push(o occurrence) {
	*h = append(*h, o)
	q := *h
	for i := len(q) - 1; i > 0; {
		p := (i - 1) / 2
		if !q.less(i, p) {
			break
		}
		q[i], q[p] = q[p], q[i]
		i = p
	}
}

func (h *occHeap) pop() occurrence {
	q := *h
	top := q[0]
	last := len(q) - 1
	q[0] = q[last]
	q = q[:last]
	for i := 0; ; {
		l, small := 2*i+1, i
		if l < len(q) && q.less(l, small) {
			small = l
		}
		if l+1 < len(q) && q.less(l+1, small) {
			small = l + 1
		}
		if small == i {
			break
		}
		q[i], q[small] = q[small], q[i]
		i = small
	}
	*h = q
	return top
}

// claim is a special token cut out of the text at [start, start+len).
type claim struct {
	start int
	id    int32
}

// partition splits text into runs of raw text and special tokens (user
// defined only, or all with parseSpecial), as llama.cpp does (see
// matcher).
func (t *Tokenizer) partition(text string, parseSpecial bool) []fragment {
	if text == "" {
		return nil
	}
	m := t.match
	mode := 0
	if parseSpecial {
		mode = 1
	}
	if m == nil || !m.any[mode] {
		return []fragment{{text: text, token: -1}}
	}
	out := m.out[mode]
	var h occHeap
	u := int32(0)
	for i := 0; i < len(text); i++ {
		u = m.step(u, text[i])
		if o := out[u]; o >= 0 {
			h = append(h, occurrence{rank: m.rank[o], node: o, end: i + 1})
		}
	}
	if len(h) == 0 {
		return []fragment{{text: text, token: -1}}
	}
	sort.Slice(h, func(i, j int) bool { return h.less(i, j) }) // a sorted slice is a heap
	taken := make([]uint64, (len(text)+63)/64)
	isTaken := func(i int) bool { return taken[i>>6]&(1<<(i&63)) != 0 }
	var claims []claim
	for len(h) > 0 {
		o := h.pop()
		if isTaken(o.end - 1) {
			continue // so is every shorter piece ending here
		}
		start := o.end - m.lens[o.rank]
		if isTaken(start) {
			if next := out[m.fail[o.node]]; next >= 0 {
				h.push(occurrence{rank: m.rank[next], node: next, end: o.end})
			}
			continue
		}
		for i := start; i < o.end; i++ {
			taken[i>>6] |= 1 << (i & 63)
		}
		claims = append(claims, claim{start: start, id: m.ids[o.rank]})
	}
	slices.SortFunc(claims, func(a, b claim) int { return a.start - b.start })
	frags := make([]fragment, 0, 2*len(claims)+1)
	at := 0
	for _, c := range claims {
		if c.start > at {
			frags = append(frags, fragment{text: text[at:c.start], token: -1})
		}
		frags = append(frags, fragment{token: c.id})
		at = c.start + len(t.v.Tokens[c.id])
	}
	if at < len(text) {
		frags = append(frags, fragment{text: text[at:], token: -1})
	}
	return frags
}
