package grammar

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"testing"
)

var fuzzSchemas = []string{
	`{}`, `true`, `false`, `{"type":"integer","minimum":-7,"maximum":300}`,
	`{"type":"number","exclusiveMinimum":-0.5,"maximum":2.75}`,
	`{"type":"object","properties":{"a":{"type":"string","maxLength":4},"b":{"enum":[1,"x",null]}},"required":["b"],"additionalProperties":{"type":"boolean"}}`,
	`{"type":"array","prefixItems":[{"const":"k"}],"items":{"type":"number"},"minItems":2,"maxItems":4}`,
	`{"$defs":{"t":{"type":"object","properties":{"c":{"type":"array","items":{"$ref":"#/$defs/t"},"maxItems":2}}}},"$ref":"#/$defs/t"}`,
	`{"anyOf":[{"type":"string","format":"date-time"},{"type":"string","pattern":"^[a-f]{2,3}$"}]}`,
	`{"allOf":[{"type":"object","properties":{"x":{"type":"integer"}},"required":["x"]},{"properties":{"x":{"minimum":3}}}]}`,
	`{"type":["string","null"],"minLength":1}`,
	`{"type":"object","properties":{"é\u0001":{"type":"null"},"q\"":{}},"additionalProperties":true}`,
}

// FuzzSchema compiles fuzzed schemas: a refused schema must return a
// *SchemaError wrapping one of the sentinels; a compiled one must only
// produce JSON that satisfies the schema on random walks of its allowed
// bytes.
func FuzzSchema(f *testing.F) {
	for i, s := range fuzzSchemas {
		f.Add([]byte(s), uint64(i))
	}
	f.Fuzz(func(t *testing.T, schema []byte, seed uint64) {
		g, err := FromJSONSchema(schema)
		if err != nil {
			var se *SchemaError
			if !errors.As(err, &se) || !(errors.Is(err, ErrSchema) || errors.Is(err, ErrUnsupported) || errors.Is(err, ErrEmpty) || errors.Is(err, ErrTooLarge)) {
				t.Fatalf("%s: error %v is not a SchemaError wrapping a sentinel", schema, err)
			}
			return
		}
		// The grammar generates oneOf as anyOf; Valid checks exactly one.
		check := !bytes.Contains(schema, []byte("oneOf"))
		rng := rand.New(rand.NewPCG(seed, 7))
		for range 4 {
			out := walk(t, g.Matcher(), rng, 1000)
			if out == "" {
				continue
			}
			if !json.Valid([]byte(out)) {
				t.Fatalf("%s: walk %q is not JSON", schema, out)
			}
			if ok, err := Valid(schema, []byte(out)); check && (!ok || err != nil) {
				t.Fatalf("%s: walk %q does not satisfy the schema (%v)", schema, out, err)
			}
		}
	})
}

// FuzzMatcher feeds fuzzed bytes to the any-object grammar in random
// chunks: Allows must agree with Accept, and whatever it accepts as done
// must be a JSON object.
func FuzzMatcher(f *testing.F) {
	for _, s := range []string{`{"a": [1, 2.5e-3, {"b": null}], "c": "\u00e9\n"}`, "{\n  \"k\": true\n}", `{"a":`, `{"x":"\xC3\xA9\xE2\x9C\x93"}`, `{"":{}}`} {
		f.Add([]byte(s), uint64(len(s)))
	}
	f.Fuzz(func(t *testing.T, data []byte, seed uint64) {
		m := JSONObject().Matcher()
		rng := rand.New(rand.NewPCG(seed, 9))
		rest := data
		for len(rest) > 0 {
			n := 1 + rng.IntN(len(rest))
			allowed := m.Allows(rest[:n])
			if m.Accept(rest[:n]) != allowed {
				t.Fatalf("%q after %q: Allows %v disagrees with Accept", rest[:n], data[:len(data)-len(rest)], allowed)
			}
			if !allowed {
				return
			}
			rest = rest[n:]
		}
		if m.Done() {
			var v map[string]any
			if err := json.Unmarshal(data, &v); err != nil {
				t.Fatalf("%q accepted as done: %v", data, err)
			}
		}
	})
}

// randomSchema returns a random schema of the supported keywords.
func randomSchema(rng *rand.Rand, depth int) string {
	str := func(s string) string { return string(quote(nil, s)) }
	names := []string{"a", "b", "ab", "é", "q\"", "x/y", "", "n\n"}
	num := func() string {
		return []string{"0", "-1", "2.5", "-0.25", "10", "3", "-7.125", "100"}[rng.IntN(8)]
	}
	k := rng.IntN(14)
	if depth > 3 {
		k = rng.IntN(6)
	}
	switch k {
	case 0:
		return `{"type":"integer"` + []string{"", `,"minimum":` + num(), `,"maximum":` + num(), `,"exclusiveMinimum":-3,"maximum":` + num()}[rng.IntN(4)] + `}`
	case 1:
		return `{"type":"number"` + []string{"", `,"minimum":` + num(), `,"exclusiveMaximum":` + num(), `,"minimum":-10,"exclusiveMaximum":` + num()}[rng.IntN(4)] + `}`
	case 2:
		return `{"type":"string"` + []string{"", `,"maxLength":3`, `,"minLength":1,"maxLength":2`, `,"format":"date"`, `,"format":"uuid"`, `,"pattern":"^[ab]+é?$"`, `,"pattern":"x\\d"`}[rng.IntN(7)] + `}`
	case 3:
		return []string{`{"type":"boolean"}`, `{"type":"null"}`, `true`, `{}`}[rng.IntN(4)]
	case 4:
		vals := []string{`1`, `"a"`, `null`, `[1,{"k":"é"}]`, `{"z":false}`, `2.50`, `"q\"\n"`}
		rng.Shuffle(len(vals), func(i, j int) { vals[i], vals[j] = vals[j], vals[i] })
		if rng.IntN(3) == 0 {
			return `{"const":` + vals[0] + `}`
		}
		return `{"enum":[` + vals[0] + "," + vals[1] + "," + vals[2] + `]}`
	case 5:
		return `{"type":["string","integer","null"],"maxLength":2,"maximum":5}`
	case 6, 7:
		var props, req []string
		for _, n := range names[:1+rng.IntN(len(names))] {
			if rng.IntN(2) == 0 {
				continue
			}
			props = append(props, str(n)+":"+randomSchema(rng, depth+1))
			if rng.IntN(2) == 0 {
				req = append(req, str(n))
			}
		}
		s := `{"type":"object","properties":{` + joinComma(props) + `},"required":[` + joinComma(req) + `]`
		switch rng.IntN(4) {
		case 0:
			s += `,"additionalProperties":true`
		case 1:
			s += `,"additionalProperties":` + randomSchema(rng, depth+1)
		}
		return s + "}"
	case 8:
		s := `{"type":"array","items":` + randomSchema(rng, depth+1)
		if rng.IntN(2) == 0 {
			s += `,"minItems":1`
		}
		if rng.IntN(2) == 0 {
			s += `,"maxItems":3`
		}
		return s + "}"
	case 9:
		return `{"type":"array","prefixItems":[` + randomSchema(rng, depth+1) + "," + randomSchema(rng, depth+1) + `],"items":` + []string{"false", "true", randomSchema(rng, depth+1)}[rng.IntN(3)] + `,"maxItems":` + []string{"1", "2", "4"}[rng.IntN(3)] + `}`
	case 10:
		return `{"anyOf":[` + randomSchema(rng, depth+1) + "," + randomSchema(rng, depth+1) + `]}`
	case 11:
		return `{"allOf":[{"type":"object","properties":{"a":` + randomSchema(rng, depth+1) + `},"required":["a"]},{"properties":{"b":` + randomSchema(rng, depth+1) + `}}]}`
	case 12:
		if depth > 0 { // $refs resolve from the root
			break
		}
		return `{"$defs":{"d":` + randomSchema(rng, depth+1) + `},"type":"array","items":{"$ref":"#/$defs/d"},"maxItems":2}`
	}
	return `{"type":"integer","nullable":true}`
}

func joinComma(s []string) string {
	var b bytes.Buffer
	for i, x := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(x)
	}
	return b.String()
}

// TestRandomSchemas compiles random schemas and checks random sentences of
// each against the schema.
func TestRandomSchemas(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	n := 400
	if testing.Short() {
		n = 50
	}
	compiled, walks := 0, 0
	for range n {
		s := randomSchema(rng, 0)
		g, err := FromJSONSchema([]byte(s))
		if err != nil {
			if !errors.Is(err, ErrEmpty) {
				t.Errorf("%s: %v", s, err)
			}
			continue
		}
		compiled++
		for range 5 {
			out := walk(t, g.Matcher(), rng, 3000)
			if out == "" {
				continue
			}
			walks++
			if !json.Valid([]byte(out)) {
				t.Fatalf("%s: %q is not JSON", s, out)
			}
			if ok, err := Valid([]byte(s), []byte(out)); !ok || err != nil {
				t.Fatalf("%s: %q does not satisfy it (%v)", s, out, err)
			}
		}
	}
	t.Logf("%d schemas compiled of %d, %d sentences checked", compiled, n, walks)
}
