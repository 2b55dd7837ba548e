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
// # Endpoints
//
//   - POST /v1/chat/completions: messages through the Gemma chat template
//     (system/developer, user, assistant; text content only).
//   - POST /v1/completions: a prompt string (BOS added) or token ids.
//   - GET /v1/models, GET /v1/models/{id}: the one model.
//   - GET /health: 200 when ready, 503 while loading or shutting down.
//   - GET /metrics: Prometheus text format.
//
// Both completion endpoints take max_tokens (or max_completion_tokens),
// temperature (default 1), top_p, seed, stop (up to 4 sequences, never
// sent back), stream and stream_options.include_usage, plus llama.cpp's
// top_k, min_p and repeat_penalty. Every answer carries usage; a stream
// carries it on the chunk with finish_reason (and on a separate chunk with
// no choices when include_usage is set), then ends with "data: [DONE]".
//
// # Errors
//
// Errors use the OpenAI shape {"error": {"message", "type", "param",
// "code"}}: 400 for bad JSON, wrong types and bad values; 401 for a
// missing or wrong API key; 404 for an unknown path or model; 405 for a
// wrong method; 413 for a body over MaxBodyBytes (code request_too_large)
// or a prompt that leaves no room in the context (context_length_exceeded);
// 429 when every slot is busy and the queue is full (Retry-After: 1); 503
// while the model loads or the server shuts down. An error after a stream
// has started is sent as a final data: {"error": ...} event.
//
// # Concurrency
//
// Options.Parallel slots generate at once. Each request runs in its own
// gemma3.State (its KV cache, sized to prompt plus max_tokens) and shares
// the read-only weights; the slots' kernels share the process-wide worker
// pool. Decode steps of different slots are not batched into one matrix
// product: the model runs one sequence per Forward call, so slots run side
// by side, each a GEMV per token. Requests beyond the slots wait in a
// first-come queue of Options.MaxQueue; more get 429. A request's context
// is the client's connection: when the client goes away, its generation
// stops at the next kernel call and its slot (or queue place) is freed.
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
