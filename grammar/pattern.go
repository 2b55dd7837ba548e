package grammar

import (
	"regexp/syntax"
	"unicode"
	"unicode/utf8"
)

// pattern returns the rule of the JSON strings whose value matches the
// regular expression p. p is read as Go RE2 syntax (syntax.Perl), which
// agrees with ECMA-262 on the common subset; lookaround and backreferences
// are errors. As in JSON Schema, p is unanchored unless it starts with ^
// or ends with $. Characters the pattern matches are written raw in UTF-8
// except '"', '\' and the C0 controls, which are escaped.
func (c *compiler) pattern(p, path string) (int32, error) {
	re, err := syntax.Parse(p, syntax.Perl)
	if err != nil {
		return 0, errf(path, "pattern", ErrUnsupported, "pattern %q: %v (patterns are read as RE2: no lookaround, no backreferences)", p, err)
	}
	subs := []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		subs = re.Sub
	}
	anyText := &syntax.Regexp{Op: syntax.OpStar, Sub: []*syntax.Regexp{{Op: syntax.OpAnyChar}}}
	if len(subs) > 0 && subs[0].Op == syntax.OpBeginText {
		subs = subs[1:]
	} else {
		subs = append([]*syntax.Regexp{anyText}, subs...)
	}
	if n := len(subs); n > 0 && subs[n-1].Op == syntax.OpEndText {
		subs = subs[:n-1]
	} else {
		subs = append(subs, anyText)
	}
	re = &syntax.Regexp{Op: syntax.OpConcat, Sub: subs}
	if len(subs) == 0 {
		re = &syntax.Regexp{Op: syntax.OpEmptyMatch}
	}
	var assert func(r *syntax.Regexp) bool
	assert = func(r *syntax.Regexp) bool {
		switch r.Op {
		case syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
			return true
		}
		for _, s := range r.Sub {
			if assert(s) {
				return true
			}
		}
		return false
	}
	if assert(re) {
		return 0, errf(path, "pattern", ErrUnsupported, "pattern %q: anchors and \\b are supported only as a leading ^ and a trailing $", p)
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return 0, errf(path, "pattern", ErrUnsupported, "pattern %q: %v", p, err)
	}
	if len(prog.Inst) > MaxElements/16 {
		return 0, errf(path, "pattern", ErrTooLarge, "pattern %q compiles to %d instructions", p, len(prog.Inst))
	}
	rules := map[uint32]int32{}
	var state func(pc uint32) (int32, error)
	// state returns the rule of the rest of the string from pc: each
	// instruction that consumes a character, reached through the empty
	// ones, becomes an alternative: its encodings, then the next state.
	state = func(pc uint32) (int32, error) {
		if r, ok := rules[pc]; ok {
			return r, nil
		}
		r := c.b.newRule(path + "/pattern")
		rules[pc] = r
		seen := map[uint32]bool{}
		var alts [][]item
		match := false
		var walk func(pc uint32) error
		walk = func(pc uint32) error {
			if seen[pc] {
				return nil
			}
			seen[pc] = true
			in := &prog.Inst[pc]
			switch in.Op {
			case syntax.InstAlt, syntax.InstAltMatch:
				if err := walk(in.Out); err != nil {
					return err
				}
				return walk(in.Arg)
			case syntax.InstCapture, syntax.InstNop, syntax.InstEmptyWidth:
				return walk(in.Out)
			case syntax.InstMatch:
				match = true
			case syntax.InstRune, syntax.InstRune1, syntax.InstRuneAny, syntax.InstRuneAnyNotNL:
				next, err := state(in.Out)
				if err != nil {
					return err
				}
				for _, s := range jsonRuneSeqs(instRanges(in)) {
					alts = append(alts, append(c.b.seqItems(s), ref(next)))
				}
			}
			return nil
		}
		if err := walk(pc); err != nil {
			return 0, err
		}
		if match {
			alts = append(alts, nil)
		}
		return r, c.b.setAlts(r, alts...)
	}
	body, err := state(uint32(prog.Start))
	if err != nil {
		return 0, err
	}
	q := c.b.set(setOf('"'))
	return c.b.rule(path+"/pattern", one(q, ref(body), q))
}

// instRanges returns the rune ranges (lo, hi pairs) a rune instruction
// matches.
func instRanges(in *syntax.Inst) []rune {
	switch in.Op {
	case syntax.InstRuneAny:
		return []rune{0, unicode.MaxRune}
	case syntax.InstRuneAnyNotNL:
		// ECMA-262's . excludes every line terminator.
		return []rune{0, '\n' - 1, '\n' + 1, '\r' - 1, '\r' + 1, 0x2027, 0x202A, unicode.MaxRune}
	}
	if len(in.Rune) == 1 {
		r := in.Rune[0]
		out := []rune{r, r}
		if syntax.Flags(in.Arg)&syntax.FoldCase != 0 {
			for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
				out = append(out, f, f)
			}
		}
		return out
	}
	return in.Rune
}

// jsonRuneSeqs returns the byte-class sequences of the runes in ranges as
// they are written inside a JSON string.
func jsonRuneSeqs(ranges []rune) [][]byteSet {
	const hex = "0123456789abcdef"
	var out [][]byteSet
	for i := 0; i+1 < len(ranges); i += 2 {
		lo, hi := ranges[i], ranges[i+1]
		for r := lo; r <= hi && r < 0x20; r++ {
			switch r {
			case '\b', '\f', '\n', '\r', '\t':
				out = append(out, []byteSet{setOf('\\'), setOf(map[rune]byte{'\b': 'b', '\f': 'f', '\n': 'n', '\r': 'r', '\t': 't'}[r])})
			default:
				lower, upper := hex[r&15], hex[r&15]
				if upper >= 'a' {
					upper -= 'a' - 'A'
				}
				out = append(out, []byteSet{setOf('\\'), setOf('u'), setOf('0'), setOf('0'), setOf(hex[r>>4]), setOf(lower, upper)})
			}
		}
		lo = max(lo, 0x20)
		for _, sp := range []rune{'"', '\\'} {
			if lo <= sp && sp <= hi {
				out = append(out, []byteSet{setOf('\\'), setOf(byte(sp))})
				out = utf8Seqs(lo, sp-1, out)
				lo = sp + 1
			}
		}
		out = utf8Seqs(lo, hi, out)
	}
	return out
}

// utf8Seqs appends the byte-class sequences of the UTF-8 encodings of the
// runes lo..hi, surrogates excluded (the split of RE2's and Rust's
// utf8-ranges: each sequence is a product of byte ranges).
func utf8Seqs(lo, hi rune, out [][]byteSet) [][]byteSet {
	if lo > hi {
		return out
	}
	if lo <= 0xDFFF && hi >= 0xD800 {
		return utf8Seqs(0xE000, hi, utf8Seqs(lo, 0xD7FF, out))
	}
	for _, m := range []rune{0x7F, 0x7FF, 0xFFFF} {
		if lo <= m && hi > m {
			return utf8Seqs(m+1, hi, utf8Seqs(lo, m, out))
		}
	}
	if hi <= 0x7F {
		return append(out, []byteSet{rangeSet(byte(lo), byte(hi))})
	}
	n := utf8.RuneLen(lo)
	for i := 1; i < n; i++ {
		m := rune(1)<<(6*i) - 1
		if lo&^m != hi&^m {
			if lo&m != 0 {
				return utf8Seqs((lo|m)+1, hi, utf8Seqs(lo, lo|m, out))
			}
			if hi&m != m {
				return utf8Seqs(hi&^m, hi, utf8Seqs(lo, (hi&^m)-1, out))
			}
		}
	}
	a, b := utf8.AppendRune(nil, lo), utf8.AppendRune(nil, hi)
	s := make([]byteSet, n)
	for i := range s {
		s[i] = rangeSet(a[i], b[i])
	}
	return append(out, s)
}
