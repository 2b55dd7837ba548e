package grammar

// maxHeads bounds the parses a Matcher follows at once. An ambiguous
// grammar (anyOf alternatives with a long common prefix) can hold several;
// past the bound the later ones are dropped. That is safe: every parse
// kept can still be completed, so what is accepted stays valid — the
// matcher only narrows the choice.
const maxHeads = 64

// node is one frame of a parse stack: a position in the grammar and, for
// a counted repetition, how many items it has matched. parent is the
// arena index of the frame below (-1: the bottom).
type node struct{ pos, count, parent int32 }

// Matcher follows the bytes produced so far through a Grammar. It holds a
// small set of parse stacks (a pushdown automaton run on all parses at
// once, like llama.cpp's grammar stacks), stored as frames in one arena
// that shares common stack tails. A Matcher is not safe for concurrent
// use; Clone gives an independent copy.
type Matcher struct {
	g     *Grammar
	arena []node
	heads []int32 // top frames of the parses; -1: a finished parse
	buf   []int32 // scratch: head lists of the levels being built
	from  int     // start in buf of the level being built (dedup)
	lvl   []level // Fill's levels
	live  int     // arena size after the last compaction
	n     int     // bytes accepted
	// noFast turns off Fill's shortcut inside strings (tests compare).
	noFast bool
}

// level is one depth of Fill's walk: heads buf[start:end], arena length.
type level struct{ start, end, arena int }

// Matcher returns a Matcher at the start of the grammar.
func (g *Grammar) Matcher() *Matcher {
	m := &Matcher{g: g}
	m.Reset()
	return m
}

// Reset returns m to the start of its grammar.
func (m *Matcher) Reset() {
	m.arena = append(m.arena[:0], node{pos: m.g.start, parent: -1})
	m.heads = append(m.heads[:0], 0)
	m.live, m.n = 1, 0
}

// Clone returns an independent copy of m in the same state.
func (m *Matcher) Clone() *Matcher {
	return &Matcher{g: m.g, arena: append([]node(nil), m.arena...), heads: append([]int32(nil), m.heads...), live: m.live, n: m.n}
}

// Accept advances m over b and reports true if every byte of b is
// accepted; otherwise m is unchanged and Accept reports false. An empty b
// is accepted.
func (m *Matcher) Accept(b []byte) bool {
	mark := len(m.arena)
	cur, ok := m.run(b)
	if !ok {
		m.arena = m.arena[:mark]
		return false
	}
	if len(b) > 0 {
		m.heads = append(m.heads[:0], cur...)
		m.n += len(b)
	}
	m.buf = m.buf[:0]
	if len(m.arena) > 4096 && len(m.arena) > 4*m.live {
		m.compact()
	}
	return true
}

// Allows reports whether Accept(b) would succeed, without changing m. It
// does not allocate once m's buffers have grown to the grammar's needs.
func (m *Matcher) Allows(b []byte) bool {
	mark := len(m.arena)
	_, ok := m.run(b)
	m.arena = m.arena[:mark]
	m.buf = m.buf[:0]
	return ok
}

// run feeds b from the committed heads and returns the final heads (in
// m.buf) and whether every byte was accepted. Frames it makes stay in the
// arena past its length on entry.
func (m *Matcher) run(b []byte) ([]int32, bool) {
	buf := m.buf[:0]
	cur := m.heads
	for _, c := range b {
		from := len(buf)
		buf = m.advance(cur, c, buf)
		if len(buf) == from {
			m.buf = buf
			return nil, false
		}
		cur = buf[from:]
	}
	m.buf = buf
	return cur, true
}

// Len returns the number of bytes accepted since the start.
func (m *Matcher) Len() int { return m.n }

// Done reports whether the bytes accepted so far form a complete sentence
// of the grammar (for a JSON grammar: a complete value). More bytes may
// still be accepted (a number can take more digits): see More.
func (m *Matcher) Done() bool {
	for _, h := range m.heads {
		if m.complete(h) {
			return true
		}
	}
	return false
}

// More reports whether some byte can be accepted next. When Done is true
// and More false, generation must end.
func (m *Matcher) More() bool {
	return !m.next().empty()
}

// Next appends to dst the bytes that can be accepted next, in increasing
// order.
func (m *Matcher) Next(dst []byte) []byte {
	s := m.next()
	for c := range 256 {
		if s.has(byte(c)) {
			dst = append(dst, byte(c))
		}
	}
	return dst
}

// next returns the set of bytes that can be accepted next.
func (m *Matcher) next() byteSet {
	g := m.g
	var s byteSet
	for _, h := range m.heads {
		for h >= 0 {
			n := m.arena[h]
			e := g.elems[n.pos]
			if e.kind == kRepeat {
				if e.max < 0 || n.count < e.max {
					s = s.union(g.ruleFirst[e.arg])
				}
				if n.count < e.min {
					break
				}
				s = s.union(g.first[g.firstOf[n.pos+1]])
				if !g.null[n.pos+1] {
					break
				}
			} else {
				s = s.union(g.first[g.firstOf[n.pos]])
				if !g.null[n.pos] {
					break
				}
			}
			h = n.parent
		}
	}
	return s
}

// complete reports whether the parse with top frame h can end here.
func (m *Matcher) complete(h int32) bool {
	g := m.g
	for h >= 0 {
		n := m.arena[h]
		e := g.elems[n.pos]
		if e.kind == kRepeat {
			if n.count < e.min || !g.null[n.pos+1] {
				return false
			}
		} else if !g.null[n.pos] {
			return false
		}
		h = n.parent
	}
	return true
}

// push adds a frame to the arena and returns its index.
func (m *Matcher) push(n node) int32 {
	m.arena = append(m.arena, n)
	return int32(len(m.arena) - 1)
}

// after returns the frame that continues after the element at n.pos (a
// byte or a rule reference): the parent itself when the element ends its
// alternative, so stacks do not grow on tail references.
func (m *Matcher) after(n node) int32 {
	p := n.pos + 1
	if m.g.elems[p].kind == kEnd {
		return n.parent
	}
	return m.push(node{pos: p, parent: n.parent})
}

// advance feeds byte c to each parse of src and appends the resulting
// heads, without duplicates, to dst.
func (m *Matcher) advance(src []int32, c byte, dst []int32) []int32 {
	m.from = len(dst)
	for _, h := range src {
		if h >= 0 {
			dst = m.step(m.arena[h], c, dst, false)
		}
	}
	return dst
}

// step feeds byte c to the parse whose top frame is n. Rules are entered
// only through alternatives whose FIRST set holds c. fresh says the frame
// was entered for c in this step: reaching its end without consuming c is
// a path the caller already follows (the rule is nullable), so it stops.
func (m *Matcher) step(n node, c byte, dst []int32, fresh bool) []int32 {
	g := m.g
	for {
		e := g.elems[n.pos]
		switch e.kind {
		case kByte:
			if !g.sets[e.arg].has(c) {
				return dst
			}
			return m.addHead(dst, m.after(n))
		case kEnd:
			if fresh || n.parent < 0 {
				return dst
			}
			n = m.arena[n.parent]
		case kRef:
			if g.ruleFirst[e.arg].has(c) {
				ret := m.after(n)
				for _, a := range g.alts[e.arg] {
					if g.first[g.firstOf[a]].has(c) {
						dst = m.step(node{pos: a, parent: ret}, c, dst, true)
					}
				}
			}
			if !g.ruleNull[e.arg] {
				return dst
			}
			n = node{pos: n.pos + 1, parent: n.parent}
		case kRepeat:
			if (e.max < 0 || n.count < e.max) && g.ruleFirst[e.arg].has(c) {
				nc := n.count + 1
				if e.max < 0 && nc > e.min {
					nc = e.min // past min an unbounded count no longer matters
				}
				ret := m.push(node{pos: n.pos, count: nc, parent: n.parent})
				for _, a := range g.alts[e.arg] {
					if g.first[g.firstOf[a]].has(c) {
						dst = m.step(node{pos: a, parent: ret}, c, dst, true)
					}
				}
			}
			if n.count < e.min {
				return dst
			}
			n = node{pos: n.pos + 1, parent: n.parent}
		}
	}
}

// addHead appends head h to the level being built unless an equal parse
// is there already or the level is full.
func (m *Matcher) addHead(dst []int32, h int32) []int32 {
	for _, x := range dst[m.from:] {
		if m.same(x, h) {
			return dst
		}
	}
	if len(dst)-m.from >= maxHeads {
		return dst
	}
	return append(dst, h)
}

// same reports whether the stacks with tops a and b are equal.
func (m *Matcher) same(a, b int32) bool {
	for a != b {
		if a < 0 || b < 0 {
			return false
		}
		na, nb := m.arena[a], m.arena[b]
		if na.pos != nb.pos || na.count != nb.count {
			return false
		}
		a, b = na.parent, nb.parent
	}
	return true
}

// compact copies the frames reachable from the heads into a new arena.
func (m *Matcher) compact() {
	remap := make([]int32, len(m.arena))
	for i := range remap {
		remap[i] = -1
	}
	out := make([]node, 0, 2*len(m.heads)+64)
	var chain []int32
	for i, h := range m.heads {
		chain = chain[:0]
		for x := h; x >= 0 && remap[x] < 0; x = m.arena[x].parent {
			chain = append(chain, x)
		}
		for j := len(chain) - 1; j >= 0; j-- {
			x := chain[j]
			n := m.arena[x]
			if n.parent >= 0 {
				n.parent = remap[n.parent]
			}
			remap[x] = int32(len(out))
			out = append(out, n)
		}
		if h >= 0 {
			m.heads[i] = remap[h]
		}
	}
	m.arena = out
	m.live = len(out)
}
