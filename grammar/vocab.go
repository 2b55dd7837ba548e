package grammar

import (
	"bytes"
	"slices"
	"unicode/utf8"
)

// Vocab is a token vocabulary as byte strings, indexed for Matcher.Fill:
// the tokens sorted by their bytes, with the length of the prefix each
// shares with the one before, so that Fill walks every distinct prefix
// once and drops all tokens under a rejected prefix together; and the
// tokens made only of plain JSON string characters, which Fill takes
// without a walk inside a string. It is immutable and safe for concurrent
// use.
type Vocab struct {
	n      int
	data   []byte
	off    []int32 // token id i is data[off[i]:off[i+1]]
	maxLen int
	all    walkOrder // the non-empty tokens
	// chars[i] is the number of characters of token i if it is made only
	// of characters a JSON string holds unescaped (fewer than 255), else 0;
	// special lists the other non-empty tokens.
	chars   []uint8
	special walkOrder
}

// walkOrder is a list of token ids sorted by their bytes, with lcp[i] the
// length of the prefix order[i] shares with order[i-1].
type walkOrder struct {
	order []int32
	lcp   []int32
}

func (v *Vocab) sorted(ids []int32) walkOrder {
	slices.SortFunc(ids, func(a, b int32) int {
		if c := bytes.Compare(v.Bytes(int(a)), v.Bytes(int(b))); c != 0 {
			return c
		}
		return int(a - b)
	})
	w := walkOrder{order: ids, lcp: make([]int32, len(ids))}
	for i := 1; i < len(ids); i++ {
		a, b := v.Bytes(int(ids[i-1])), v.Bytes(int(ids[i]))
		n := 0
		for n < len(a) && n < len(b) && a[n] == b[n] {
			n++
		}
		w.lcp[i] = int32(n)
	}
	return w
}

// NewVocab indexes tokens (token id i has the bytes tokens[i]). Empty
// tokens (control tokens, unused pieces) are never allowed by Fill.
func NewVocab(tokens [][]byte) *Vocab {
	v := &Vocab{n: len(tokens), off: make([]int32, len(tokens)+1), chars: make([]uint8, len(tokens))}
	total := 0
	for _, t := range tokens {
		total += len(t)
	}
	v.data = make([]byte, 0, total)
	var all, special []int32
	for i, t := range tokens {
		v.data = append(v.data, t...)
		v.off[i+1] = int32(len(v.data))
		if len(t) == 0 {
			continue
		}
		all = append(all, int32(i))
		v.chars[i] = plainChars(t)
		if v.chars[i] == 0 {
			special = append(special, int32(i))
		}
		v.maxLen = max(v.maxLen, len(t))
	}
	v.all, v.special = v.sorted(all), v.sorted(special)
	return v
}

// plainChars returns the number of characters of t if t is well-formed
// UTF-8 of characters a JSON string holds unescaped (as charSeqs has them:
// no C0 control, DEL, '"' or '\'), fewer than 255; else 0.
func plainChars(t []byte) uint8 {
	n := 0
	for i := 0; i < len(t); n++ {
		c := t[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == '"' || c == '\\' || c == 0x7F {
				return 0
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(t[i:])
		if r == utf8.RuneError && size == 1 {
			return 0
		}
		i += size
	}
	if n >= 255 {
		return 0
	}
	return uint8(n)
}

// Len returns the number of token ids.
func (v *Vocab) Len() int { return v.n }

// Bytes returns the bytes of token id (shared; do not modify).
func (v *Vocab) Bytes(id int) []byte { return v.data[v.off[id]:v.off[id+1]:v.off[id+1]] }

// Fill sets allow[id] to whether m would accept the bytes of token id, for
// every id of v, and returns the number allowed. Empty tokens are not
// allowed. It panics if len(allow) < v.Len(). It walks the tokens in byte
// order, reusing the state of the shared prefix, and skips every token
// under a prefix that is rejected (a rejected first byte skips its whole
// range); inside a JSON string it takes the tokens of plain characters
// that fit at once and walks only the others. It does not allocate once
// m's buffers have grown.
func (m *Matcher) Fill(v *Vocab, allow []bool) int {
	clear(allow[:v.n])
	w, count := v.all, 0
	if room, ok := m.inString(); ok {
		for id, n := range v.chars {
			if n > 0 && (room < 0 || int(n) <= room) {
				allow[id] = true
				count++
			}
		}
		w = v.special
	}
	return count + m.walk(v, w, allow)
}

// inString reports whether Fill may take the tokens of plain characters
// at once, and how many characters they may have (-1: any number): either
// one parse is inside a JSON string, or one of several is inside a string
// of unbounded length (a token the other parses accept is plain or walked).
func (m *Matcher) inString() (room int, ok bool) {
	if m.noFast {
		return 0, false
	}
	for _, h := range m.heads {
		if h < 0 {
			continue
		}
		n := m.arena[h]
		e := m.g.elems[n.pos]
		if e.kind != kRepeat || !m.g.plain[e.arg] {
			continue
		}
		if e.max < 0 {
			return -1, true
		}
		if len(m.heads) == 1 {
			return int(e.max - n.count), true
		}
	}
	return 0, false
}

// walk sets allow for the tokens of w that m accepts and returns their
// number.
func (m *Matcher) walk(v *Vocab, w walkOrder, allow []bool) int {
	if len(w.order) == 0 {
		return 0
	}
	mark := len(m.arena)
	buf := append(m.buf[:0], m.heads...)
	if len(m.lvl) < v.maxLen+1 {
		m.lvl = make([]level, v.maxLen+1)
	}
	lv := m.lvl
	lv[0] = level{start: 0, end: len(buf), arena: mark}
	depth, count := 0, 0
	for i := 0; i < len(w.order); i++ {
		id := w.order[i]
		t := v.data[v.off[id]:v.off[id+1]]
		d := min(int(w.lcp[i]), depth)
		buf, m.arena = buf[:lv[d].end], m.arena[:lv[d].arena]
		depth = d
		ok := true
		for ; d < len(t); d++ {
			from := len(buf)
			buf = m.advance(buf[lv[d].start:lv[d].end], t[d], buf)
			if len(buf) == from {
				// Every following token that shares t[:d+1] is rejected too.
				for i+1 < len(w.order) && int(w.lcp[i+1]) > d {
					i++
				}
				ok = false
				break
			}
			lv[d+1] = level{start: from, end: len(buf), arena: len(m.arena)}
			depth = d + 1
		}
		if ok {
			allow[id] = true
			count++
		}
	}
	m.buf, m.arena = buf[:0], m.arena[:mark]
	return count
}
