package serve

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"time"

	"github.com/zerfoo/zerfoo/generate"
	"github.com/zerfoo/zerfoo/internal/workerpool"
)

// maxEmbedInputs bounds the inputs of one /v1/embeddings request (OpenAI's
// limit).
const maxEmbedInputs = 2048

// embedInput is one input of /v1/embeddings: a text or token ids.
type embedInput struct {
	text   string
	tokens []int32 // nil for a text
}

// parseEmbedInputs reads the input field: a string, an array of strings,
// an array of token ids (one input), or an array of token-id arrays
// (strings and token arrays may be mixed, as llama-server allows).
func parseEmbedInputs(raw json.RawMessage) ([]embedInput, *apiError) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, badRequest("input", "input (a string, an array of strings, or token ids) is required")
	}
	var text string
	if json.Unmarshal(raw, &text) == nil {
		if text == "" {
			return nil, badRequest("input", "input must not be an empty string")
		}
		return []embedInput{{text: text}}, nil
	}
	var ids []int32
	if json.Unmarshal(raw, &ids) == nil && len(ids) > 0 {
		return []embedInput{{tokens: ids}}, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, badRequest("input", "input must be a string, an array of strings, or token ids")
	}
	if len(items) == 0 {
		return nil, badRequest("input", "input must not be an empty array")
	}
	if len(items) > maxEmbedInputs {
		return nil, badRequest("input", "input has %d items; at most %d are allowed", len(items), maxEmbedInputs)
	}
	out := make([]embedInput, len(items))
	for i, it := range items {
		param := fmt.Sprintf("input[%d]", i)
		if json.Unmarshal(it, &out[i].text) == nil {
			if out[i].text == "" {
				return nil, badRequest(param, "%s must not be an empty string", param)
			}
			continue
		}
		if json.Unmarshal(it, &out[i].tokens) != nil {
			return nil, badRequest(param, "%s must be a string or an array of token ids (integers)", param)
		}
		if len(out[i].tokens) == 0 {
			return nil, badRequest(param, "%s must not be an empty array", param)
		}
	}
	return out, nil
}

// embeddingData is one vector of the answer: floats, or with
// encoding_format base64 the little-endian float32 bytes in base64.
type embeddingData struct {
	Object    string `json:"object"`
	Index     int    `json:"index"`
	Embedding any    `json:"embedding"`
}

// embeddings answers POST /v1/embeddings: each input's final hidden
// states, pooled (Options.Pooling) and normalized to unit length, as
// llama-server --embeddings does. Texts are tokenized with <bos> and
// control-token text parsed (llama-server's rule); token ids are taken as
// given. The request holds a slot while it tokenizes and runs its inputs,
// one after the other, in the continuous batch.
func (s *Server) embeddings(w *recorder, r *http.Request) {
	m, body, ok := s.accept(w, r)
	if !ok {
		return
	}
	var b struct {
		Input          json.RawMessage `json:"input"`
		Model          string          `json:"model"`
		EncodingFormat *string         `json:"encoding_format"`
		Dimensions     *int            `json:"dimensions"`
		User           string          `json:"user"`
	}
	if e := decode(body, &b); e != nil {
		writeError(w, e)
		return
	}
	if e := knownFields(body, "", []string{"input", "model", "encoding_format", "dimensions", "user"}); e != nil {
		writeError(w, e)
		return
	}
	inputs, e := parseEmbedInputs(b.Input)
	if e != nil {
		writeError(w, e)
		return
	}
	b64 := false
	if f := b.EncodingFormat; f != nil {
		switch *f {
		case "float":
		case "base64":
			b64 = true
		default:
			writeError(w, badRequest("encoding_format", "encoding_format must be \"float\" or \"base64\", got %q", *f))
			return
		}
	}
	H := m.Model.Config.Hidden
	if b.Dimensions != nil && *b.Dimensions != H {
		writeError(w, badRequest("dimensions", "dimensions %d is not supported: this model's embeddings have %d (omit the field)", *b.Dimensions, H))
		return
	}
	if b.Model != "" && b.Model != s.opt.ModelName {
		writeError(w, errModelNotFound(b.Model))
		return
	}
	vocab := m.Model.Config.Vocab
	ctxSize := s.ctxSize(m)
	cover := s.maxCover(m)
	for i, in := range inputs {
		for k, t := range in.tokens {
			if t < 0 || int(t) >= vocab {
				writeError(w, badRequest(fmt.Sprintf("input[%d]", i), "input %d: token %d at index %d is outside the vocabulary of %d", i, t, k, vocab))
				return
			}
		}
		n := len(in.tokens)
		if in.tokens == nil {
			n = (len(in.text)+cover-1)/cover + 1 // and <bos>
		}
		if n > ctxSize {
			writeError(w, errEmbedContext(i, fmt.Sprintf("at least %d", n), ctxSize))
			return
		}
	}

	a, ok := s.admit(w, r)
	if !ok {
		return
	}
	defer a.done()
	ctx, slot := a.ctx, a.slot
	w.add(slog.Int("slot", slot), slog.Duration("queued", a.queued), slog.Int("inputs", len(inputs)))

	data := make([]embeddingData, len(inputs))
	total := 0
	start := time.Now()
	for i, in := range inputs {
		ids := in.tokens
		if ids == nil {
			ids = m.Tokenizer.Encode(in.text, true, true)
		}
		if len(ids) > ctxSize {
			writeError(w, errEmbedContext(i, fmt.Sprint(len(ids)), ctxSize))
			return
		}
		s.slots.prompt(slot, len(ids))
		var v []float32
		var err error
		if s.hook != nil {
			err = s.hook(ctx, "")
		}
		if err == nil {
			if bt := s.batcher.Load(); bt != nil {
				v, err = bt.Embed(ctx, ids, s.opt.Pooling)
			} else {
				v, err = m.Embed(ctx, ids, s.opt.Pooling)
			}
		}
		if err != nil {
			s.embedFailed(w, r, err)
			return
		}
		total += len(ids)
		generate.Normalize(v)
		data[i] = embeddingData{Object: "embedding", Index: i, Embedding: floats(v)}
		if b64 {
			data[i].Embedding = base64.StdEncoding.EncodeToString(le32(v))
		}
	}
	s.met.generation(total, 0, time.Since(start), 0)
	w.add(slog.Int("prompt_tokens", total), slog.Duration("prefill", time.Since(start)))
	writeJSON(w, map[string]any{
		"object": "list",
		"data":   data,
		"model":  s.opt.ModelName,
		"usage":  map[string]int{"prompt_tokens": total, "total_tokens": total},
	})
}

// embedFailed answers an embedding whose run returned err.
func (s *Server) embedFailed(w *recorder, r *http.Request, err error) {
	switch {
	case r.Context().Err() != nil:
		w.add(slog.String("error", "client disconnected"))
		w.status = 499
	case s.base.Err() != nil:
		writeError(w, errShuttingDown())
	default:
		var pe *workerpool.PanicError
		if errors.As(err, &pe) {
			s.log.Error("embedding panicked", "id", w.id, "err", err, "stack", string(pe.Stack))
		} else {
			s.log.Error("embedding failed", "id", w.id, "err", err)
		}
		writeError(w, errInternal(err))
	}
}

// errEmbedContext is the 413 for input i of n tokens ("123" or "at least
// 123") that does not fit a slot's ctx positions.
func errEmbedContext(i int, n string, ctx int) *apiError {
	return &apiError{Status: http.StatusRequestEntityTooLarge, Type: "invalid_request_error", Param: fmt.Sprintf("input[%d]", i),
		Code: "context_length_exceeded", Message: fmt.Sprintf("Input %d has %s tokens; this server's context holds %d.", i, n, ctx)}
}

// floats is v for JSON (float32s, written in their shortest form), a NaN
// or infinity, which JSON cannot carry, as 0.
func floats(v []float32) []float32 {
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			v[i] = 0
		}
	}
	return v
}

// le32 returns v's little-endian float32 bytes (OpenAI's base64
// encoding).
func le32(v []float32) []byte {
	out := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(x))
	}
	return out
}
