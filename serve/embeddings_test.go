package serve

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/generate"
)

type embedResponse struct {
	Object string `json:"object"`
	Data   []struct {
		Object    string          `json:"object"`
		Index     int             `json:"index"`
		Embedding json.RawMessage `json:"embedding"`
	} `json:"data"`
	Model string `json:"model"`
	Usage struct {
		PromptTokens int `json:"prompt_tokens"`
		TotalTokens  int `json:"total_tokens"`
	} `json:"usage"`
}

// wantEmbedding is the normalized pooled state of ids run alone.
func wantEmbedding(t *testing.T, ids []int32, pool generate.Pooling) []float32 {
	t.Helper()
	v, err := tiny.Embed(context.Background(), ids, pool)
	if err != nil {
		t.Fatal(err)
	}
	generate.Normalize(v)
	return v
}

func sameVector(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > 1e-5 {
			return false
		}
	}
	return true
}

// TestEmbeddings checks /v1/embeddings: a string, an array of strings and
// token ids (mixed), float and base64 encodings, each vector the
// normalized pooled state of the input run alone (texts with <bos> and
// control tokens parsed), the usage, and the pooling option.
func TestEmbeddings(t *testing.T) {
	s, ts := start(t, Options{Parallel: 2})
	texts := []string{"hello world", "<start_of_turn>user\nthe cat sat on the mat"}
	ids := []int32{2, 10, 11, 12}
	want := [][]float32{
		wantEmbedding(t, tiny.Tokenizer.Encode(texts[0], true, true), generate.PoolMean),
		wantEmbedding(t, tiny.Tokenizer.Encode(texts[1], true, true), generate.PoolMean),
		wantEmbedding(t, ids, generate.PoolMean),
	}
	tokens := len(tiny.Tokenizer.Encode(texts[0], true, true)) + len(tiny.Tokenizer.Encode(texts[1], true, true)) + len(ids)
	for _, format := range []string{"", "float", "base64"} {
		body := map[string]any{"model": "tiny", "input": []any{texts[0], texts[1], ids}}
		if format != "" {
			body["encoding_format"] = format
		}
		code, _, b := post(t, context.Background(), ts.URL+"/v1/embeddings", body)
		var r embedResponse
		if code != 200 || json.Unmarshal(b, &r) != nil || r.Object != "list" || r.Model != "tiny" || len(r.Data) != 3 {
			t.Fatalf("format %q: got %d %s", format, code, b)
		}
		if r.Usage.PromptTokens != tokens || r.Usage.TotalTokens != tokens {
			t.Errorf("format %q: usage %+v, want %d prompt and total tokens", format, r.Usage, tokens)
		}
		for i, d := range r.Data {
			var got []float32
			if format == "base64" {
				var s string
				if err := json.Unmarshal(d.Embedding, &s); err != nil {
					t.Fatalf("format base64: embedding %d is not a string: %s", i, d.Embedding)
				}
				raw, err := base64.StdEncoding.DecodeString(s)
				if err != nil || len(raw) != 4*len(want[i]) {
					t.Fatalf("format base64: embedding %d: %d bytes, %v", i, len(raw), err)
				}
				for k := 0; k < len(raw); k += 4 {
					got = append(got, math.Float32frombits(binary.LittleEndian.Uint32(raw[k:])))
				}
			} else if err := json.Unmarshal(d.Embedding, &got); err != nil {
				t.Fatalf("format %q: embedding %d: %v", format, i, err)
			}
			if d.Object != "embedding" || d.Index != i || !sameVector(got, want[i]) {
				t.Errorf("format %q: data[%d] = %s index %d %v…, want index %d %v…", format, i, d.Object, d.Index, got[:3], i, want[i][:3])
			}
		}
	}
	code, _, b := post(t, context.Background(), ts.URL+"/v1/embeddings", fmt.Sprintf(`{"input":%q}`, texts[0]))
	var r embedResponse
	if code != 200 || json.Unmarshal(b, &r) != nil || len(r.Data) != 1 {
		t.Fatalf("one string: got %d %s", code, b)
	}
	var got []float32
	if json.Unmarshal(r.Data[0].Embedding, &got); !sameVector(got, want[0]) {
		t.Errorf("one string: got %v…, want %v…", got[:3], want[0][:3])
	}
	if _, m := get(t, ts.URL+"/metrics"); !strings.Contains(string(m), `zerfoo_requests_total{path="/v1/embeddings",code="200"} 4`) {
		t.Errorf("/metrics: want 4 embeddings requests with code 200:\n%s", m)
	}
	_ = s

	_, ts = start(t, Options{Pooling: generate.PoolLast})
	code, _, b = post(t, context.Background(), ts.URL+"/v1/embeddings", map[string]any{"input": ids})
	if code != 200 || json.Unmarshal(b, &r) != nil || len(r.Data) != 1 {
		t.Fatalf("last pooling: got %d %s", code, b)
	}
	if json.Unmarshal(r.Data[0].Embedding, &got); !sameVector(got, wantEmbedding(t, ids, generate.PoolLast)) {
		t.Errorf("last pooling: got %v…, want the last token's state", got[:3])
	}
}

// TestEmbeddingsErrors checks the 400s (naming the field), 404, 405, 413
// and 415 of /v1/embeddings, and that a panic in an input's run is a 500
// after which the server still embeds.
func TestEmbeddingsErrors(t *testing.T) {
	s, ts := start(t, Options{Parallel: 1, CtxSize: 64})
	long := strings.Repeat("word ", 200)
	for _, tc := range []struct {
		body  string
		code  int
		param string
	}{
		{`{}`, 400, "input"},
		{`{"input":null}`, 400, "input"},
		{`{"input":""}`, 400, "input"},
		{`{"input":[]}`, 400, "input"},
		{`{"input":["a",""]}`, 400, "input[1]"},
		{`{"input":["a",[]]}`, 400, "input[1]"},
		{`{"input":["a",5]}`, 400, "input[1]"},
		{`{"input":{"a":1}}`, 400, "input"},
		{`{"input":[1,999999]}`, 400, "input[0]"},
		{`{"input":[[1,2],[-1]]}`, 400, "input[1]"},
		{`{"input":"a","encoding_format":"int8"}`, 400, "encoding_format"},
		{`{"input":"a","dimensions":3}`, 400, "dimensions"},
		{`{"input":"a","pooling":"mean"}`, 400, "pooling"},
		{`{"input":"a","model":"other"}`, 404, "model"},
		{fmt.Sprintf(`{"input":%q}`, long), 413, "input[0]"},
		{fmt.Sprintf(`{"input":["a",%q]}`, long), 413, "input[1]"},
	} {
		rec := do(s, "POST", "/v1/embeddings", tc.body)
		var e struct{ Error *apiError }
		if rec.Code != tc.code || json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Error.Param != tc.param {
			t.Errorf("%.60s: got %d %s, want %d naming %s", tc.body, rec.Code, rec.Body, tc.code, tc.param)
		}
	}
	many := make([]string, maxEmbedInputs+1)
	for i := range many {
		many[i] = "a"
	}
	body, _ := json.Marshal(map[string]any{"input": many})
	if rec := do(s, "POST", "/v1/embeddings", string(body)); rec.Code != 400 {
		t.Errorf("%d inputs: got %d, want 400", len(many), rec.Code)
	}
	if rec := do(s, "GET", "/v1/embeddings", ""); rec.Code != 405 {
		t.Errorf("GET /v1/embeddings: got %d, want 405", rec.Code)
	}
	s.hook = func(ctx context.Context, piece string) error { panic("injected") }
	if code, _, b := post(t, context.Background(), ts.URL+"/v1/embeddings", `{"input":["a","b"]}`); code != 500 || !strings.Contains(string(b), "internal_error") {
		t.Errorf("panicking run: got %d %s, want 500 internal_error", code, b)
	}
	s.hook = nil
	if code, _, b := post(t, context.Background(), ts.URL+"/v1/embeddings", `{"input":["a","b"]}`); code != 200 {
		t.Errorf("after the panic: got %d %s, want 200", code, b)
	}
}
