package grammar

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"strings"
)

// jtype is the type of a JSON value.
type jtype uint8

const (
	jNull jtype = iota
	jBool
	jNumber
	jString
	jArray
	jObject
)

func (t jtype) String() string {
	return [...]string{"null", "boolean", "number", "string", "array", "object"}[t]
}

// jnode is a parsed JSON value that keeps the order of object members (a
// schema's properties are generated in the order written, as llama.cpp
// does).
type jnode struct {
	t   jtype
	b   bool
	s   string // a string, or a number's text
	arr []*jnode
	obj []jmember
}

type jmember struct {
	key string
	val *jnode
}

// get returns the member k of an object, or nil.
func (n *jnode) get(k string) *jnode {
	if n == nil || n.t != jObject {
		return nil
	}
	for _, m := range n.obj {
		if m.key == k {
			return m.val
		}
	}
	return nil
}

// without returns a copy of object n without the members named in ks.
func (n *jnode) without(ks ...string) *jnode {
	out := &jnode{t: jObject}
	for _, m := range n.obj {
		drop := false
		for _, k := range ks {
			drop = drop || m.key == k
		}
		if !drop {
			out.obj = append(out.obj, m)
		}
	}
	return out
}

// with returns a copy of object n with member k set to v (appended if new).
func (n *jnode) with(k string, v *jnode) *jnode {
	out := &jnode{t: jObject, obj: make([]jmember, 0, len(n.obj)+1)}
	set := false
	for _, m := range n.obj {
		if m.key == k {
			m.val, set = v, true
		}
		out.obj = append(out.obj, m)
	}
	if !set {
		out.obj = append(out.obj, jmember{k, v})
	}
	return out
}

// rat returns the value of a number.
func (n *jnode) rat() (*big.Rat, bool) {
	if n == nil || n.t != jNumber {
		return nil, false
	}
	return new(big.Rat).SetString(n.s)
}

// isInt reports whether n is a number with an integral value.
func (n *jnode) isInt() bool {
	r, ok := n.rat()
	return ok && r.IsInt()
}

// parseJSON parses one JSON value; duplicate object keys are an error.
func parseJSON(data []byte) (*jnode, error) { return parseJSONDup(data, false) }

// parseJSONDup parses one JSON value, keeping duplicate keys if dup.
func parseJSONDup(data []byte, dup bool) (*jnode, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	n, err := parseValue(d, dup)
	if err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON value")
	}
	return n, nil
}

func parseValue(d *json.Decoder, dup bool) (*jnode, error) {
	tok, err := d.Token()
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	switch v := tok.(type) {
	case nil:
		return &jnode{t: jNull}, nil
	case bool:
		return &jnode{t: jBool, b: v}, nil
	case json.Number:
		return &jnode{t: jNumber, s: string(v)}, nil
	case string:
		return &jnode{t: jString, s: v}, nil
	case json.Delim:
		if v == '[' {
			n := &jnode{t: jArray}
			for d.More() {
				e, err := parseValue(d, dup)
				if err != nil {
					return nil, err
				}
				n.arr = append(n.arr, e)
			}
			_, err := d.Token()
			return n, err
		}
		n := &jnode{t: jObject}
		seen := map[string]bool{}
		for d.More() {
			kt, err := d.Token()
			if err != nil {
				return nil, err
			}
			k, _ := kt.(string)
			if seen[k] && !dup {
				return nil, fmt.Errorf("duplicate key %q", k)
			}
			seen[k] = true
			e, err := parseValue(d, dup)
			if err != nil {
				return nil, err
			}
			n.obj = append(n.obj, jmember{k, e})
		}
		_, err := d.Token()
		return n, err
	}
	return nil, fmt.Errorf("unexpected token %v", tok)
}

// dump appends the compact JSON text of n.
func (n *jnode) dump(b []byte) []byte {
	switch n.t {
	case jNull:
		return append(b, "null"...)
	case jBool:
		return strconv.AppendBool(b, n.b)
	case jNumber:
		return append(b, n.s...)
	case jString:
		return quote(b, n.s)
	case jArray:
		b = append(b, '[')
		for i, e := range n.arr {
			if i > 0 {
				b = append(b, ',')
			}
			b = e.dump(b)
		}
		return append(b, ']')
	}
	b = append(b, '{')
	for i, m := range n.obj {
		if i > 0 {
			b = append(b, ',')
		}
		b = quote(b, m.key)
		b = append(b, ':')
		b = m.val.dump(b)
	}
	return append(b, '}')
}

// quote appends s as a JSON string: quotes, backslashes and control
// characters escaped, everything else (UTF-8 included) as is.
func quote(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := range len(s) {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c == '\b':
			b = append(b, '\\', 'b')
		case c == '\f':
			b = append(b, '\\', 'f')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// equal reports whether two JSON values are equal (numbers by value,
// objects regardless of member order).
func (n *jnode) equal(o *jnode) bool {
	if n.t != o.t {
		return false
	}
	switch n.t {
	case jNull:
		return true
	case jBool:
		return n.b == o.b
	case jNumber:
		a, ok1 := n.rat()
		b, ok2 := o.rat()
		return ok1 && ok2 && a.Cmp(b) == 0
	case jString:
		return n.s == o.s
	case jArray:
		if len(n.arr) != len(o.arr) {
			return false
		}
		for i := range n.arr {
			if !n.arr[i].equal(o.arr[i]) {
				return false
			}
		}
		return true
	}
	if len(n.obj) != len(o.obj) {
		return false
	}
	for _, m := range n.obj {
		v := o.get(m.key)
		if v == nil || !m.val.equal(v) {
			return false
		}
	}
	return true
}

// pointerToken escapes a JSON pointer reference token.
func pointerToken(s string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}
