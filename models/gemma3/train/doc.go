// Package train trains the Gemma 3 text decoder of models/gemma3 from
// scratch or from a checkpoint, and writes what it trains as GGUF files that
// models/gemma3 and llama.cpp run.
//
// The forward and backward passes are written by hand on float32 slices
// (ops.go, pass.go) rather than built from graph nodes: one training step of
// a small model is a few dozen GEMMs (internal/gemm) and per-row loops, and
// per-node overhead would dominate. Every layer kernel — linear, RMSNorm
// with Gemma's 1 + w, RoPE, causal grouped-query attention with a sliding
// window, GELU-tanh gating, cross-entropy — and the whole model are checked
// against finite differences with graph/gradcheck. The parameters are
// graph.Parameters, so training's AdamW, cosine schedule and gradient
// clipping update them.
//
// The model matches models/gemma3's inference numerics: embedding rows
// scaled by √Hidden, the same RMSNorm order of operations and RoPE tables,
// queries scaled after RoPE, tied output; only GELU differs (exact here,
// ggml's fp16 table there), by at most about 1e-3 in a logit.
//
// Norm weights are trained as Gemma's w (initialised to 0) and written to
// GGUF as 1 + w, which is what Gemma's GGUF files hold.
//
// A training step is Loss (forward and backward, gradients accumulated into
// the parameters) then an optimizer Step; Run does this for a token stream
// with AdamW, a cosine schedule and clipping, and calls back for progress
// and checkpoints. Save writes an F32 checkpoint, Load reads one back;
// Builder exports with quantized matrices. The AdamW state goes to a
// separate GGUF file beside the checkpoint (SaveOptim, LoadOptim,
// OptimSuffix), so the checkpoint stays a model llama.cpp loads and a
// resumed run continues as if it had not stopped.
package train
