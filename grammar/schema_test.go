package grammar

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// accepts reports whether g's matcher accepts all of s and is then done.
func accepts(g *Grammar, s string) bool {
	m := g.Matcher()
	return m.Accept([]byte(s)) && m.Done()
}

func TestSchemaAccepts(t *testing.T) {
	for _, tc := range []struct {
		schema   string
		ok, fail []string
	}{
		{`{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"}},"required":["a"]}`,
			[]string{`{"a":1}`, `{"a": -20, "b": "x"}`, "{\n  \"a\" : 0,\n  \"b\": \"\"\n}"},
			[]string{`{}`, `{"b":"x","a":1}`, `{"a":1,"c":2}`, `{"a":1 ,"b":"x"}`, `{"a":1.5}`, `{"a":01}`, ` {"a":1}`, `{"a":1} `}},
		{`{"type":"object","properties":{"x":{"type":"boolean"},"y":{"type":"null"},"z":{"type":"number"}}}`,
			[]string{`{}`, `{"x":true}`, `{"y":null,"z":1e5}`, `{"x":false,"y":null,"z":-0.25}`, `{ }`},
			[]string{`{"y":null,"x":true}`, `{"x":true,}`, `{,}`, `{"z":1e100}`, `{"z":1.}`}},
		{`{"type":"array","items":{"type":"string"},"minItems":1,"maxItems":2}`,
			[]string{`["a"]`, `["a", "b"]`, "[\n\"a\"\n]"},
			[]string{`[]`, `["a","b","c"]`, `[1]`}},
		{`{"enum":["a","ab",3,null,true,{"k":[1]}]}`,
			[]string{`"a"`, `"ab"`, `3`, `null`, `true`, `{"k":[1]}`},
			[]string{`"b"`, `"abc"`, `4`, `false`, `{"k":[2]}`, `{"k": [1]}`}},
		{`{"type":"string","enum":["x",1]}`, []string{`"x"`}, []string{`1`}},
		{`{"const":"é\n\"q\""}`, []string{`"é\n\"q\""`}, []string{`"é"`}},
		{`{"type":["string","null"]}`, []string{`"s"`, `null`}, []string{`1`}},
		{`{"type":"integer","nullable":true}`, []string{`1`, `null`}, []string{`"1"`}},
		{`{"anyOf":[{"type":"integer"},{"type":"string","maxLength":1}]}`, []string{`12`, `"a"`, `""`}, []string{`"ab"`, `1.5`}},
		{`{"oneOf":[{"type":"boolean"},{"type":"null"}]}`, []string{`true`, `null`}, []string{`0`}},
		{`{"type":"object","properties":{"a":{"type":"integer"}},"anyOf":[{"required":["a"]},{"properties":{"b":{"type":"boolean"}},"required":["b"]}]}`,
			[]string{`{"a":1}`, `{"b":true,"a":1}`, `{"b":false}`}, []string{`{}`, `{"a":1,"b":true}`}},
		{`{"$defs":{"s":{"type":"string","maxLength":2}},"type":"array","items":{"$ref":"#/$defs/s"}}`, []string{`["ab",""]`}, []string{`["abc"]`}},
		{`{"definitions":{"t":{"type":"object","properties":{"c":{"type":"array","items":{"$ref":"#/definitions/t"}}},"required":["c"]}},"$ref":"#/definitions/t"}`,
			[]string{`{"c":[]}`, `{"c":[{"c":[]},{"c":[{"c":[]}]}]}`}, []string{`{"c":[{}]}`}},
		{`{"allOf":[{"type":"object","properties":{"a":{"type":"string"}},"required":["a"]},{"properties":{"b":{"type":"integer"}}}]}`,
			[]string{`{"a":""}`, `{"a":"","b":2}`}, []string{`{"b":2}`}},
		{`{"allOf":[{"$ref":"#/$defs/p"}],"description":"x","$defs":{"p":{"type":"integer","minimum":3}}}`, []string{`3`}, []string{`2`}},
		{`{"type":"array","prefixItems":[{"type":"integer"},{"type":"string"}],"items":{"type":"boolean"},"maxItems":3}`,
			[]string{`[1,"a"]`, `[1,"a",true]`}, []string{`[1]`, `[1,"a",true,false]`, `["a",1]`}},
		{`{"type":"array","items":[{"type":"integer"}],"additionalItems":false}`, []string{`[1]`}, []string{`[1,2]`, `[]`}},
		{`{"type":"string","minLength":2,"maxLength":3}`, []string{`"ab"`, `"abc"`, `"\n\u00e9"`, `"é✓😀"`}, []string{`"a"`, `"abcd"`, `"\ud83d\ude00"`}},
		{`{"type":"string","format":"date"}`, []string{`"2024-02-29"`}, []string{`"2024-13-01"`, `"24-01-01"`}},
		{`{"type":"string","format":"time"}`, []string{`"23:59:59Z"`, `"00:00:00.123+05:30"`}, []string{`"24:00:00Z"`, `"12:00:00"`}},
		{`{"type":"string","format":"date-time"}`, []string{`"2024-01-31T12:00:00Z"`}, []string{`"2024-01-31 12:00:00Z"`}},
		{`{"type":"string","format":"uuid"}`, []string{`"123e4567-e89b-12d3-a456-426614174000"`}, []string{`"123e4567e89b12d3a456426614174000"`}},
		{`{"type":"string","format":"email"}`, []string{`"anything"`}, nil},
		{`{"type":"string","pattern":"^a+b?$"}`, []string{`"a"`, `"aab"`}, []string{`"b"`, `"ab b"`, `""`}},
		{`{"type":"string","pattern":"x"}`, []string{`"x"`, `"axb"`, `"\n x"`}, []string{`"y"`, `""`}},
		{`{"type":"string","pattern":"^[^a]\"$"}`, []string{`"b\""`, `"\n\""`, `"\\\""`, `"\u0001\""`}, []string{`"a\""`, `"b"`}},
		{`{"type":"string","pattern":"^(?i)ab$"}`, []string{`"aB"`, `"AB"`}, []string{`"ac"`}},
		{`{"type":"integer","minimum":-3,"exclusiveMaximum":12}`, []string{`-3`, `0`, `11`}, []string{`-4`, `12`, `100`, `1.0`, `-0`}},
		{`{"type":"number","exclusiveMinimum":0,"maximum":1}`, []string{`0.5`, `1`, `1.000`, `0.0001`}, []string{`0`, `0.0`, `-0.5`, `1.01`, `2`, `1e0`}},
		{`{"type":"number","minimum":-2.5}`, []string{`-2.5`, `-2.49`, `0`, `1234567`}, []string{`-2.51`, `-3`}},
		{`{"type":"object","properties":{"a":{"type":"integer"}},"additionalProperties":{"type":"boolean"}}`,
			[]string{`{"a":1,"x":true}`, `{"b":false,"c":true}`, `{"aa":true}`, `{"":true}`}, []string{`{"a":true}`, `{"x":1}`, `{"x":true,"a":1}`}},
		{`{"type":"object","properties":{"é\"":{"type":"integer"}},"additionalProperties":true}`,
			[]string{`{"é\"":1}`, `{"é":"x"}`, `{"é\"x":1}`}, []string{`{"é\"":"x"}`, `{"\u00e9\"":"x"}`}},
		{`{"type":"object","additionalProperties":false}`, []string{`{}`}, []string{`{"a":1}`}},
		{`{"type":"object","required":["q"]}`, []string{`{"q":[1,{}]}`}, []string{`{}`}},
		{`{"properties":{"n":{"type":"integer"}},"required":["n"]}`, []string{`{"n":1}`}, []string{`1`}},
		{`true`, []string{`1`, `"x"`, `[{"a":null}]`}, nil},
		{`{}`, []string{`1`, `{}`, `[]`}, nil},
		{`{"description":"anything"}`, []string{`[true]`}, nil},
		{`{"type":"array"}`, []string{`[1,"a",[]]`}, []string{`{}`}},
		{`{"type":"array","maxItems":0}`, []string{`[]`}, []string{`[1]`}},
		{`{"type":"boolean","uniqueItems":false}`, []string{`true`}, nil},
		{`{"$defs":{"d":{"type":"string"}},"type":"array","prefixItems":[{"$ref":"#/$defs/d"},{"$id":"urn:x","$defs":{"d":{"type":"integer"}},"type":"object","properties":{"q":{"$ref":"#/$defs/d"},"r":{"$ref":"#"}}}],"items":false}`,
			[]string{`["s",{"q":1}]`, `["s",{"r":{"r":{}}}]`}, []string{`[1,{"q":1}]`, `["s",{"q":"s"}]`}},
	} {
		g, err := FromJSONSchema([]byte(tc.schema))
		if err != nil {
			t.Errorf("%s: %v", tc.schema, err)
			continue
		}
		for _, s := range tc.ok {
			if !accepts(g, s) {
				t.Errorf("%s: %s refused", tc.schema, s)
			}
			if ok, err := Valid([]byte(tc.schema), []byte(s)); !ok || err != nil {
				t.Errorf("%s: Valid(%s) = %v, %v", tc.schema, s, ok, err)
			}
		}
		for _, s := range tc.fail {
			if accepts(g, s) {
				t.Errorf("%s: %s accepted", tc.schema, s)
			}
		}
	}
}

func TestJSONObject(t *testing.T) {
	g := JSONObject()
	for _, s := range []string{`{}`, `{"a":1}`, `{"a": [1, 2.5e-3, {"b": null}], "c": "\u00e9\n"}`, "{\n  \"k\": true\n}", `{"":{"":[]}}`} {
		if !accepts(g, s) {
			t.Errorf("%s refused", s)
		}
	}
	for _, s := range []string{`[]`, `1`, `{"a" 1}`, `{a:1}`, `{"a":1,}`, "{\"\x01\":1}", `{"a":1}{}`, `{"a": 1}x`, "{   }", "{\n\n\n\n\n}"} {
		if accepts(g, s) {
			t.Errorf("%q accepted", s)
		}
	}
	if !accepts(JSONValue(), `"x"`) || accepts(JSONValue(), `x`) {
		t.Error("JSONValue")
	}
}

// TestWhitespace checks llama.cpp's bounded white space: none, one space,
// or one or two newlines then up to 20 spaces or tabs.
func TestWhitespace(t *testing.T) {
	g := JSONObject()
	for _, ws := range []string{"", " ", "\n", "\n\n", "\n" + strings.Repeat(" ", 20), "\n\n\t\t \t"} {
		if !accepts(g, "{"+ws+"}") {
			t.Errorf("%q refused", ws)
		}
	}
	for _, ws := range []string{"  ", "\t", "\n\n\n", "\n" + strings.Repeat(" ", 21), " \n", "\r\n"} {
		// Two gaps may meet ("{" space space "}"), so test a single one.
		if accepts(g, `{"a":`+ws+`1}`) {
			t.Errorf("%q accepted", ws)
		}
	}
}

// TestUTF8 checks byte-level UTF-8 inside strings: a character may be
// split across calls, ill-formed sequences are refused.
func TestUTF8(t *testing.T) {
	g := JSONValue()
	m := g.Matcher()
	for _, part := range []string{`"`, "\xC3", "\xA9", "\xE2\x9C", "\x93", "\xF0", "\x9F\x98", "\x80", `"`} {
		if !m.Accept([]byte(part)) {
			t.Fatalf("%q refused", part)
		}
	}
	if !m.Done() {
		t.Error("not done")
	}
	for _, bad := range []string{"\xC3\x28", "\xC0\x80", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xFF", "\x80", "\x7F", "\x1F", "\xE2\x9C\"", `\x`, `\u12`, `\ud800`} {
		m := g.Matcher()
		if m.Accept([]byte(`"` + bad + `"`)) {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestNumbers(t *testing.T) {
	g, _ := FromJSONSchema([]byte(`{"type":"number"}`))
	for _, s := range []string{"0", "-0", "1.5", "-12.25e+10", "3E-2", "1e99", "9999999999999999", "0.1234567890123456"} {
		if !accepts(g, s) {
			t.Errorf("%s refused", s)
		}
	}
	for _, s := range []string{"01", "+1", "1.", ".5", "1e", "1e100", "1e+", "99999999999999999", "0.12345678901234567", "--1", "NaN"} {
		if accepts(g, s) {
			t.Errorf("%s accepted", s)
		}
	}
	m := g.Matcher()
	m.Accept([]byte("12"))
	if !m.Done() || !m.More() {
		t.Errorf("after 12: done %v more %v, want both", m.Done(), m.More())
	}
}

// TestIntegerRanges compares the grammar of random integer bounds with the
// bounds themselves on every integer around them.
func TestIntegerRanges(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	pick := func() int64 {
		switch rng.IntN(4) {
		case 0:
			return rng.Int64N(21) - 10
		case 1:
			return rng.Int64N(2001) - 1000
		default:
			return rng.Int64N(200001) - 100000
		}
	}
	for range 60 {
		lo, hi := pick(), pick()
		hasLo, hasHi := rng.IntN(5) > 0, rng.IntN(5) > 0
		exLo, exHi := rng.IntN(3) == 0, rng.IntN(3) == 0
		var kw []string
		if hasLo {
			kw = append(kw, fmt.Sprintf(`"%s":%d`, map[bool]string{false: "minimum", true: "exclusiveMinimum"}[exLo], lo))
		}
		if hasHi {
			kw = append(kw, fmt.Sprintf(`"%s":%d`, map[bool]string{false: "maximum", true: "exclusiveMaximum"}[exHi], hi))
		}
		schema := `{"type":"integer"` + strings.Join(append([]string{""}, kw...), ",") + `}`
		g, err := FromJSONSchema([]byte(schema))
		in := func(x int64) bool {
			return (!hasLo || x > lo || !exLo && x == lo) && (!hasHi || x < hi || !exHi && x == hi)
		}
		if err != nil {
			if !errors.Is(err, ErrEmpty) {
				t.Errorf("%s: %v", schema, err)
			}
			continue
		}
		for _, c := range []int64{lo, hi} {
			for x := c - 40; x <= c+40; x++ {
				if got := accepts(g, fmt.Sprint(x)); got != in(x) {
					t.Errorf("%s: %d accepted %v, want %v", schema, x, got, in(x))
				}
			}
		}
	}
}

// TestDecimalRanges compares the grammar of random decimal bounds with
// exact comparisons on random numbers near them.
func TestDecimalRanges(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	dec := func() string {
		s := fmt.Sprint(rng.IntN(30) - 15)
		if rng.IntN(2) == 0 {
			s += "." + fmt.Sprint(rng.IntN(1000))
		}
		return s
	}
	for range 60 {
		lo, hi := dec(), dec()
		exLo, exHi := rng.IntN(2) == 0, rng.IntN(2) == 0
		schema := fmt.Sprintf(`{"type":"number","%s":%s,"%s":%s}`,
			map[bool]string{false: "minimum", true: "exclusiveMinimum"}[exLo], lo,
			map[bool]string{false: "maximum", true: "exclusiveMaximum"}[exHi], hi)
		g, err := FromJSONSchema([]byte(schema))
		if err != nil {
			if !errors.Is(err, ErrEmpty) {
				t.Errorf("%s: %v", schema, err)
			}
			continue
		}
		l, _ := new(big.Rat).SetString(lo)
		h, _ := new(big.Rat).SetString(hi)
		for range 400 {
			x := dec()
			if rng.IntN(3) == 0 {
				x += strings.Repeat("0", rng.IntN(3))
			}
			if rng.IntN(4) == 0 {
				x = []string{lo, hi}[rng.IntN(2)] + []string{"", "0", "1", "01"}[rng.IntN(4)]
				if !strings.Contains(x, ".") && strings.HasSuffix(x, "1") {
					continue
				}
			}
			v, ok := new(big.Rat).SetString(x)
			if !ok || !json.Valid([]byte(x)) {
				continue
			}
			want := (v.Cmp(l) > 0 || !exLo && v.Cmp(l) == 0) && (v.Cmp(h) < 0 || !exHi && v.Cmp(h) == 0)
			if got := accepts(g, x); got != want {
				t.Errorf("%s: %s accepted %v, want %v", schema, x, got, want)
			}
		}
	}
}

// TestPatterns checks pattern grammars against Go's regexp on random
// strings from an alphabet around the pattern's.
func TestPatterns(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, p := range []string{`^[a-c]+$`, `^a(b|cd)*e?$`, `b.c`, `^\d{2,4}-x$`, `^[^b]*$`, `^(ab)+|c$`, `^é[é-ë]?$`, `^.$`, `^\w+\s\S$`, `^x{0,3}$`} {
		g, err := FromJSONSchema([]byte(`{"type":"string","pattern":` + string(quote(nil, p)) + `}`))
		if strings.Contains(p, "|c$") {
			if !errors.Is(err, ErrUnsupported) {
				t.Errorf("%s: err %v, want unsupported (anchor inside)", p, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		re := regexp.MustCompile(p)
		alpha := []rune("abcdexé12 \n-\"ë")
		for range 500 {
			r := make([]rune, rng.IntN(6))
			for i := range r {
				r[i] = alpha[rng.IntN(len(alpha))]
			}
			s := string(r)
			want := re.MatchString(s) && !strings.ContainsAny(s, "\r\u2028\u2029")
			if strings.Contains(p, ".") && strings.Contains(s, "\n") {
				continue // ECMA's . and RE2's agree on \n; skip the text anchors' subtleties
			}
			if got := accepts(g, string(quote(nil, s))); got != want {
				t.Errorf("%s: %q accepted %v, want %v", p, s, got, want)
			}
		}
	}
}

func TestSchemaErrors(t *testing.T) {
	for _, tc := range []struct {
		schema  string
		want    error
		path    string // in the message
		keyword string
	}{
		{`{"type":"string","not":{}}`, ErrUnsupported, "#/not", "not"},
		{`{"properties":{"a":{"type":"array","uniqueItems":true}}}`, ErrUnsupported, "#/properties/a/uniqueItems", "uniqueItems"},
		{`{"type":"object","minProperties":1}`, ErrUnsupported, "#/minProperties", ""},
		{`{"type":"object","patternProperties":{"^a":{}}}`, ErrUnsupported, "#/patternProperties", ""},
		{`{"type":"number","multipleOf":2}`, ErrUnsupported, "#/multipleOf", ""},
		{`{"items":{"if":{}}}`, ErrUnsupported, "#/items/if", ""},
		{`{"$ref":"https://example.com/s.json"}`, ErrUnsupported, "#/$ref", "only local"},
		{`{"$ref":"#/$defs/missing"}`, ErrSchema, "#/$ref", "points to nothing"},
		{`{"type":"strin"}`, ErrSchema, "#/type", ""},
		{`{"type":"string","pattern":"(?=a)"}`, ErrUnsupported, "#/pattern", ""},
		{`{"type":"string","pattern":"a$b"}`, ErrUnsupported, "#/pattern", "anchors"},
		{`{"type":"string","pattern":"^a$","maxLength":3}`, ErrUnsupported, "#/pattern", ""},
		{`{"type":"array","minItems":3,"maxItems":1}`, ErrEmpty, "#", ""},
		{`{"enum":[]}`, ErrEmpty, "", ""},
		{`{"type":"integer","minimum":5,"maximum":4}`, ErrEmpty, "", ""},
		{`{"$ref":"#"}`, ErrEmpty, "", ""},
		{`{"anyOf":[{"$ref":"#"},{"type":"null"}]}`, ErrUnsupported, "", "left recursion"},
		{`{"type":"number","minimum":1e-20}`, ErrUnsupported, "", "fraction digits"},
		{`{"type":"number","minimum":1e400}`, ErrUnsupported, "#/minimum", "float64"},
		{`{"minItems":-1}`, ErrSchema, "#/minItems", ""},
		{`{"maxLength":1e10}`, ErrUnsupported, "#/maxLength", ""},
		{`{"required":"a"}`, ErrSchema, "#/required", ""},
		{`{"anyOf":[]}`, ErrSchema, "#/anyOf", ""},
		{`{"allOf":[{"pattern":"^a$"},{"pattern":"^b$"}]}`, ErrUnsupported, "pattern", ""},
		{`[1]`, ErrSchema, "#", ""},
		{`{"a":1,"a":2}`, ErrSchema, "#", "duplicate"},
		{`{"type":"string"} x`, ErrSchema, "#", ""},
		{`{"type":"string","format":"date","maxLength":5}`, ErrUnsupported, "#/format", ""},
	} {
		_, err := FromJSONSchema([]byte(tc.schema))
		var se *SchemaError
		switch {
		case err == nil:
			t.Errorf("%s: no error, want %v", tc.schema, tc.want)
		case !errors.Is(err, tc.want) || !errors.As(err, &se):
			t.Errorf("%s: %v, want %v", tc.schema, err, tc.want)
		case !strings.Contains(err.Error(), tc.path) || !strings.Contains(err.Error(), tc.keyword) || !strings.HasPrefix(err.Error(), "grammar: "):
			t.Errorf("%s: %q does not name %q and %q", tc.schema, err, tc.path, tc.keyword)
		}
	}
}

// TestRandomWalks walks random sentences of schema grammars: each must be
// JSON that satisfies the schema.
func TestRandomWalks(t *testing.T) {
	schemas := []string{
		`{}`,
		`{"type":"object","properties":{"a":{"type":"integer","minimum":-5,"maximum":123},"b":{"type":"string","maxLength":3},"c":{"enum":["x","xy",1,null]}},"required":["a"]}`,
		`{"type":"array","items":{"type":"number","minimum":0.5,"exclusiveMaximum":2.25},"minItems":2,"maxItems":4}`,
		`{"type":"string","pattern":"^[a-z]+@[a-z]+\\.(com|org)$"}`,
		`{"type":"object","properties":{"name":{"type":"string"}},"additionalProperties":{"type":"integer"}}`,
		`{"type":"object","properties":{"a":{},"ab":{},"é":{"type":"integer"}},"additionalProperties":{"type":"boolean"}}`,
		`{"$defs":{"n":{"type":"object","properties":{"v":{"type":"integer"},"next":{"$ref":"#/$defs/n"}},"required":["v"]}},"$ref":"#/$defs/n"}`,
		`{"anyOf":[{"type":"string","format":"date"},{"type":"string","format":"uuid"},{"type":"boolean"},{"type":"string","format":"date-time"}]}`,
		`{"allOf":[{"properties":{"a":{"type":"string"}},"required":["a"]},{"properties":{"b":{"const":"q\"\u00e9"}},"required":["b"]}]}`,
		`{"type":"array","prefixItems":[{"type":"integer"},{"type":"string","format":"time"}],"items":false}`,
		`{"type":"number","minimum":-1.25,"maximum":3}`,
		`{"type":"integer","exclusiveMinimum":-100,"maximum":-7}`,
		`{"type":"string","pattern":"\\d"}`,
		`{"type":["integer","string","null"],"maxLength":2,"minimum":0}`,
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, s := range schemas {
		g, err := FromJSONSchema([]byte(s))
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		n := 0
		for range 200 {
			out := walk(t, g.Matcher(), rng, 2000)
			if out == "" {
				continue
			}
			n++
			if !json.Valid([]byte(out)) {
				t.Errorf("%s: invalid JSON %q", s, out)
				continue
			}
			if ok, err := Valid([]byte(s), []byte(out)); !ok || err != nil {
				t.Errorf("%s: %q does not validate (%v)", s, out, err)
			}
		}
		if n < 100 {
			t.Errorf("%s: only %d of 200 walks finished", s, n)
		}
	}
}

// walk produces a random sentence from m: random allowed bytes, closing
// bytes favoured; "" if it grows past limit.
func walk(t testing.TB, m *Matcher, rng *rand.Rand, limit int) string {
	var out, next []byte
	for {
		next = m.Next(next[:0])
		if m.Done() && (len(next) == 0 || rng.IntN(4) == 0) {
			return string(out)
		}
		if len(next) == 0 {
			t.Fatalf("dead end after %q", out)
		}
		if len(out) > limit {
			return ""
		}
		c := next[rng.IntN(len(next))]
		for _, k := range next {
			if (k == '"' || k == '}' || k == ']') && rng.IntN(3) == 0 {
				c = k
			}
		}
		if !m.Allows([]byte{c}) || !m.Accept([]byte{c}) {
			t.Fatalf("Next offered %q after %q but Accept refused", c, out)
		}
		out = append(out, c)
	}
}

// TestTooLarge checks that a schema whose grammar would pass MaxElements
// is refused.
func TestTooLarge(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"type":"object","properties":{`)
	for i := range 40000 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"p%d":{"type":"integer","minimum":%d,"maximum":%d}`, i, i, 7*i+123456)
	}
	b.WriteString(`}}`)
	_, err := FromJSONSchema([]byte(b.String()))
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("err %v, want ErrTooLarge", err)
	}
}
