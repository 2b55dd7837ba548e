package grammar

import (
	"errors"
	"fmt"
)

// ErrSchema is wrapped by the error for a schema that is not valid JSON
// Schema (a keyword of the wrong type, a $ref that resolves to nothing).
var ErrSchema = errors.New("grammar: invalid schema")

// ErrUnsupported is wrapped by the error for a valid schema keyword or
// value this package cannot turn into a grammar (uniqueItems, a remote
// $ref, a lookahead in a pattern).
var ErrUnsupported = errors.New("grammar: unsupported schema")

// ErrEmpty is wrapped by the error for a schema no JSON value satisfies
// (minItems above maxItems, an empty enum, a $ref cycle with no base
// case): there is nothing to generate.
var ErrEmpty = errors.New("grammar: schema admits no value")

// ErrTooLarge is wrapped by the error for a schema whose grammar exceeds
// MaxElements.
var ErrTooLarge = errors.New("grammar: schema too large")

// MaxElements bounds the size of a compiled grammar (one element is one
// byte class, rule reference or counted repetition; 16 bytes each plus its
// FIRST set). A schema from a request cannot make more.
const MaxElements = 1 << 20

// SchemaError reports a schema keyword that cannot be compiled. It unwraps
// to ErrSchema, ErrUnsupported, ErrEmpty or ErrTooLarge.
type SchemaError struct {
	Path    string // JSON pointer of the schema object, "#" for the root
	Keyword string // the keyword at fault ("" when it is the whole schema)
	Msg     string
	Err     error
}

func (e *SchemaError) Error() string {
	at := e.Path
	if e.Keyword != "" {
		at += "/" + e.Keyword
	}
	return fmt.Sprintf("grammar: schema %s: %s", at, e.Msg)
}

func (e *SchemaError) Unwrap() error { return e.Err }

// byteSet is a set of bytes.
type byteSet [4]uint64

func (s *byteSet) addRange(lo, hi byte) {
	for c := int(lo); c <= int(hi); c++ {
		s[c>>6] |= 1 << (c & 63)
	}
}

func (s *byteSet) add(c byte) { s[c>>6] |= 1 << (c & 63) }

func (s byteSet) has(c byte) bool { return s[c>>6]>>(c&63)&1 != 0 }

func (s byteSet) empty() bool { return s[0]|s[1]|s[2]|s[3] == 0 }

func (s byteSet) union(t byteSet) byteSet {
	return byteSet{s[0] | t[0], s[1] | t[1], s[2] | t[2], s[3] | t[3]}
}

func (s byteSet) minus(t byteSet) byteSet {
	return byteSet{s[0] &^ t[0], s[1] &^ t[1], s[2] &^ t[2], s[3] &^ t[3]}
}

// setOf returns the set of the given bytes.
func setOf(cs ...byte) byteSet {
	var s byteSet
	for _, c := range cs {
		s.add(c)
	}
	return s
}

// rangeSet returns the set lo..hi.
func rangeSet(lo, hi byte) byteSet {
	var s byteSet
	s.addRange(lo, hi)
	return s
}

// kind is the kind of a grammar element.
type kind uint8

const (
	kEnd    kind = iota // the end of an alternative
	kByte               // one byte of the set sets[arg]
	kRef                // rule arg
	kRepeat             // rule arg, min to max times (max < 0: unbounded)
)

// elem is one element of an alternative, as laid out in Grammar.elems.
type elem struct {
	kind     kind
	arg      int32
	min, max int32
}

// Grammar is a compiled context-free grammar over bytes. It is immutable
// and safe for concurrent use; each generation runs its own Matcher.
type Grammar struct {
	elems []elem
	sets  []byteSet // byte classes of kByte elements
	alts  [][]int32 // rule → the start positions of its alternatives
	// first[firstOf[p]] is the set of bytes that can be matched first from
	// position p up to the end of its alternative; null[p] says whether the
	// rest of the alternative from p can match nothing (a kRepeat position
	// is seen with count 0).
	firstOf   []int32
	first     []byteSet
	null      []bool
	ruleFirst []byteSet
	ruleNull  []bool
	start     int32 // position of the start alternative [ref root, end]
	// plain marks the rules of one JSON string character (json:char,
	// json:key-char): every plain character is one of their alternatives,
	// so in a repetition of one Fill takes the tokens of plain characters
	// at once.
	plain []bool
}

// item is an element while a grammar is being built.
type item struct {
	kind     kind
	arg      int32
	min, max int32
}

// builder collects rules; compile lays them out as a Grammar.
type builder struct {
	rules  [][][]item // rule → alternatives → items
	names  []string   // rule → the schema path it was made for (errors)
	sets   []byteSet
	setIdx map[byteSet]int32
	memo   map[string]int32 // shared rules (JSON primitives)
	size   int
}

func newBuilder() *builder {
	return &builder{setIdx: map[byteSet]int32{}, memo: map[string]int32{}}
}

// newRule returns a new rule without alternatives (set them with setAlts).
func (b *builder) newRule(name string) int32 {
	b.rules = append(b.rules, nil)
	b.names = append(b.names, name)
	return int32(len(b.rules) - 1)
}

// setAlts sets the alternatives of rule r.
func (b *builder) setAlts(r int32, alts ...[]item) error {
	for _, a := range alts {
		b.size += len(a) + 1
	}
	if b.size > MaxElements {
		return &SchemaError{Path: b.names[r], Msg: fmt.Sprintf("the grammar exceeds %d elements", MaxElements), Err: ErrTooLarge}
	}
	b.rules[r] = alts
	return nil
}

// rule returns a new rule with the given alternatives.
func (b *builder) rule(name string, alts ...[]item) (int32, error) {
	r := b.newRule(name)
	return r, b.setAlts(r, alts...)
}

// set returns an item matching one byte of s.
func (b *builder) set(s byteSet) item {
	i, ok := b.setIdx[s]
	if !ok {
		i = int32(len(b.sets))
		b.sets = append(b.sets, s)
		b.setIdx[s] = i
	}
	return item{kind: kByte, arg: i}
}

// lit returns the items matching s.
func (b *builder) lit(s string) []item {
	out := make([]item, len(s))
	for i := range len(s) {
		out[i] = b.set(setOf(s[i]))
	}
	return out
}

func ref(r int32) item { return item{kind: kRef, arg: r} }

// rep returns an item matching rule r min to max times (max < 0:
// unbounded). Rule r must not match the empty string.
func rep(r int32, min, max int32) item { return item{kind: kRepeat, arg: r, min: min, max: max} }

// seq concatenates item lists.
func seq(parts ...[]item) []item {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out := make([]item, 0, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// one wraps items as a list.
func one(it ...item) []item { return it }

// compile lays out the rules reachable from root as a Grammar: it drops
// the alternatives that cannot match any finite string, and rejects an
// empty language, a repetition of a rule that matches the empty string and
// left recursion.
func (b *builder) compile(root int32) (*Grammar, error) {
	n := len(b.rules)
	// Productive rules: some alternative matches a finite string.
	prod := make([]bool, n)
	itemProd := func(it item) bool {
		switch it.kind {
		case kRef:
			return prod[it.arg]
		case kRepeat:
			return it.min == 0 || prod[it.arg]
		}
		return true
	}
	for changed := true; changed; {
		changed = false
		for r, alts := range b.rules {
			if prod[r] {
				continue
			}
		alt:
			for _, a := range alts {
				for _, it := range a {
					if !itemProd(it) {
						continue alt
					}
				}
				prod[r], changed = true, true
				break
			}
		}
	}
	if !prod[root] {
		return nil, &SchemaError{Path: b.names[root], Msg: "no JSON value satisfies the schema", Err: ErrEmpty}
	}
	// Drop what cannot match: alternatives with an unproductive item, and
	// repetitions (of min 0) of an unproductive rule.
	for r, alts := range b.rules {
		kept := alts[:0:0]
	next:
		for _, a := range alts {
			var out []item
			for _, it := range a {
				if !itemProd(it) {
					continue next
				}
				if it.kind == kRepeat && !prod[it.arg] || it.kind == kRepeat && it.max == 0 {
					continue // matches only the empty string
				}
				out = append(out, it)
			}
			kept = append(kept, out)
		}
		b.rules[r] = kept
	}
	// Nullable rules.
	null := make([]bool, n)
	for changed := true; changed; {
		changed = false
		for r, alts := range b.rules {
			if null[r] {
				continue
			}
		nalt:
			for _, a := range alts {
				for _, it := range a {
					if it.kind == kByte || it.kind == kRef && !null[it.arg] || it.kind == kRepeat && it.min > 0 && !null[it.arg] {
						continue nalt
					}
				}
				null[r], changed = true, true
				break
			}
		}
	}
	for _, alts := range b.rules {
		for _, a := range alts {
			for _, it := range a {
				if it.kind == kRepeat && null[it.arg] {
					return nil, &SchemaError{Path: b.names[it.arg], Msg: "a repeated part matches the empty string", Err: ErrUnsupported}
				}
			}
		}
	}
	// Left recursion: r derives s first without consuming a byte.
	state := make([]uint8, n) // 0 new, 1 on the path, 2 done
	var visit func(r int32) error
	visit = func(r int32) error {
		state[r] = 1
		for _, a := range b.rules[r] {
			for _, it := range a {
				if it.kind == kByte {
					break
				}
				switch state[it.arg] {
				case 1:
					return &SchemaError{Path: b.names[it.arg], Msg: "a $ref cycle reaches itself before any output (left recursion)", Err: ErrUnsupported}
				case 0:
					if err := visit(it.arg); err != nil {
						return err
					}
				}
				if it.kind == kRef && !null[it.arg] || it.kind == kRepeat && it.min > 0 {
					break
				}
			}
		}
		state[r] = 2
		return nil
	}
	if err := visit(root); err != nil {
		return nil, err
	}
	for r := range n {
		if state[r] == 0 {
			if err := visit(int32(r)); err != nil {
				return nil, err
			}
		}
	}
	// Layout: the start alternative, then every rule's alternatives.
	g := &Grammar{sets: b.sets, alts: make([][]int32, n)}
	g.elems = append(g.elems, elem{kind: kRef, arg: root}, elem{kind: kEnd})
	g.start = 0
	for r, alts := range b.rules {
		for _, a := range alts {
			g.alts[r] = append(g.alts[r], int32(len(g.elems)))
			for _, it := range a {
				g.elems = append(g.elems, elem(it))
			}
			g.elems = append(g.elems, elem{kind: kEnd})
		}
	}
	g.firstSets(null)
	g.plain = make([]bool, n)
	for _, name := range []string{"json:char", "json:key-char"} {
		if r, ok := b.memo[name]; ok {
			g.plain[r] = true
		}
	}
	return g, nil
}

// firstSets computes the FIRST set and nullability of every position and
// rule.
func (g *Grammar) firstSets(ruleNull []bool) {
	np := len(g.elems)
	first := make([]byteSet, np)
	g.null = make([]bool, np)
	g.ruleNull = ruleNull
	g.ruleFirst = make([]byteSet, len(g.alts))
	for changed := true; changed; {
		changed = false
		for p := np - 1; p >= 0; p-- {
			e := g.elems[p]
			var f byteSet
			nl := false
			switch e.kind {
			case kEnd:
				nl = true
			case kByte:
				f = g.sets[e.arg]
			case kRef:
				f = g.ruleFirst[e.arg]
				if ruleNull[e.arg] {
					f = f.union(first[p+1])
					nl = g.null[p+1]
				}
			case kRepeat:
				if e.max != 0 {
					f = g.ruleFirst[e.arg]
				}
				if e.min == 0 || ruleNull[e.arg] {
					f = f.union(first[p+1])
					nl = g.null[p+1]
				}
			}
			first[p], g.null[p] = f, nl
		}
		for r, starts := range g.alts {
			var f byteSet
			for _, s := range starts {
				f = f.union(first[s])
			}
			if f != g.ruleFirst[r] {
				g.ruleFirst[r], changed = f, true
			}
		}
	}
	// Share equal sets.
	idx := map[byteSet]int32{}
	g.firstOf = make([]int32, np)
	for p, f := range first {
		i, ok := idx[f]
		if !ok {
			i = int32(len(g.first))
			g.first = append(g.first, f)
			idx[f] = i
		}
		g.firstOf[p] = i
	}
}

// Size returns the number of elements of the grammar.
func (g *Grammar) Size() int { return len(g.elems) }
