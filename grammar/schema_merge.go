package grammar

import (
	"fmt"
	"slices"
)

// falseSchema matches nothing.
var falseSchema = &jnode{t: jBool, b: false}

// mergeAll returns s with its allOf folded in: one schema holding the
// keywords of s and of every component, $refs resolved.
func (c *compiler) mergeAll(s *jnode, path string) (*jnode, error) {
	all := s.get("allOf")
	if all.t != jArray || len(all.arr) == 0 {
		return nil, errf(path, "allOf", ErrSchema, "allOf must be a non-empty array")
	}
	out := s.without("allOf")
	for i, comp := range all.arr {
		m, err := c.merge(out, comp, fmt.Sprintf("%s/allOf/%d", path, i))
		if err != nil {
			return nil, err
		}
		out = m
	}
	return out, nil
}

// resolve returns s with a top-level $ref or allOf merged in.
func (c *compiler) resolve(s *jnode, path string) (*jnode, error) {
	if err := c.enter(path); err != nil {
		return nil, err
	}
	defer func() { c.depth-- }()
	switch s.t {
	case jBool:
		return s, nil
	case jObject:
	default:
		return nil, errf(path, "", ErrSchema, "a schema must be an object or a boolean, not %s", s.t)
	}
	if err := checkUnsupported(s, path); err != nil {
		return nil, err
	}
	defer c.resource(s)()
	if r := s.get("$ref"); r != nil {
		if r.t != jString {
			return nil, errf(path, "$ref", ErrSchema, "$ref must be a string")
		}
		t, err := c.resolvePointer(r.s, path)
		if err != nil {
			return nil, err
		}
		if t, err = c.resolve(t, r.s); err != nil {
			return nil, err
		}
		rest := s.without("$ref")
		if !hasValidation(rest) {
			return t, nil
		}
		return c.merge(t, rest, path)
	}
	if s.get("allOf") != nil {
		return c.mergeAll(s, path)
	}
	return s, nil
}

var objectKeywords = []string{"properties", "additionalProperties", "required"}

// merge returns a schema that both a and b accept (their intersection), for
// the keywords this package compiles; two different patterns, anyOf in
// both, or two tuples are ErrUnsupported.
func (c *compiler) merge(a, b *jnode, path string) (*jnode, error) {
	if err := c.enter(path); err != nil {
		return nil, err
	}
	defer func() { c.depth-- }()
	a, err := c.resolve(a, path)
	if err != nil {
		return nil, err
	}
	if b, err = c.resolve(b, path); err != nil {
		return nil, err
	}
	if a.t == jBool {
		if a.b {
			return b, nil
		}
		return a, nil
	}
	if b.t == jBool {
		if b.b {
			return a, nil
		}
		return b, nil
	}
	out := &jnode{t: jObject, obj: slices.Clone(a.obj)}
	for _, m := range b.obj {
		if slices.Contains(objectKeywords, m.key) {
			continue
		}
		av := a.get(m.key)
		if av == nil {
			out = out.with(m.key, m.val)
			continue
		}
		bv := m.val
		switch m.key {
		case "type":
			t, err := intersectTypes(av, bv, path)
			if err != nil {
				return nil, err
			}
			if t == nil {
				return falseSchema, nil
			}
			out = out.with("type", t)
		case "minItems", "minLength", "minimum", "exclusiveMinimum", "maxItems", "maxLength", "maximum", "exclusiveMaximum":
			x, ok1 := av.rat()
			y, ok2 := bv.rat()
			if !ok1 || !ok2 {
				return nil, errf(path, m.key, ErrUnsupported, "allOf: %s must be numbers in both schemas", m.key)
			}
			lower := m.key[:3] == "min" || m.key == "exclusiveMinimum"
			if x.Cmp(y) < 0 == lower {
				out = out.with(m.key, bv)
			}
		case "enum":
			if av.t != jArray || bv.t != jArray {
				return nil, errf(path, "enum", ErrSchema, "enum must be an array")
			}
			e := &jnode{t: jArray}
			for _, v := range av.arr {
				if slices.ContainsFunc(bv.arr, v.equal) {
					e.arr = append(e.arr, v)
				}
			}
			out = out.with("enum", e)
		case "const":
			if !av.equal(bv) {
				return falseSchema, nil
			}
		case "pattern", "anyOf", "oneOf", "prefixItems", "additionalItems":
			if !av.equal(bv) {
				return nil, errf(path, m.key, ErrUnsupported, "allOf: %s in two schemas is not supported", m.key)
			}
		case "items":
			if av.t == jArray || bv.t == jArray {
				if !av.equal(bv) {
					return nil, errf(path, "items", ErrUnsupported, "allOf: two tuple items are not supported")
				}
				continue
			}
			it, err := c.merge(av, bv, path+"/items")
			if err != nil {
				return nil, err
			}
			out = out.with("items", it)
		case "nullable":
			out = out.with("nullable", &jnode{t: jBool, b: av.t == jBool && av.b && bv.t == jBool && bv.b})
		}
		// Annotations, format: a's are kept.
	}
	if !slices.ContainsFunc(objectKeywords, func(k string) bool { return a.get(k) != nil || b.get(k) != nil }) {
		return out, nil
	}
	// Objects: a property must satisfy both sides, each side's schema being
	// its property or else its additionalProperties (absent: any).
	props := &jnode{t: jObject}
	var names []string
	for _, s := range []*jnode{a, b} {
		p := s.get("properties")
		if p != nil && p.t != jObject {
			return nil, errf(path, "properties", ErrSchema, "properties must be an object")
		}
		for _, m := range p.objMembers() {
			if !slices.Contains(names, m.key) {
				names = append(names, m.key)
			}
		}
	}
	side := func(s *jnode, name string) *jnode {
		if v := s.get("properties").get(name); v != nil {
			return v
		}
		if v := s.get("additionalProperties"); v != nil {
			return v
		}
		return &jnode{t: jBool, b: true}
	}
	for _, name := range names {
		m, err := c.merge(side(a, name), side(b, name), path+"/properties/"+pointerToken(name))
		if err != nil {
			return nil, err
		}
		props.obj = append(props.obj, jmember{name, m})
	}
	out = out.with("properties", props)
	req := &jnode{t: jArray}
	for _, s := range []*jnode{a, b} {
		r := s.get("required")
		if r == nil {
			continue
		}
		if r.t != jArray {
			return nil, errf(path, "required", ErrSchema, "required must be an array of strings")
		}
		for _, e := range r.arr {
			if !slices.ContainsFunc(req.arr, e.equal) {
				req.arr = append(req.arr, e)
			}
		}
	}
	if len(req.arr) > 0 {
		out = out.with("required", req)
	}
	ea, eb := a.get("additionalProperties"), b.get("additionalProperties")
	switch {
	case ea == nil && eb == nil:
	case ea == nil:
		out = out.with("additionalProperties", eb)
	case eb == nil:
		out = out.with("additionalProperties", ea)
	default:
		e, err := c.merge(ea, eb, path+"/additionalProperties")
		if err != nil {
			return nil, err
		}
		out = out.with("additionalProperties", e)
	}
	return out, nil
}

// objMembers returns the members of an object (nil for anything else).
func (n *jnode) objMembers() []jmember {
	if n == nil || n.t != jObject {
		return nil
	}
	return n.obj
}

// intersectTypes returns the types both type keywords allow (integer is a
// number), or nil when none.
func intersectTypes(a, b *jnode, path string) (*jnode, error) {
	list := func(t *jnode) ([]string, error) {
		var out []string
		for _, e := range append([]*jnode{t}, t.arr...) {
			if e.t == jArray {
				continue
			}
			if e.t != jString || !slices.Contains(typeNames, e.s) {
				return nil, errf(path, "type", ErrSchema, "type %s is not one of the JSON types", e.dump(nil))
			}
			out = append(out, e.s)
		}
		return out, nil
	}
	ta, err := list(a)
	if err != nil {
		return nil, err
	}
	tb, err := list(b)
	if err != nil {
		return nil, err
	}
	out := &jnode{t: jArray}
	add := func(t string) {
		if !slices.ContainsFunc(out.arr, func(n *jnode) bool { return n.s == t }) {
			out.arr = append(out.arr, &jnode{t: jString, s: t})
		}
	}
	for _, x := range ta {
		for _, y := range tb {
			switch {
			case x == y:
				add(x)
			case x == "integer" && y == "number" || x == "number" && y == "integer":
				add("integer")
			}
		}
	}
	if len(out.arr) == 0 {
		return nil, nil
	}
	return out, nil
}
