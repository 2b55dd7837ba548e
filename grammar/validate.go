package grammar

import (
	"fmt"
	"regexp"
	"unicode/utf8"
)

// Formats as the grammar generates them (llama.cpp's rules).
var formats = map[string]*regexp.Regexp{
	"date":      regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$`),
	"time":      regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{3})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$`),
	"date-time": regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{3})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$`),
	"uuid":      regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`),
}

// valid reports whether v satisfies schema s, with JSON Schema's meaning
// of the keywords this package compiles (additionalProperties absent
// allows any property; oneOf needs exactly one match; the formats of
// formatRule are checked, others are annotations). It filters enum and
// const values, and the tests check generated output with it. A keyword
// it cannot check makes v invalid.
func (c *compiler) valid(v, s *jnode, depth int) bool {
	if depth > maxSchemaDepth {
		return false
	}
	depth++
	switch s.t {
	case jBool:
		return s.b
	case jObject:
	default:
		return false
	}
	if checkUnsupported(s, "#") != nil {
		return false
	}
	defer c.resource(s)()
	if n := s.get("nullable"); n != nil && n.t == jBool && n.b && v.t == jNull {
		return true
	}
	if r := s.get("$ref"); r != nil {
		if r.t != jString {
			return false
		}
		t, err := c.resolvePointer(r.s, "#")
		if err != nil || !c.valid(v, t, depth) {
			return false
		}
	}
	if a := s.get("allOf"); a != nil {
		for _, x := range a.arr {
			if !c.valid(v, x, depth) {
				return false
			}
		}
	}
	if a := s.get("anyOf"); a != nil {
		ok := false
		for _, x := range a.arr {
			ok = ok || c.valid(v, x, depth)
		}
		if !ok {
			return false
		}
	}
	if a := s.get("oneOf"); a != nil {
		n := 0
		for _, x := range a.arr {
			if c.valid(v, x, depth) {
				n++
			}
		}
		if n != 1 {
			return false
		}
	}
	if t := s.get("type"); t != nil {
		ok := false
		for _, e := range append([]*jnode{t}, t.arr...) {
			if e.t != jString {
				continue
			}
			switch e.s {
			case "integer":
				ok = ok || v.isInt()
			case "number":
				ok = ok || v.t == jNumber
			default:
				ok = ok || e.s == v.t.String()
			}
		}
		if !ok {
			return false
		}
	}
	if e := s.get("enum"); e != nil {
		ok := false
		for _, x := range e.arr {
			ok = ok || v.equal(x)
		}
		if !ok {
			return false
		}
	}
	if k := s.get("const"); k != nil && !v.equal(k) {
		return false
	}
	switch v.t {
	case jString:
		return c.validString(v, s)
	case jNumber:
		lo, hi, err := bounds(s, "#")
		if err != nil {
			return false
		}
		x, _ := v.rat()
		if lo.v != nil && (x.Cmp(lo.v) < 0 || lo.excl && x.Cmp(lo.v) == 0) {
			return false
		}
		return hi.v == nil || x.Cmp(hi.v) < 0 || !hi.excl && x.Cmp(hi.v) == 0
	case jArray:
		return c.validArray(v, s, depth)
	case jObject:
		return c.validObject(v, s, depth)
	}
	return true
}

func (c *compiler) validString(v, s *jnode) bool {
	n := int64(utf8.RuneCountInString(v.s))
	if m, ok, err := count(s, "minLength", "#"); err != nil || ok && n < int64(m) {
		return false
	}
	if m, ok, err := count(s, "maxLength", "#"); err != nil || ok && n > int64(m) {
		return false
	}
	if p := s.get("pattern"); p != nil {
		re, err := regexp.Compile(p.s)
		if err != nil || !re.MatchString(v.s) {
			return false
		}
	}
	if f := formatRule(s.get("format")); f != "" && !formats[f].MatchString(v.s) {
		return false
	}
	return true
}

func (c *compiler) validArray(v, s *jnode, depth int) bool {
	n := len(v.arr)
	if m, ok, err := count(s, "minItems", "#"); err != nil || ok && n < int(m) {
		return false
	}
	if m, ok, err := count(s, "maxItems", "#"); err != nil || ok && n > int(m) {
		return false
	}
	var tuple []*jnode
	rest := s.get("items")
	if p := s.get("prefixItems"); p != nil {
		tuple = p.arr
	} else if rest != nil && rest.t == jArray {
		tuple, rest = rest.arr, s.get("additionalItems")
	}
	for i, e := range v.arr {
		switch {
		case i < len(tuple):
			if !c.valid(e, tuple[i], depth) {
				return false
			}
		case rest != nil:
			if !c.valid(e, rest, depth) {
				return false
			}
		}
	}
	return true
}

func (c *compiler) validObject(v, s *jnode, depth int) bool {
	props := s.get("properties")
	if r := s.get("required"); r != nil {
		for _, k := range r.arr {
			if v.get(k.s) == nil {
				return false
			}
		}
	}
	ap := s.get("additionalProperties")
	for _, m := range v.obj {
		if p := props.get(m.key); p != nil {
			if !c.valid(m.val, p, depth) {
				return false
			}
		} else if ap != nil && !c.valid(m.val, ap, depth) {
			return false
		}
	}
	return true
}

// Valid reports whether the JSON text value satisfies schema, with JSON
// Schema's meaning of the keywords FromJSONSchema compiles (where the
// grammar narrows a keyword — additionalProperties absent, oneOf — Valid
// keeps the standard meaning, which the grammar's output satisfies). The
// formats date, time, date-time and uuid are checked as the grammar writes
// them; other formats are annotations. A keyword Valid cannot check makes
// the value invalid. The error reports text that is not JSON.
func Valid(schema, value []byte) (bool, error) {
	s, err := parseJSON(schema)
	if err != nil {
		return false, &SchemaError{Path: "#", Msg: "not JSON: " + err.Error(), Err: ErrSchema}
	}
	v, err := parseJSONDup(value, true)
	if err != nil {
		return false, fmt.Errorf("grammar: value is not JSON: %w", err)
	}
	return newCompiler(s).valid(v, s, 0), nil
}
