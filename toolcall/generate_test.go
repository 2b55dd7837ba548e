package toolcall_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/zerfoo/zerfoo/generate"
	"github.com/zerfoo/zerfoo/gguf/quant"
	"github.com/zerfoo/zerfoo/grammar"
	"github.com/zerfoo/zerfoo/internal/defaultmodel"
	"github.com/zerfoo/zerfoo/models/gemma3/gemma3test"
	"github.com/zerfoo/zerfoo/tokenizer"
	"github.com/zerfoo/zerfoo/toolcall"
)

const tools = `[
 {"type": "function", "function": {"name": "get_weather", "description": "Weather of a city",
  "parameters": {"type": "object", "properties": {"city": {"type": "string", "maxLength": 20}, "unit": {"enum": ["C", "F"]}, "days": {"type": "integer", "minimum": 1, "maximum": 7}}, "required": ["city"]}}},
 {"type": "function", "function": {"name": "add", "parameters": {"$defs": {"n": {"type": "number", "minimum": -100, "maximum": 100}},
  "type": "object", "properties": {"a": {"$ref": "#/$defs/n"}, "b": {"$ref": "#/$defs/n"}}, "required": ["a", "b"]}}},
 {"type": "function", "function": {"name": "ping"}}
]`

// TestGeneratedToolCalls generates answers under each tool_choice with a
// random tiny model (the whole prompt: tools in the system message) and
// the built-in trained one (the grammar only: the tools' prompt does not
// fit its 512-token context), at temperatures 1 to 2: every answer must
// parse into calls of offered tools whose arguments satisfy the tool's
// parameters, or into a string response where allowed.
func TestGeneratedToolCalls(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tiny.gguf")
	cfg := gemma3test.Config()
	cfg.Context = 4096
	if err := gemma3test.Write(path, gemma3test.Options{Config: cfg, Type: quant.Q8_0, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	builtin, err := defaultmodel.Path()
	if err != nil {
		t.Fatal(err)
	}
	list, err := toolcall.ParseTools([]byte(tools))
	if err != nil {
		t.Fatal(err)
	}
	params := map[string][]byte{}
	for _, tl := range list {
		params[tl.Name] = tl.Parameters
	}
	seeds := 6
	if testing.Short() {
		seeds = 2
	}
	calls, replies := 0, 0
	for _, mp := range []struct {
		name, path string
		system     bool
	}{{"random", path, true}, {"builtin", builtin, false}} {
		m, err := generate.Load(ctx, mp.path)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		for _, opt := range []toolcall.Options{
			{},
			{Choice: toolcall.Choice{Mode: toolcall.Required}},
			{Choice: toolcall.Choice{Mode: toolcall.Function, Name: "add"}},
			{Parallel: true},
		} {
			p, err := toolcall.Prepare(list, opt)
			if err != nil {
				t.Fatal(err)
			}
			msgs := []toolcall.Message{{Role: "user", Content: "What is the weather in Paris?"}}
			if mp.system {
				msgs = p.Render(msgs)
			}
			var turns []tokenizer.Message
			for _, r := range msgs {
				turns = append(turns, tokenizer.Message{Role: r.Role, Content: r.Content})
			}
			prompt, err := m.EncodeChat(turns)
			if err != nil {
				t.Fatal(err)
			}
			for seed := range seeds {
				g := generate.Options{Grammar: p.Grammar}
				g.Temperature, g.Seed = 1+float64(seed%3)/2, uint64(seed)
				res, err := m.RunTokens(ctx, prompt, g)
				if err != nil {
					t.Fatalf("%s %+v seed %d: %v", mp.name, opt, seed, err)
				}
				reply, err := p.Parse(res.Text)
				if err != nil || res.Finish != generate.FinishStop {
					t.Errorf("%s %+v seed %d: finish %q, %v: %q", mp.name, opt, seed, res.Finish, err, res.Text)
					continue
				}
				if seed == 0 {
					t.Logf("%s %+v: %s", mp.name, opt.Choice, res.Text)
				}
				if len(reply.Calls) == 0 {
					replies++
					if opt.Choice.Mode != "" {
						t.Errorf("%s %+v: a response where a call is required: %q", mp.name, opt, res.Text)
					}
					continue
				}
				for _, c := range reply.Calls {
					calls++
					schema, ok := params[c.Name]
					switch {
					case !ok:
						t.Errorf("%s: call of unknown %q", mp.name, c.Name)
					case opt.Choice.Mode == toolcall.Function && c.Name != "add":
						t.Errorf("%s: call of %q, want add", mp.name, c.Name)
					case schema == nil && c.Arguments != "{}":
						t.Errorf("%s: %s(%s), want no arguments", mp.name, c.Name, c.Arguments)
					case schema != nil:
						if ok, err := grammar.Valid(schema, []byte(c.Arguments)); !ok || err != nil {
							t.Errorf("%s: %s(%s) does not satisfy its parameters (%v)", mp.name, c.Name, c.Arguments, err)
						}
					}
					if opt.Parallel && len(c.ID) < 4 {
						t.Errorf("%s: parallel call id %q", mp.name, c.ID)
					}
				}
			}
		}
	}
	if !t.Failed() {
		t.Logf("%d tool calls and %d responses, all valid", calls, replies)
	}
}
