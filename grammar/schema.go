package grammar

import (
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// maxSchemaDepth bounds the nesting of schemas, $ref chains and allOf
// merges followed while compiling.
const maxSchemaDepth = 1000

// FromJSONSchema compiles a JSON Schema into the grammar of the JSON texts
// that satisfy it, as llama.cpp's json-schema-to-grammar does (the same
// layout of white space, property order and number forms), with the
// differences listed in the package documentation. A schema it cannot
// compile is an error: a *SchemaError naming the keyword and its JSON
// pointer, wrapping ErrSchema (not a valid schema), ErrUnsupported (a
// keyword or value not supported), ErrEmpty (no value satisfies it) or
// ErrTooLarge.
func FromJSONSchema(schema []byte) (*Grammar, error) {
	root, err := parseJSON(schema)
	if err != nil {
		return nil, &SchemaError{Path: "#", Msg: "not JSON: " + err.Error(), Err: ErrSchema}
	}
	c := newCompiler(root)
	r, err := c.visit(root, "#")
	if err != nil {
		return nil, err
	}
	return c.b.compile(r)
}

// compiler turns a schema into builder rules.
type compiler struct {
	b     *builder
	root  *jnode
	refs  map[refKey]int32 // $ref → its rule
	depth int
}

// refKey is a $ref in the schema resource it resolves in.
type refKey struct {
	base *jnode
	ref  string
}

func newCompiler(root *jnode) *compiler {
	return &compiler{b: newBuilder(), root: root, refs: map[refKey]int32{}}
}

// resource makes s the base that local $refs resolve against while its
// subschemas are compiled, if s has an "$id" (an embedded schema
// resource, as JSON Schema's compound documents have); call the function
// it returns when done with s.
func (c *compiler) resource(s *jnode) func() {
	id := s.get("$id")
	if id == nil || id.t != jString || strings.HasPrefix(id.s, "#") || s == c.root {
		return func() {}
	}
	old := c.root
	c.root = s
	return func() { c.root = old }
}

// unsupported lists the validation keywords that are refused, with why.
var unsupported = map[string]string{
	"not":                   "negation cannot be generated",
	"if":                    "conditional schemas are not supported",
	"then":                  "conditional schemas are not supported",
	"else":                  "conditional schemas are not supported",
	"dependentRequired":     "not supported",
	"dependentSchemas":      "not supported",
	"dependencies":          "not supported",
	"patternProperties":     "not supported",
	"propertyNames":         "not supported",
	"minProperties":         "not supported",
	"maxProperties":         "not supported",
	"unevaluatedProperties": "not supported",
	"unevaluatedItems":      "not supported",
	"contains":              "not supported",
	"minContains":           "not supported",
	"maxContains":           "not supported",
	"multipleOf":            "not supported",
	"uniqueItems":           "true is not supported",
	"$dynamicRef":           "not supported",
	"$recursiveRef":         "not supported",
}

// validation lists the keywords compiled; every other keyword that is not
// in unsupported is an annotation (title, description, default, examples,
// $defs, unknown vendor keywords) and is ignored.
var validation = map[string]bool{
	"type": true, "properties": true, "required": true, "additionalProperties": true,
	"items": true, "prefixItems": true, "additionalItems": true, "minItems": true, "maxItems": true,
	"enum": true, "const": true, "anyOf": true, "oneOf": true, "allOf": true, "$ref": true,
	"minLength": true, "maxLength": true, "pattern": true, "format": true,
	"minimum": true, "maximum": true, "exclusiveMinimum": true, "exclusiveMaximum": true,
	"nullable": true,
}

// checkUnsupported returns the error for the first refused keyword of s.
func checkUnsupported(s *jnode, path string) error {
	for _, m := range s.obj {
		msg, ok := unsupported[m.key]
		if !ok || m.key == "uniqueItems" && m.val.t == jBool && !m.val.b {
			continue
		}
		return &SchemaError{Path: path, Keyword: m.key, Msg: m.key + ": " + msg, Err: ErrUnsupported}
	}
	return nil
}

// hasValidation reports whether s has a compiled keyword other than those
// in except.
func hasValidation(s *jnode, except ...string) bool {
	for _, m := range s.obj {
		if (validation[m.key] || unsupported[m.key] != "") && !slices.Contains(except, m.key) {
			return true
		}
	}
	return false
}

func errf(path, kw string, err error, format string, args ...any) error {
	return &SchemaError{Path: path, Keyword: kw, Msg: fmt.Sprintf(format, args...), Err: err}
}

// enter counts a nesting level; leave with c.depth--.
func (c *compiler) enter(path string) error {
	c.depth++
	if c.depth > maxSchemaDepth {
		return errf(path, "", ErrTooLarge, "schemas, $refs and allOf merges nest deeper than %d", maxSchemaDepth)
	}
	return nil
}

// visit returns the rule of the JSON values that satisfy s.
func (c *compiler) visit(s *jnode, path string) (int32, error) {
	if err := c.enter(path); err != nil {
		return 0, err
	}
	defer func() { c.depth-- }()
	switch s.t {
	case jBool:
		if s.b {
			return c.b.value()
		}
		return c.b.rule(path) // no alternative: nothing matches
	case jObject:
	default:
		return 0, errf(path, "", ErrSchema, "a schema must be an object or a boolean, not %s", s.t)
	}
	if err := checkUnsupported(s, path); err != nil {
		return 0, err
	}
	defer c.resource(s)()
	if r := s.get("$ref"); r != nil {
		if !hasValidation(s, "$ref") {
			return c.ref(r, path)
		}
		// $ref beside other keywords: both apply.
		all := &jnode{t: jArray, arr: []*jnode{{t: jObject, obj: []jmember{{"$ref", r}}}}}
		if a := s.get("allOf"); a != nil {
			if a.t != jArray {
				return 0, errf(path, "allOf", ErrSchema, "allOf must be an array")
			}
			all.arr = append(all.arr, a.arr...)
		}
		s = s.without("$ref").with("allOf", all)
	}
	if s.get("allOf") != nil {
		m, err := c.mergeAll(s, path)
		if err != nil {
			return 0, err
		}
		return c.visit(m, path)
	}
	anyOf, oneOf := s.get("anyOf"), s.get("oneOf")
	switch {
	case anyOf != nil && oneOf != nil:
		return 0, errf(path, "oneOf", ErrUnsupported, "anyOf and oneOf together are not supported")
	case anyOf != nil:
		return c.union(s, anyOf, "anyOf", path)
	case oneOf != nil:
		// Like llama.cpp, oneOf is generated as anyOf: the output matches at
		// least one alternative.
		return c.union(s, oneOf, "oneOf", path)
	}
	if n := s.get("nullable"); n != nil {
		if n.t != jBool {
			return 0, errf(path, "nullable", ErrSchema, "nullable must be a boolean")
		}
		rest := s.without("nullable")
		if !n.b {
			return c.visit(rest, path)
		}
		null, err := c.b.null()
		if err != nil {
			return 0, err
		}
		r, err := c.visit(rest, path)
		if err != nil {
			return 0, err
		}
		return c.b.rule(path, one(ref(null)), one(ref(r)))
	}
	types, err := c.types(s, path)
	if err != nil {
		return 0, err
	}
	if s.get("const") != nil || s.get("enum") != nil {
		return c.literals(s, path)
	}
	if types == nil {
		return c.b.value()
	}
	if len(types) == 1 {
		return c.typed(s, types[0], path)
	}
	var alts [][]item
	for _, t := range types {
		r, err := c.typed(s, t, path)
		if err != nil {
			return 0, err
		}
		alts = append(alts, one(ref(r)))
	}
	return c.b.rule(path, alts...)
}

var typeNames = []string{"null", "boolean", "object", "array", "number", "string", "integer"}

// types returns the types s allows: its "type", or those its keywords
// imply (properties → object, items → array, …; a value of another type
// would also satisfy such a schema, but generating only the implied type
// is a valid choice, as llama.cpp makes it); nil means any value.
func (c *compiler) types(s *jnode, path string) ([]string, error) {
	t := s.get("type")
	if t == nil {
		var out []string
		has := func(ks ...string) bool {
			for _, k := range ks {
				if s.get(k) != nil {
					return true
				}
			}
			return false
		}
		if has("properties", "required", "additionalProperties") {
			out = append(out, "object")
		}
		if has("items", "prefixItems", "additionalItems", "minItems", "maxItems") {
			out = append(out, "array")
		}
		if has("minLength", "maxLength", "pattern") || has("format") && formatRule(s.get("format")) != "" {
			out = append(out, "string")
		}
		if has("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum") {
			out = append(out, "number")
		}
		return out, nil
	}
	var out []string
	add := func(n *jnode) error {
		if n.t != jString || !slices.Contains(typeNames, n.s) {
			return errf(path, "type", ErrSchema, "type %s is not one of %s", n.dump(nil), strings.Join(typeNames, ", "))
		}
		if !slices.Contains(out, n.s) {
			out = append(out, n.s)
		}
		return nil
	}
	if t.t == jArray {
		for _, e := range t.arr {
			if err := add(e); err != nil {
				return nil, err
			}
		}
		if len(out) == 0 {
			return []string{}, nil // nothing allowed: typed never sees it
		}
		return out, nil
	}
	return out, add(t)
}

// typed returns the rule of the values of type t that satisfy s.
func (c *compiler) typed(s *jnode, t, path string) (int32, error) {
	switch t {
	case "null":
		return c.b.null()
	case "boolean":
		return c.b.boolean()
	case "integer":
		return c.number(s, path, true)
	case "number":
		return c.number(s, path, false)
	case "string":
		return c.string(s, path)
	case "array":
		return c.array(s, path)
	}
	return c.object(s, path)
}

// union returns the rule of anyOf/oneOf alternatives, each combined with
// the keywords beside it.
func (c *compiler) union(s, alts *jnode, kw, path string) (int32, error) {
	if alts.t != jArray || len(alts.arr) == 0 {
		return 0, errf(path, kw, ErrSchema, "%s must be a non-empty array", kw)
	}
	rest := s.without(kw)
	merge := hasValidation(rest)
	var out [][]item
	for i, a := range alts.arr {
		p := fmt.Sprintf("%s/%s/%d", path, kw, i)
		if merge {
			m, err := c.merge(rest, a, p)
			if err != nil {
				return 0, err
			}
			a = m
		}
		r, err := c.visit(a, p)
		if err != nil {
			return 0, err
		}
		out = append(out, one(ref(r)))
	}
	return c.b.rule(path, out...)
}

// ref returns the rule of the schema a local $ref points to.
func (c *compiler) ref(r *jnode, path string) (int32, error) {
	if r.t != jString {
		return 0, errf(path, "$ref", ErrSchema, "$ref must be a string")
	}
	key := refKey{c.root, r.s}
	if rule, ok := c.refs[key]; ok {
		return rule, nil
	}
	target, err := c.resolvePointer(r.s, path)
	if err != nil {
		return 0, err
	}
	rule := c.b.newRule(r.s)
	c.refs[key] = rule
	t, err := c.visit(target, r.s)
	if err != nil {
		return 0, err
	}
	return rule, c.b.setAlts(rule, one(ref(t)))
}

// resolvePointer returns the schema at a local reference "#/a/b" in the
// current schema resource (the root, or the innermost subschema with an
// $id).
func (c *compiler) resolvePointer(p, path string) (*jnode, error) {
	frag, ok := strings.CutPrefix(p, "#")
	if !ok {
		return nil, errf(path, "$ref", ErrUnsupported, "$ref %q: only local references (#/…) are supported", p)
	}
	frag, err := url.PathUnescape(frag)
	if err != nil {
		return nil, errf(path, "$ref", ErrSchema, "$ref %q: %v", p, err)
	}
	n := c.root
	if frag == "" {
		return n, nil
	}
	if frag[0] != '/' {
		return nil, errf(path, "$ref", ErrUnsupported, "$ref %q: anchors are not supported, only JSON pointers", p)
	}
	for _, tok := range strings.Split(frag[1:], "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		switch n.t {
		case jObject:
			n = n.get(tok)
		case jArray:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(n.arr) {
				n = nil
			} else {
				n = n.arr[i]
			}
		default:
			n = nil
		}
		if n == nil {
			return nil, errf(path, "$ref", ErrSchema, "$ref %q points to nothing", p)
		}
	}
	return n, nil
}

// literals returns the rule of the const or enum values of s that satisfy
// the rest of s.
func (c *compiler) literals(s *jnode, path string) (int32, error) {
	var vals []*jnode
	kw := "enum"
	if v := s.get("const"); v != nil {
		vals, kw = []*jnode{v}, "const"
	}
	if e := s.get("enum"); e != nil {
		if e.t != jArray {
			return 0, errf(path, "enum", ErrSchema, "enum must be an array")
		}
		if vals == nil {
			vals = e.arr
		} else if !slices.ContainsFunc(e.arr, vals[0].equal) {
			vals = nil
		}
	}
	rest := s.without("const", "enum")
	var words []string
	for _, v := range vals {
		if c.valid(v, rest, 0) {
			words = append(words, string(v.dump(nil)))
		}
	}
	if len(words) == 0 {
		return c.b.rule(path + "/" + kw) // nothing matches
	}
	return c.trie(path+"/"+kw, words)
}

// trie returns a rule matching exactly the given strings, as a trie so
// that a parse never splits on a shared prefix.
func (c *compiler) trie(name string, words []string) (int32, error) {
	slices.Sort(words)
	words = slices.Compact(words)
	var node func(ws []string, d int) ([][]item, error)
	node = func(ws []string, d int) ([][]item, error) {
		var alts [][]item
		i := 0
		if len(ws[0]) == d {
			alts, i = append(alts, nil), 1
		}
		for i < len(ws) {
			j := i + 1
			for j < len(ws) && ws[j][d] == ws[i][d] {
				j++
			}
			k := d + 1
		extend:
			for {
				for _, w := range ws[i:j] {
					if len(w) <= k || w[k] != ws[i][k] {
						break extend
					}
				}
				k++
			}
			lit := c.b.lit(ws[i][d:k])
			if j-i == 1 && len(ws[i]) == k {
				alts = append(alts, lit)
			} else {
				sub, err := node(ws[i:j], k)
				if err != nil {
					return nil, err
				}
				r, err := c.b.rule(name, sub...)
				if err != nil {
					return nil, err
				}
				alts = append(alts, append(lit, ref(r)))
			}
			i = j
		}
		return alts, nil
	}
	alts, err := node(words, 0)
	if err != nil {
		return 0, err
	}
	return c.b.rule(name, alts...)
}

// count reads a non-negative integer keyword (minItems, maxLength…); ok
// is false when absent.
func count(s *jnode, kw, path string) (n int32, ok bool, err error) {
	v := s.get(kw)
	if v == nil {
		return 0, false, nil
	}
	r, isNum := v.rat()
	if !isNum || !r.IsInt() || r.Sign() < 0 {
		return 0, false, errf(path, kw, ErrSchema, "%s must be a non-negative integer", kw)
	}
	if !r.Num().IsInt64() || r.Num().Int64() > math.MaxInt32 {
		return 0, false, errf(path, kw, ErrUnsupported, "%s %s is above %d", kw, v.s, math.MaxInt32)
	}
	return int32(r.Num().Int64()), true, nil
}

// formatRule returns the name of the string format rule of format f, or
// "" for a format that is not generated (formats are annotations in JSON
// Schema; llama.cpp generates these).
func formatRule(f *jnode) string {
	if f == nil || f.t != jString {
		return ""
	}
	switch f.s {
	case "date", "time", "date-time", "uuid", "uuid1", "uuid2", "uuid3", "uuid4", "uuid5":
		return strings.TrimRight(f.s, "12345")
	}
	return ""
}

// string returns the rule of the strings that satisfy s.
func (c *compiler) string(s *jnode, path string) (int32, error) {
	minL, hasMin, err := count(s, "minLength", path)
	if err != nil {
		return 0, err
	}
	maxL, hasMax, err := count(s, "maxLength", path)
	if err != nil {
		return 0, err
	}
	if !hasMax {
		maxL = -1
	}
	format := formatRule(s.get("format"))
	if p := s.get("pattern"); p != nil {
		if p.t != jString {
			return 0, errf(path, "pattern", ErrSchema, "pattern must be a string")
		}
		if hasMin || hasMax || format != "" {
			return 0, errf(path, "pattern", ErrUnsupported, "pattern together with minLength, maxLength or format is not supported")
		}
		return c.pattern(p.s, path)
	}
	if hasMax && maxL < minL {
		return c.b.rule(path + "/maxLength")
	}
	if format != "" && (hasMin || hasMax) {
		// The format's strings must all have an allowed length.
		lens := map[string][2]int32{"date": {10, 10}, "time": {9, 18}, "date-time": {20, 29}, "uuid": {36, 36}}[format]
		if lens[0] < minL || hasMax && lens[1] > maxL {
			return 0, errf(path, "format", ErrUnsupported, "format %s together with minLength or maxLength is not supported", format)
		}
	} else if hasMin || hasMax {
		return c.b.str(minL, maxL)
	}
	switch format {
	case "date":
		return c.b.dateString()
	case "time":
		return c.b.timeString()
	case "date-time":
		return c.b.dateTimeString()
	case "uuid":
		return c.b.uuid()
	}
	return c.b.anyString()
}
