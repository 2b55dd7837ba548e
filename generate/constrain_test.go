package generate_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/generate"
	"github.com/zerfoo/zerfoo/gguf/quant"
	"github.com/zerfoo/zerfoo/grammar"
	"github.com/zerfoo/zerfoo/internal/defaultmodel"
	"github.com/zerfoo/zerfoo/models/gemma3/gemma3test"
)

// constrainSchemas are the schemas every constrained generation test runs.
var constrainSchemas = []struct{ name, schema string }{
	{"nested", `{"type":"object","properties":{"user":{"type":"object","properties":{"name":{"type":"string","maxLength":12},"age":{"type":"integer","minimum":0,"maximum":150}},"required":["name","age"]},"active":{"type":"boolean"}},"required":["user","active"]}`},
	{"array-bounds", `{"type":"array","items":{"type":"integer"},"minItems":2,"maxItems":5}`},
	{"enum", `{"type":"object","properties":{"color":{"enum":["red","green","blue","reddish"]},"size":{"enum":[1,2,3,null]}},"required":["color","size"]}`},
	{"anyOf", `{"anyOf":[{"type":"object","properties":{"kind":{"const":"circle"},"r":{"type":"number","minimum":0,"maximum":10}},"required":["kind","r"]},{"type":"object","properties":{"kind":{"const":"square"},"side":{"type":"integer","exclusiveMinimum":0,"maximum":99}},"required":["kind","side"]}]}`},
	{"ref", `{"$defs":{"point":{"type":"object","properties":{"x":{"type":"integer","maximum":999,"minimum":-999},"y":{"type":"integer","maximum":999,"minimum":-999}},"required":["x","y"]}},"type":"object","properties":{"from":{"$ref":"#/$defs/point"},"to":{"$ref":"#/$defs/point"}},"required":["from","to"]}`},
	{"string-escapes", `{"type":"object","properties":{"text":{"type":"string","minLength":3,"maxLength":16}},"required":["text"]}`},
	{"unicode-const", `{"type":"object","properties":{"greeting":{"const":"héllo \"wörld\" ✓\n"},"n":{"type":"number","minimum":-1.5,"maximum":1.5}},"required":["greeting","n"]}`},
	{"numbers", `{"type":"array","items":{"type":"number"},"maxItems":3}`},
	{"optional", `{"type":"object","properties":{"a":{"type":"integer","minimum":0,"maximum":9},"b":{"type":"boolean"},"c":{"type":"null"},"d":{"type":"string","maxLength":4}}}`},
	{"tuple", `{"type":"array","prefixItems":[{"type":"string","format":"date"},{"type":"boolean"},{"type":"integer","minimum":10,"maximum":20}],"items":false}`},
	{"allOf", `{"allOf":[{"type":"object","properties":{"id":{"type":"string","format":"uuid"}},"required":["id"]},{"properties":{"ok":{"type":"boolean"}},"required":["ok"]}]}`},
	{"pattern", `{"type":"object","properties":{"code":{"type":"string","pattern":"^[A-Z]{2}-[0-9]{3}$"},"tags":{"type":"array","items":{"enum":["a","b"]},"maxItems":3}},"required":["code","tags"]}`},
	{"additional", `{"type":"object","properties":{"k":{"type":"integer","minimum":0,"maximum":5}},"additionalProperties":{"type":"boolean"},"required":["k"]}`},
}

// constrainModels returns a random tiny model and the built-in trained one.
func constrainModels(t *testing.T) map[string]*generate.Model {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tiny.gguf")
	// A longer context than the default 256: a random model spends many
	// tokens on the white space the grammar allows between JSON tokens.
	cfg := gemma3test.Config()
	cfg.Context = 1024
	if err := gemma3test.Write(path, gemma3test.Options{Config: cfg, Type: quant.Q8_0, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	dm, err := defaultmodel.Path()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*generate.Model{}
	for name, p := range map[string]string{"random": path, "builtin": dm} {
		m, err := generate.Load(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		out[name] = m
	}
	return out
}

// TestConstrainedGeneration samples at temperatures 1 to 2 with many
// seeds from a random and a trained tiny model under each schema: every
// finished output must parse with encoding/json and satisfy the schema,
// and every generation must finish (the grammar stops it).
func TestConstrainedGeneration(t *testing.T) {
	models := constrainModels(t)
	seeds := 8
	if testing.Short() {
		seeds = 2
	}
	ctx := context.Background()
	total := 0
	for _, sc := range constrainSchemas {
		g, err := grammar.FromJSONSchema([]byte(sc.schema))
		if err != nil {
			t.Fatalf("%s: %v", sc.name, err)
		}
		for _, mname := range []string{"random", "builtin"} {
			m := models[mname]
			for seed := range seeds {
				opt := generate.Options{Grammar: g, Chat: true}
				opt.Temperature = 1 + float64(seed%3)/2
				opt.Seed = uint64(seed)
				if seed%4 == 3 {
					opt.TopK, opt.TopP = 40, 0.9
				}
				res, err := m.Run(ctx, "Write JSON for "+sc.name, opt)
				if err != nil {
					t.Fatalf("%s/%s seed %d: %v", sc.name, mname, seed, err)
				}
				total++
				if res.Finish != generate.FinishStop {
					t.Errorf("%s/%s seed %d: finish %q after %d tokens, text %q", sc.name, mname, seed, res.Finish, len(res.Tokens), res.Text)
					continue
				}
				var v any
				if err := json.Unmarshal([]byte(res.Text), &v); err != nil {
					t.Errorf("%s/%s seed %d: %q does not parse: %v", sc.name, mname, seed, res.Text, err)
					continue
				}
				if ok, err := grammar.Valid([]byte(sc.schema), []byte(res.Text)); !ok || err != nil {
					t.Errorf("%s/%s seed %d: %q does not satisfy the schema (%v)", sc.name, mname, seed, res.Text, err)
				}
				if seed == 0 {
					t.Logf("%s/%s: %s", sc.name, mname, res.Text)
				}
			}
		}
	}
	if !t.Failed() {
		t.Logf("%d constrained generations, all valid", total)
	}
}

// TestConstrainedGreedy checks that greedy decoding picks, at each step,
// the allowed token with the highest logit: the output equals a greedy
// run with the disallowed tokens banned one step at a time.
func TestConstrainedGreedy(t *testing.T) {
	m := constrainModels(t)["builtin"]
	g := grammar.JSONObject()
	ctx := context.Background()
	res, err := m.Run(ctx, "func main", generate.Options{Grammar: g, MaxTokens: 24})
	if err != nil {
		t.Fatal(err)
	}
	// Replay: at each step, ban every token the matcher refuses.
	bytes := generate.TokenBytes(m.Tokenizer)
	mt := g.Matcher()
	prompt, err := m.Encode("func main", false)
	if err != nil {
		t.Fatal(err)
	}
	var got []int32
	for len(got) < len(res.Tokens) {
		bias := map[int32]float64{}
		for id, b := range bytes {
			if len(b) == 0 || !mt.Allows(b) {
				bias[int32(id)] = -100
			}
		}
		r, err := m.RunTokens(ctx, append(append([]int32{}, prompt...), got...), generate.Options{MaxTokens: 1, Sampling: generate.Sampling{LogitBias: bias}})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Tokens) != 1 {
			t.Fatalf("step %d: no token", len(got))
		}
		got = append(got, r.Tokens[0])
		mt.Accept(bytes[r.Tokens[0]])
	}
	if fmt.Sprint(got) != fmt.Sprint(res.Tokens) {
		t.Errorf("constrained greedy %v, masked greedy %v", res.Tokens, got)
	}
	if !strings.HasPrefix(res.Text, "{") {
		t.Errorf("text %q does not start an object", res.Text)
	}
}

// TestConstrainedSession runs a grammar in a chat session turn.
func TestConstrainedSession(t *testing.T) {
	m := constrainModels(t)["random"]
	g, err := grammar.FromJSONSchema([]byte(`{"enum":["yes","no"]}`))
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.NewSession("", 256)
	if err != nil {
		t.Fatal(err)
	}
	for turn := range 2 {
		res, err := s.Send(context.Background(), "yes or no?", generate.Options{Grammar: g, Sampling: generate.Sampling{Temperature: 1.5, Seed: uint64(turn)}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Text != `"yes"` && res.Text != `"no"` || res.Finish != generate.FinishStop {
			t.Errorf("turn %d: %q, finish %q", turn, res.Text, res.Finish)
		}
	}
}

func TestTokenBytes(t *testing.T) {
	m := constrainModels(t)["random"]
	b := generate.TokenBytes(m.Tokenizer)
	for id := range b {
		want, err := m.Tokenizer.Decode([]int32{int32(id)}, false)
		if err != nil {
			t.Fatal(err)
		}
		if string(b[id]) != want && !(want == "" && b[id] == nil) {
			t.Errorf("token %d: bytes %q, Decode %q", id, b[id], want)
		}
	}
}

// TestConstrainedConcurrent runs constrained generations of one model from
// several goroutines: the vocabulary index is built once and shared, each
// generation has its own matcher.
func TestConstrainedConcurrent(t *testing.T) {
	m := constrainModels(t)["builtin"]
	g, err := grammar.FromJSONSchema([]byte(constrainSchemas[0].schema))
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 4)
	for i := range 4 {
		go func() {
			res, err := m.Run(context.Background(), "JSON please", generate.Options{Grammar: g, Sampling: generate.Sampling{Temperature: 1, Seed: uint64(i)}})
			if err == nil {
				if ok, _ := grammar.Valid([]byte(constrainSchemas[0].schema), []byte(res.Text)); !ok {
					err = fmt.Errorf("seed %d: %q does not satisfy the schema", i, res.Text)
				}
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
