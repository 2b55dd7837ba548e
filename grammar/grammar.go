package grammar

import (
	"errors"
	"fmt"
	"strings"
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

// compile lays out the rules as a Grammar: it drops the alternatives that
// cannot match any finite string, and rejects an empty language, a
// repetition of a rule that matches the empty string and left recursion.
// It takes time linear in the size of the rules.
func (b *builder) compile(root int32) (*Grammar, error) {
	n := len(b.rules)
	// Productive rules: some alternative matches a finite string. An item
	// blocks its alternative until the rule it needs is productive.
	prod := horn(b.rules, func(it item) (needs int32, never bool) {
		if it.kind == kRef || it.kind == kRepeat && it.min > 0 {
			return it.arg, false
		}
		return -1, false
	})
	if !prod[root] {
		return nil, &SchemaError{Path: b.emptyPath(root, prod), Msg: "no JSON value satisfies the schema", Err: ErrEmpty}
	}
	itemProd := func(it item) bool {
		return it.kind == kByte || it.kind == kRef && prod[it.arg] || it.kind == kRepeat && (it.min == 0 || prod[it.arg])
	}
	// Drop what cannot match: alternatives with an unproductive item, and
	// repetitions that can only match nothing.
	for r, alts := range b.rules {
		kept := alts[:0:0]
	next:
		for _, a := range alts {
			var out []item
			for _, it := range a {
				if !itemProd(it) {
					continue next
				}
				if it.kind == kRepeat && (!prod[it.arg] || it.max == 0) {
					continue
				}
				out = append(out, it)
			}
			kept = append(kept, out)
		}
		b.rules[r] = kept
	}
	null := horn(b.rules, func(it item) (needs int32, never bool) {
		switch {
		case it.kind == kByte:
			return -1, true
		case it.kind == kRef || it.kind == kRepeat && it.min > 0:
			return it.arg, false
		}
		return -1, false
	})
	for _, alts := range b.rules {
		for _, a := range alts {
			for _, it := range a {
				if it.kind == kRepeat && null[it.arg] {
					return nil, &SchemaError{Path: b.names[it.arg], Msg: "a repeated part matches the empty string", Err: ErrUnsupported}
				}
			}
		}
	}
	// Left recursion: a rule reached again before a byte is consumed. The
	// depth-first walk of these "starts with" edges also orders the rules
	// so that each comes after those its FIRST set needs.
	state := make([]uint8, n) // 0 new, 1 on the path, 2 done
	order := make([]int32, 0, n)
	type frame struct{ r, alt, it int32 }
	var stack []frame
	for start := range n {
		if state[start] != 0 {
			continue
		}
		state[start] = 1
		stack = append(stack[:0], frame{r: int32(start)})
		for len(stack) > 0 {
			f := &stack[len(stack)-1]
			alts := b.rules[f.r]
			var dep int32 = -1
			for dep < 0 && int(f.alt) < len(alts) {
				a := alts[f.alt]
				if int(f.it) >= len(a) {
					f.alt, f.it = f.alt+1, 0
					continue
				}
				it := a[f.it]
				if it.kind == kByte {
					f.alt, f.it = f.alt+1, 0
					continue
				}
				dep = it.arg
				if it.kind == kRef && null[it.arg] || it.kind == kRepeat && it.min == 0 {
					f.it++
				} else {
					f.alt, f.it = f.alt+1, 0
				}
			}
			if dep < 0 {
				state[f.r] = 2
				order = append(order, f.r)
				stack = stack[:len(stack)-1]
				continue
			}
			switch state[dep] {
			case 1:
				return nil, &SchemaError{Path: b.names[dep], Msg: "a $ref cycle reaches itself before any output (left recursion)", Err: ErrUnsupported}
			case 0:
				state[dep] = 1
				stack = append(stack, frame{r: dep})
			}
		}
	}
	// Layout: the start alternative, then every rule's alternatives.
	g := &Grammar{sets: b.sets, alts: make([][]int32, n), ruleNull: null, ruleFirst: make([]byteSet, n)}
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
	// FIRST sets of the rules, dependencies first, then of every position.
	for _, r := range order {
		var f byteSet
		for _, a := range b.rules[r] {
			for _, it := range a {
				if it.kind == kByte {
					f = f.union(b.sets[it.arg])
					break
				}
				if it.kind == kRef || it.max != 0 {
					f = f.union(g.ruleFirst[it.arg])
				}
				if it.kind == kRef && !null[it.arg] || it.kind == kRepeat && it.min > 0 {
					break
				}
			}
		}
		g.ruleFirst[r] = f
	}
	np := len(g.elems)
	first := make([]byteSet, np)
	g.null = make([]bool, np)
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
			if null[e.arg] {
				f, nl = f.union(first[p+1]), g.null[p+1]
			}
		case kRepeat:
			if e.max != 0 {
				f = g.ruleFirst[e.arg]
			}
			if e.min == 0 {
				f, nl = f.union(first[p+1]), g.null[p+1]
			}
		}
		first[p], g.null[p] = f, nl
	}
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
	g.plain = make([]bool, n)
	for _, name := range []string{"json:char", "json:key-char"} {
		if r, ok := b.memo[name]; ok {
			g.plain[r] = true
		}
	}
	return g, nil
}

// horn returns, for each rule, whether one of its alternatives has every
// item satisfied, where need says which rule an item waits for (-1: none)
// or that it never is: the least fixpoint, by counting the items each
// alternative still waits for (linear time).
func horn(rules [][][]item, need func(item) (int32, bool)) []bool {
	ok := make([]bool, len(rules))
	type altRef struct{ r, a int32 }
	waiting := make([][]altRef, len(rules)) // rule → the alternatives waiting for it
	var count [][]int32
	var queue []int32
	done := func(r int32) {
		if !ok[r] {
			ok[r] = true
			queue = append(queue, r)
		}
	}
	count = make([][]int32, len(rules))
	for r, alts := range rules {
		count[r] = make([]int32, len(alts))
	alt:
		for a, items := range alts {
			for _, it := range items {
				dep, never := need(it)
				if never {
					count[r][a] = -1
					continue alt
				}
				if dep >= 0 {
					count[r][a]++
					waiting[dep] = append(waiting[dep], altRef{int32(r), int32(a)})
				}
			}
			if count[r][a] == 0 {
				done(int32(r))
			}
		}
	}
	for len(queue) > 0 {
		s := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		for _, w := range waiting[s] {
			if count[w.r][w.a]--; count[w.r][w.a] == 0 {
				done(w.r)
			}
		}
	}
	return ok
}

// emptyPath returns the schema path of the innermost rule that makes root
// match nothing: following unproductive references from root, the one
// with the longest path.
func (b *builder) emptyPath(root int32, prod []bool) string {
	best := b.names[root]
	seen := map[int32]bool{root: true}
	queue := []int32{root}
	for len(queue) > 0 {
		r := queue[0]
		queue = queue[1:]
		if len(b.names[r]) > len(best) && !strings.HasPrefix(b.names[r], "json:") {
			best = b.names[r]
		}
		for _, a := range b.rules[r] {
			for _, it := range a {
				if (it.kind == kRef || it.kind == kRepeat && it.min > 0) && !prod[it.arg] && !seen[it.arg] {
					seen[it.arg] = true
					queue = append(queue, it.arg)
				}
			}
		}
	}
	return best
}

// Size returns the number of elements of the grammar.
func (g *Grammar) Size() int { return len(g.elems) }
