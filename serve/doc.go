// Package serve is an HTTP server speaking the OpenAI API for one Gemma 3
// model, mountable on any http.ServeMux:
//
//	s := serve.New(serve.Options{ModelName: "gemma-3-270m-it", Parallel: 2, MaxQueue: 8})
//	mux.Handle("/", s) // 503 while loading
//	m, err := generate.Load(ctx, "gemma-3-270m-it-Q4_0.gguf")
//	s.SetModel(m)
//	...
//	s.Shutdown(ctx) // drain, then cancel what is left when ctx ends
//
// docs/SERVE.md is the reference of every endpoint and field.
//
// # Endpoints
//
//   - POST /v1/chat/completions: messages through the Gemma chat template
//     (system/developer, user, assistant; text content only). The
//     template's markers are control tokens; message contents are always
//     text, so "<end_of_turn>" in a message cannot forge a turn. A model
//     file whose tokenizer.chat_template is not Gemma's gets 501 here
//     (generate.Model.TemplateError).
//   - POST /v1/completions: a prompt string (BOS added; control-token text
//     such as "<start_of_turn>" parsed into control tokens unless
//     parse_special is false or Options.NoParseSpecial) or token ids.
//   - GET /v1/models, GET /v1/models/{id}: the one model.
//   - POST /tokenize, POST /detokenize: llama-server's shapes.
//   - GET /props: default generation settings, slots, model path, chat
//     template; GET /slots: each slot's state.
//   - POST /v1/embeddings: each input's final-normed hidden states, pooled
//     (Options.Pooling: mean, last or cls) and normalized to unit length,
//     as llama-server --embeddings; float or base64.
//   - GET /health: 200 when ready, 503 while loading or shutting down.
//   - GET /metrics: Prometheus text format.
//
// Both completion endpoints take max_tokens (or max_completion_tokens,
// capped by Options.MaxTokens), temperature (default 1), top_p, seed, stop
// (up to 4 sequences, never sent back), presence_penalty and
// frequency_penalty (OpenAI's, over the generated tokens), logit_bias,
// stream and stream_options.include_usage, n (1 only), plus llama.cpp's
// top_k, min_p and repeat_penalty; chat takes logprobs and top_logprobs,
// completions logprobs (the legacy format) and parse_special.
// response_format json_object and json_schema constrain sampling to the
// schema's grammar (generate.Options.Grammar), so a completed answer
// always parses. user, store, metadata, service_tier and cache_prompt are
// accepted and ignored (the prompt cache is always on). Chat takes tools, tool_choice and
// parallel_tool_calls (tools.go, package toolcall): the tools go into the
// system prompt, the answer is constrained to a call or a response and
// read back into message.tool_calls (finish_reason "tool_calls"); assistant
// tool_calls and tool messages are accepted. Any other field is a 400
// naming it. A whole answer carries usage; a stream carries it only
// on a last chunk without choices when include_usage is set, then ends
// with "data: [DONE]".
//
// # Errors
//
// Errors use the OpenAI shape {"error": {"message", "type", "param",
// "code"}}: 400 for bad JSON, wrong types, bad values and unknown or
// unsupported fields (param names the field); 401 for a missing or wrong
// API key (every path but /health and /metrics); 404 for an unknown path
// or model; 405 for a wrong method; 413 for a body over MaxBodyBytes
// (code request_too_large) or a prompt that leaves no room in the context
// (context_length_exceeded); 415 for a POST body that is not JSON; 429
// when every slot is busy and the queue is full (Retry-After: 1); 500
// when the request's work fails or panics (the server keeps running); 501
// for a chat with a template the server cannot render
// (unsupported_chat_template); 503 while the model loads or the server
// shuts down.
// An error after a stream has started is sent as a final
// data: {"error": ...} event.
//
// # Limits
//
// A request holds no slot while its body is read and parsed; then its
// prompt is checked against a lower bound of its tokens (its bytes over
// the longest piece of the vocabulary), so a prompt too long for the
// context is refused (413) without being tokenized. The prompt is
// tokenized once the request holds its slot, as /tokenize's text is. When
// every slot is busy and the queue full, a request is refused (429) before
// its body is read.
//
// # Concurrency
//
// Options.Parallel slots generate at once, all in one generate.Batcher:
// one engine goroutine runs batched steps over every active request (one
// token per decoding request, prompt chunks for those prefilling), so a
// step reads each weight once however many slots it advances. The slots
// share Options.CtxSize positions evenly (llama-server's --ctx-size), in
// KV caches of Options.CacheType; each cache keeps its tokens, and a
// request takes the free cache sharing the longest prefix with its prompt
// and prefills only the rest (prompt cache; usage reports the cached
// tokens). Responses are written on the request's goroutine, never the
// engine's, so a slow client delays only itself. Requests beyond the
// slots wait in a first-come queue of Options.MaxQueue; more get 429. A
// request's context is the client's connection: when the client goes
// away, its sequence leaves the batch at the next step and its slot (or
// queue place) is freed.
//
// # Browsers
//
// CORS is off by default. Options.CORSOrigins lists the origins allowed
// (or "*"): their requests get Access-Control-Allow-Origin, and their
// preflight OPTIONS requests a 204 without needing the API key.
//
// # Observability
//
// Every request gets an id (the client's X-Request-Id when it is plain,
// else a random one), echoed in X-Request-Id and in the completion id, and
// one log/slog line with status, duration, token counts, slot, queueing
// time and time to first token. /metrics exposes requests by path and
// status (499 for a client that left), queue depth, busy slots, prompt and
// generated token counters, tokens/s over the last 10 s, and histograms of
// time to first token and request duration.
package serve
