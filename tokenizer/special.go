package tokenizer

import (
	"slices"
	"sort"
	"strings"
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
	// Nodes are numbered breadth first, so the children of node u are the
	// consecutive nodes kids[u] … kids[u+1]−1, sorted by their label (the
	// byte that leads to them); node 0 is the root.
	kids  []int32
	label []byte
	root  [256]int32 // child of the root for each byte; 0: none
	fail  []int32    // longest proper suffix of node u's text that is a node
	rank  []int32    // rank of the piece that node u spells, or -1
	// out[m][u] is the node of the longest piece matched in mode m
	// (0: user-defined only, 1: all specials) that is a suffix of node
	// u's text, u included; -1 if none.
	out  [2][]int32
	ids  []int32 // token id of each rank
	lens []int   // byte length of each rank's piece
	any  [2]bool // whether mode m matches any piece
}

// matcherNodeBytes is what the automaton keeps per node (kids, label,
// fail, rank, out), and what it needs at most while it is built.
const (
	matcherNodeBytes  = 4 + 1 + 4 + 4 + 2*4
	matcherBuildBytes = matcherNodeBytes + 4*4 + 1
)

// newMatcher builds the automaton over pieces[ids[r]] (each non-empty and
// distinct), ids being in llama.cpp's order; onlyParsed[r] says whether
// rank r is matched only when special tokens are parsed (control and
// unknown tokens). Its size is one node per distinct prefix of the
// pieces, at most their total length plus one.
func newMatcher(pieces []string, ids []int32, onlyParsed []bool) *matcher {
	m := &matcher{ids: ids, lens: make([]int, len(ids))}
	size := 1
	for r, id := range ids {
		m.lens[r] = len(pieces[id])
		size += m.lens[r]
	}
	// A trie in first-child/next-sibling form, built from the pieces in
	// lexical order: a byte's child, if any, is then its parent's last.
	byText := make([]int32, len(ids))
	for r := range byText {
		byText[r] = int32(r)
	}
	slices.SortFunc(byText, func(a, b int32) int { return strings.Compare(pieces[ids[a]], pieces[ids[b]]) })
	first, last, sibling, rank := make([]int32, 1, size), make([]int32, 1, size), make([]int32, 1, size), make([]int32, 1, size)
	first[0], last[0], sibling[0], rank[0] = -1, -1, -1, -1
	label := make([]byte, 1, size)
	for _, r := range byText {
		p := pieces[ids[r]]
		u := int32(0)
		for i := 0; i < len(p); i++ {
			if l := last[u]; l >= 0 && label[l] == p[i] {
				u = l
				continue
			}
			v := int32(len(label))
			first, last, sibling, rank = append(first, -1), append(last, -1), append(sibling, -1), append(rank, -1)
			label = append(label, p[i])
			if last[u] >= 0 {
				sibling[last[u]] = v
			} else {
				first[u] = v
			}
			last[u] = v
			u = v
		}
		rank[u] = r
	}
	// Number the nodes breadth first.
	n := len(label)
	order := make([]int32, 0, n) // order[new] = old
	order = append(order, 0)
	m.kids = make([]int32, n+1)
	for i := 0; i < len(order); i++ {
		m.kids[i] = int32(len(order))
		for c := first[order[i]]; c >= 0; c = sibling[c] {
			order = append(order, c)
		}
	}
	m.kids[n] = int32(n)
	first, last, sibling = nil, nil, nil
	m.label, m.rank = make([]byte, n), make([]int32, n)
	for v, old := range order {
		m.label[v], m.rank[v] = label[old], rank[old]
	}
	order, label, rank = nil, nil, nil
	for v := m.kids[0]; v < m.kids[1]; v++ {
		m.root[m.label[v]] = v
	}
	// Failure and output links, breadth first.
	m.fail = make([]int32, n)
	m.out[0], m.out[1] = make([]int32, n), make([]int32, n)
	m.out[0][0], m.out[1][0] = -1, -1
	for u := int32(0); u < int32(n); u++ {
		if u > 0 {
			f := m.fail[u]
			for mode := range m.out {
				m.out[mode][u] = m.out[mode][f]
				if r := m.rank[u]; r >= 0 && (mode == 1 || !onlyParsed[r]) {
					m.out[mode][u] = u
					m.any[mode] = true
				}
			}
		}
		for v := m.kids[u]; v < m.kids[u+1]; v++ {
			if u > 0 {
				m.fail[v] = m.step(m.fail[u], m.label[v])
			}
		}
	}
	return m
}

// step returns the node reached from u on byte c.
func (m *matcher) step(u int32, c byte) int32 {
	for u != 0 {
		lo, hi := m.kids[u], m.kids[u+1]
		for lo < hi { // binary search of the children's labels
			mid := int32(uint32(lo+hi) >> 1)
			switch b := m.label[mid]; {
			case b == c:
				return mid
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
