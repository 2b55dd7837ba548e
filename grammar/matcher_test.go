package grammar

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// testVocab returns every single byte plus random tokens over an alphabet
// of JSON punctuation, letters, escapes and whole and partial UTF-8.
func testVocab(rng *rand.Rand, n int) [][]byte {
	var toks [][]byte
	for b := range 256 {
		toks = append(toks, []byte{byte(b)})
	}
	alpha := []string{"{", "}", "[", "]", `"`, ":", ",", " ", "\n", "\t", "0", "1", "9", ".", "-", "e", "a", "b", "x", "y", "z", "true", "null", `\`, "u", "00e9", "é", "✓", "😀", "\xC3", "\xA9", "\xE2\x9C", "\x93", "\xF0\x9F", "\x98\x80", "  ", "\n  ", `":`, `",`, `"}`, `{"`, "]}"}
	toks = append(toks, nil, nil) // empty tokens (control pieces)
	for len(toks) < n {
		var b strings.Builder
		for range 1 + rng.IntN(4) {
			b.WriteString(alpha[rng.IntN(len(alpha))])
		}
		toks = append(toks, []byte(b.String()))
	}
	return toks
}

// TestFillMatchesAllows compares Fill, with and without its shortcut
// inside strings, with Allows on each token, at random points of random
// sentences of several grammars.
func TestFillMatchesAllows(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	toks := testVocab(rng, 3000)
	v := NewVocab(toks)
	allow := make([]bool, v.Len())
	for _, s := range []string{
		`{}`,
		`{"type":"object","properties":{"s":{"type":"string","maxLength":5},"n":{"type":"number"},"e":{"enum":["é","ab","a"]}},"additionalProperties":true}`,
		`{"type":"array","items":{"type":"string","minLength":2}}`,
		`{"type":"string","pattern":"^[a-z\"é]*$"}`,
	} {
		g, err := FromJSONSchema([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		for range 40 {
			text := walk(t, g.Matcher(), rng, 300)
			cut := rng.IntN(len(text) + 1)
			m := g.Matcher()
			if !m.Accept([]byte(text[:cut])) {
				t.Fatalf("%s: prefix %q refused", s, text[:cut])
			}
			for _, fast := range []bool{true, false} {
				m.noFast = !fast
				n := m.Fill(v, allow)
				count := 0
				for id, tok := range toks {
					want := len(tok) > 0 && m.Allows(tok)
					if allow[id] != want {
						t.Fatalf("%s after %q (fast %v): token %q allowed %v, want %v", s, text[:cut], fast, tok, allow[id], want)
					}
					if want {
						count++
					}
				}
				if n != count {
					t.Errorf("Fill returned %d, counted %d", n, count)
				}
			}
		}
	}
}

func TestAcceptRefusedLeavesState(t *testing.T) {
	g, _ := FromJSONSchema([]byte(`{"type":"object","properties":{"a":{"type":"string"}},"required":["a"]}`))
	m := g.Matcher()
	if !m.Accept([]byte(`{"a": "x`)) {
		t.Fatal("prefix refused")
	}
	before := string(m.Next(nil))
	if m.Accept([]byte(`y"}z`)) || m.Accept([]byte("\x01")) {
		t.Fatal("bad bytes accepted")
	}
	if got := string(m.Next(nil)); got != before || m.Len() != 8 {
		t.Fatalf("state changed: next %q, was %q; len %d", got, before, m.Len())
	}
	c := m.Clone()
	if !m.Accept([]byte(`"}`)) || !m.Done() || m.More() {
		t.Fatal("completion refused")
	}
	if c.Done() || !c.Accept([]byte(`z"}`)) || !c.Done() {
		t.Fatal("clone not independent")
	}
	m.Reset()
	if m.Len() != 0 || !m.Accept([]byte(`{"a":""}`)) {
		t.Fatal("Reset")
	}
}

func TestNoAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	v := NewVocab(testVocab(rng, 2000))
	allow := make([]bool, v.Len())
	g := JSONObject()
	for _, prefix := range []string{`{`, `{"a`, `{"a": [1, 2`, `{"a": {"b": "c`} {
		m := g.Matcher()
		m.Accept([]byte(prefix))
		tok := []byte(`"x": 12, "yz`)
		m.Fill(v, allow)
		m.Allows(tok)
		if a := testing.AllocsPerRun(20, func() { m.Allows(tok) }); a != 0 {
			t.Errorf("after %q: Allows allocates %v times", prefix, a)
		}
		if a := testing.AllocsPerRun(5, func() { m.Fill(v, allow) }); a != 0 {
			t.Errorf("after %q: Fill allocates %v times", prefix, a)
		}
	}
}

// TestLongOutput checks that the frames of a long generation are
// collected.
func TestLongOutput(t *testing.T) {
	g := JSONObject()
	m := g.Matcher()
	m.Accept([]byte(`{"a": [`))
	for i := range 20000 {
		if !m.Accept([]byte(fmt.Sprintf(`{"k%d": "v", "n": [%d]}, `, i, i))) {
			t.Fatalf("item %d refused", i)
		}
	}
	if !m.Accept([]byte(`1]}`)) || !m.Done() {
		t.Fatal("end refused")
	}
	if len(m.arena) > 20000 {
		t.Errorf("arena holds %d frames", len(m.arena))
	}
}

// TestAmbiguous runs a grammar whose alternatives share long prefixes:
// the parses are bounded and what is accepted stays valid.
func TestAmbiguous(t *testing.T) {
	alts := make([]string, 100)
	for i := range alts {
		alts[i] = fmt.Sprintf(`{"type":"string","maxLength":%d}`, 50+i)
	}
	schema := `{"type":"array","items":{"anyOf":[` + strings.Join(alts, ",") + `]}}`
	g, err := FromJSONSchema([]byte(schema))
	if err != nil {
		t.Fatal(err)
	}
	m := g.Matcher()
	if !m.Accept([]byte(`["` + strings.Repeat("a", 60))) {
		t.Fatal("refused")
	}
	if len(m.heads) > maxHeads {
		t.Errorf("%d parses", len(m.heads))
	}
	if !m.Accept([]byte(`", ""]`)) || !m.Done() {
		t.Error("end refused")
	}
}
