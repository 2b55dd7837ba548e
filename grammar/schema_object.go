package grammar

import (
	"fmt"
	"slices"
	"unicode/utf8"
)

// object returns the rule of the objects that satisfy s, in llama.cpp's
// layout: the required properties first, in the order of "properties",
// then any of the optional ones in that order, then additional properties
// if allowed. additionalProperties defaults to false when the schema has
// properties (llama.cpp's choice) and to true otherwise.
func (c *compiler) object(s *jnode, path string) (int32, error) {
	props := s.get("properties")
	if props != nil && props.t != jObject {
		return 0, errf(path, "properties", ErrSchema, "properties must be an object")
	}
	var required []string
	if r := s.get("required"); r != nil {
		if r.t != jArray {
			return 0, errf(path, "required", ErrSchema, "required must be an array of strings")
		}
		for _, e := range r.arr {
			if e.t != jString {
				return 0, errf(path, "required", ErrSchema, "required must be an array of strings")
			}
			required = append(required, e.s)
		}
	}
	ap := s.get("additionalProperties")
	if ap != nil && ap.t != jBool && ap.t != jObject {
		return 0, errf(path, "additionalProperties", ErrSchema, "additionalProperties must be a schema")
	}
	if props == nil && len(required) == 0 && (ap == nil || ap.t == jBool && ap.b) {
		return c.b.object()
	}
	type prop struct {
		name   string
		schema *jnode
		path   string
	}
	var req, opt []prop
	var names []string
	if props != nil {
		for _, m := range props.obj {
			p := prop{m.key, m.val, path + "/properties/" + pointerToken(m.key)}
			if slices.Contains(required, m.key) {
				req = append(req, p)
			} else {
				opt = append(opt, p)
			}
			names = append(names, m.key)
		}
	}
	for _, r := range required {
		if slices.Contains(names, r) {
			continue
		}
		// Required but not described: any value additionalProperties allows.
		switch {
		case ap == nil || ap.t == jBool && ap.b:
			req = append(req, prop{r, &jnode{t: jBool, b: true}, path + "/required"})
		case ap.t == jBool:
			return c.b.rule(path + "/required") // required and forbidden
		default:
			req = append(req, prop{r, ap, path + "/additionalProperties"})
		}
		names = append(names, r)
	}
	sp := ref(c.b.space())
	comma := c.b.set(setOf(','))
	kv := func(p prop) (int32, error) {
		v, err := c.visit(p.schema, p.path)
		if err != nil {
			return 0, err
		}
		return c.b.rule(p.path, seq(c.b.lit(string(quote(nil, p.name))), one(sp, c.b.set(setOf(':')), sp, ref(v))))
	}
	// The rules of the optional members, the additional one ("*") last.
	var optKV []int32
	for _, p := range opt {
		r, err := kv(p)
		if err != nil {
			return 0, err
		}
		optKV = append(optKV, r)
	}
	extra := ap != nil && (ap.t == jObject || ap.b)
	if extra {
		v, err := c.visit(ap, path+"/additionalProperties")
		if err != nil {
			return 0, err
		}
		key, err := c.keyExcept(names, path+"/additionalProperties")
		if err != nil {
			return 0, err
		}
		r, err := c.b.rule(path+"/additionalProperties", one(ref(key), c.b.set(setOf(':')), sp, ref(v)))
		if err != nil {
			return 0, err
		}
		optKV = append(optKV, r)
	}
	body := one(c.b.set(setOf('{')), sp)
	for i, p := range req {
		r, err := kv(p)
		if err != nil {
			return 0, err
		}
		if i > 0 {
			body = append(body, comma, sp)
		}
		body = append(body, ref(r))
	}
	if n := len(optKV); n > 0 {
		// commaKV[j]: "," space kv_j; rest[j]: the members after j, each
		// optional in order (the additional one repeated).
		last := func(j int) bool { return extra && j == n-1 }
		commaKV := make([]int32, n)
		for j, r := range optKV {
			var err error
			if commaKV[j], err = c.b.rule(c.b.names[r]+",", one(comma, sp, ref(r))); err != nil {
				return 0, err
			}
		}
		rest := make([]int32, n+1)
		rest[n] = -1
		for j := n - 1; j >= 1; j-- {
			mx := int32(1)
			if last(j) {
				mx = -1
			}
			its := one(rep(commaKV[j], 0, mx))
			if rest[j+1] >= 0 {
				its = append(its, ref(rest[j+1]))
			}
			var err error
			if rest[j], err = c.b.rule(path+"/rest", its); err != nil {
				return 0, err
			}
		}
		var alts [][]item
		for i, r := range optKV {
			a := one(ref(r))
			if last(i) {
				a = append(a, rep(commaKV[i], 0, -1))
			}
			if rest[i+1] >= 0 {
				a = append(a, ref(rest[i+1]))
			}
			alts = append(alts, a)
		}
		group, err := c.b.rule(path+"/optional", alts...)
		if err != nil {
			return 0, err
		}
		if len(req) > 0 {
			if group, err = c.b.rule(path+"/optional,", one(comma, sp, ref(group))); err != nil {
				return 0, err
			}
		}
		body = append(body, rep(group, 0, 1))
	}
	body = append(body, sp, c.b.set(setOf('}')))
	return c.b.rule(path, body)
}

// keyCharSeqs are the encodings of a character in a key that is not a
// declared property: one encoding per character (no \u escapes, no \/), so
// that excluding the declared names' encodings excludes the names.
func keyCharSeqs() [][]byteSet {
	s := charSeqs()[:9]
	s[8] = []byteSet{setOf('\\'), setOf('"', '\\', 'b', 'f', 'n', 'r', 't')}
	return s
}

// keyExcept returns the rule of a JSON string that is none of names.
func (c *compiler) keyExcept(names []string, path string) (int32, error) {
	if len(names) == 0 {
		return c.b.anyString()
	}
	b := c.b
	keyChar, err := b.shared("json:key-char", func() ([][]item, error) {
		var alts [][]item
		for _, s := range keyCharSeqs() {
			alts = append(alts, b.seqItems(s))
		}
		return alts, nil
	})
	if err != nil {
		return 0, err
	}
	type trie struct {
		end   bool
		units []string
		kids  []*trie
	}
	root := &trie{}
	seqs := keyCharSeqs()
names:
	for _, name := range names {
		enc := quote(nil, name)
		enc = enc[1 : len(enc)-1]
		var units []string
		for i := 0; i < len(enc); {
			n := 2
			if enc[i] != '\\' {
				_, n = utf8.DecodeRune(enc[i:])
			} else if enc[i+1] == 'u' {
				continue names // not writable in a key: nothing to exclude
			}
			units = append(units, string(enc[i:i+n]))
			i += n
		}
		t := root
		for _, u := range units {
			k := slices.Index(t.units, u)
			if k < 0 {
				t.units, t.kids = append(t.units, u), append(t.kids, &trie{})
				k = len(t.kids) - 1
			}
			t = t.kids[k]
		}
		t.end = true
	}
	var rule func(t *trie) (int32, error)
	rule = func(t *trie) (int32, error) {
		var alts [][]item
		for i, u := range t.units {
			k := t.kids[i]
			if len(k.kids) == 0 {
				alts = append(alts, append(b.lit(u), rep(keyChar, 1, -1)))
				continue
			}
			r, err := rule(k)
			if err != nil {
				return 0, err
			}
			alts = append(alts, append(b.lit(u), ref(r)))
		}
		ex := make([][]byte, len(t.units))
		for i, u := range t.units {
			ex[i] = []byte(u)
		}
		other, err := b.charMinus(seqs, ex, path)
		if err != nil {
			return 0, err
		}
		if len(other) > 0 {
			r, err := b.rule(path, other...)
			if err != nil {
				return 0, err
			}
			alts = append(alts, one(ref(r), rep(keyChar, 0, -1)))
		}
		if !t.end {
			alts = append(alts, nil)
		}
		return b.rule(path, alts...)
	}
	in, err := rule(root)
	if err != nil {
		return 0, err
	}
	q := b.set(setOf('"'))
	return b.rule(path, one(q, ref(in), q))
}

// charMinus returns alternatives matching one character of seqs whose
// encoding is not one of ex.
func (b *builder) charMinus(seqs [][]byteSet, ex [][]byte, path string) ([][]item, error) {
	var alts [][]item
	for _, s := range seqs {
		var in [][]byte
	each:
		for _, e := range ex {
			if len(e) != len(s) {
				continue
			}
			for i, c := range e {
				if !s[i].has(c) {
					continue each
				}
			}
			in = append(in, e)
		}
		a, err := b.seqMinus(s, in, path)
		if err != nil {
			return nil, err
		}
		alts = append(alts, a...)
	}
	return alts, nil
}

// seqMinus returns alternatives matching the byte-class sequence s but
// none of ex (byte strings of len(s) that s matches).
func (b *builder) seqMinus(s []byteSet, ex [][]byte, path string) ([][]item, error) {
	if len(ex) == 0 {
		return [][]item{b.seqItems(s)}, nil
	}
	var firsts byteSet
	for _, e := range ex {
		firsts.add(e[0])
	}
	var alts [][]item
	if rest := s[0].minus(firsts); !rest.empty() {
		alts = append(alts, append(one(b.set(rest)), b.seqItems(s[1:])...))
	}
	if len(s) == 1 {
		return alts, nil
	}
	for f := range 256 {
		if !firsts.has(byte(f)) {
			continue
		}
		var tails [][]byte
		for _, e := range ex {
			if e[0] == byte(f) {
				tails = append(tails, e[1:])
			}
		}
		sub, err := b.seqMinus(s[1:], tails, path)
		if err != nil {
			return nil, err
		}
		if len(sub) == 0 {
			continue
		}
		r, err := b.rule(path, sub...)
		if err != nil {
			return nil, err
		}
		alts = append(alts, one(b.set(setOf(byte(f))), ref(r)))
	}
	return alts, nil
}

// array returns the rule of the arrays that satisfy s: prefixItems (or a
// draft-4 items array) as a tuple, then items (or additionalItems), the
// whole counted by minItems and maxItems. Tuple members are all generated
// (up to maxItems); without a schema for further items, only as many
// further values as minItems needs are generated, as any values.
func (c *compiler) array(s *jnode, path string) (int32, error) {
	minI, _, err := count(s, "minItems", path)
	if err != nil {
		return 0, err
	}
	maxI, hasMax, err := count(s, "maxItems", path)
	if err != nil {
		return 0, err
	}
	if !hasMax {
		maxI = -1
	}
	if hasMax && maxI < minI {
		return c.b.rule(path + "/maxItems")
	}
	var tuple []*jnode
	var rest *jnode
	restPath := path + "/items"
	prefix, items, addl := s.get("prefixItems"), s.get("items"), s.get("additionalItems")
	switch {
	case prefix != nil:
		if prefix.t != jArray {
			return 0, errf(path, "prefixItems", ErrSchema, "prefixItems must be an array")
		}
		tuple, rest = prefix.arr, items
		if items != nil && items.t == jArray {
			return 0, errf(path, "items", ErrSchema, "items beside prefixItems must be a schema")
		}
	case items != nil && items.t == jArray:
		tuple, rest, restPath = items.arr, addl, path+"/additionalItems"
	default:
		rest = items
	}
	if tuple == nil && rest == nil && minI == 0 && maxI < 0 {
		return c.b.array()
	}
	k := int32(len(tuple))
	if maxI >= 0 && maxI < k {
		k = maxI
	}
	restMin, restMax := max(0, minI-k), int32(-1)
	if maxI >= 0 {
		restMax = maxI - k
	}
	if rest == nil {
		if tuple != nil {
			restMax = restMin
		}
		rest = &jnode{t: jBool, b: true}
	}
	if rest.t == jBool && !rest.b {
		if restMin > 0 {
			return c.b.rule(restPath)
		}
		restMax = 0
	}
	var restRule int32 = -1
	if restMax != 0 {
		if restRule, err = c.visit(rest, restPath); err != nil {
			return 0, err
		}
	}
	if k == 0 {
		if restRule < 0 {
			alts, err := c.b.list(0, 0, 0)
			if err != nil {
				return 0, err
			}
			return c.b.rule(path, alts...)
		}
		alts, err := c.b.list(restRule, restMin, restMax)
		if err != nil {
			return 0, err
		}
		return c.b.rule(path, alts...)
	}
	sp := ref(c.b.space())
	body := one(c.b.set(setOf('[')), sp)
	for i, t := range tuple[:k] {
		r, err := c.visit(t, fmt.Sprintf("%s/prefixItems/%d", path, i))
		if err != nil {
			return 0, err
		}
		if i > 0 {
			body = append(body, c.b.set(setOf(',')), sp)
		}
		body = append(body, ref(r))
	}
	if restRule >= 0 {
		more, err := c.b.rule(restPath+",", one(c.b.set(setOf(',')), sp, ref(restRule)))
		if err != nil {
			return 0, err
		}
		body = append(body, rep(more, restMin, restMax))
	}
	body = append(body, sp, c.b.set(setOf(']')))
	return c.b.rule(path, body)
}
