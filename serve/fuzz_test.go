package serve

import (
	"testing"
)

var fuzzSeeds = []string{
	`{"model":"tiny","messages":[{"role":"user","content":"hi"}],"max_tokens":5,"temperature":0.5,"top_p":0.9,"seed":1,"stop":["\n"],"stream":true,"stream_options":{"include_usage":true}}`,
	`{"messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},{"role":"assistant","content":null},{"role":"user","content":"c"}]}`,
	`{"prompt":"once","max_tokens":3,"stop":"x","top_k":4,"min_p":0.1,"repeat_penalty":1.1}`,
	`{"prompt":[1,2,3],"logprobs":0,"n":1,"best_of":1}`,
	`{"prompt":[[1,2]],"echo":false,"suffix":""}`,
	`{"messages":[{"role":"user","content":"hi"}],"max_tokens":-1}`,
	`{"messages":"x"}`, `[]`, `{`, ``, `null`, `{"stop":[1]}`, `{"seed":1e30}`,
}

// checkRequest asserts the invariants of a request the parser accepted.
func checkRequest(t *testing.T, r *request, chat bool) {
	if r.chat != chat || r.maxTokens < 0 || len(r.stop) > maxStops || r.includeUsage && !r.stream {
		t.Fatalf("accepted request breaks an invariant: %+v", r)
	}
	if err := r.sampling.Validate(); err != nil || r.sampling.Temperature > 2 {
		t.Fatalf("accepted sampling %+v: %v", r.sampling, err)
	}
	for _, s := range r.stop {
		if s == "" {
			t.Fatal("accepted an empty stop sequence")
		}
	}
	if chat && len(r.messages) == 0 || !chat && r.messages != nil {
		t.Fatalf("accepted request without a prompt: %+v", r)
	}
}

func FuzzParseChat(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, e := parseChat(body)
		if (r == nil) == (e == nil) {
			t.Fatalf("got request %v and error %v, want exactly one", r, e)
		}
		if e != nil {
			if e.Status != 400 || e.Message == "" {
				t.Fatalf("got error %+v, want a 400 with a message", e)
			}
			return
		}
		checkRequest(t, r, true)
	})
}

func FuzzParseCompletion(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, e := parseCompletion(body)
		if (r == nil) == (e == nil) {
			t.Fatalf("got request %v and error %v, want exactly one", r, e)
		}
		if e != nil {
			if e.Status != 400 || e.Message == "" {
				t.Fatalf("got error %+v, want a 400 with a message", e)
			}
			return
		}
		checkRequest(t, r, false)
	})
}
