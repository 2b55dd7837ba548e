// Package gemma3 runs the Gemma 3 text decoder (270m, 1b, 4b, 12b and 27b
// checkpoints) from GGUF files or in-memory weights.
//
// # Forward pass
//
// The decoder follows llama.cpp's gemma3 graph (see
// shared/specs/gemma3-architecture.md): token embeddings scaled by the exact
// float32 √Hidden; per layer RMSNorm (weights as stored: GGUF holds 1 + w),
// Q/K/V projections, per-head RMSNorm of q and k, NeoX RoPE (base 10000 on
// local layers, gemma3.rope.freq_base with linear scaling on global ones),
// grouped-query attention scaled by query_pre_attn_scalar^−½, a causal mask
// that local layers narrow to the last Window positions, post-attention
// norm and residual, then the pre-FFN norm, the GELU-tanh gated MLP, the
// post-FFN norm and residual. Layer i is global iff (i+1) % 6 == 0. A final
// norm and the LM head (tied to the embedding when the file has no
// output.weight) give the logits.
//
// Where llama.cpp's CPU backend rounds, this package rounds the same way
// so that logits agree closely: GELU goes through ggml's fp16 table, RMSNorm
// sums squares in float64, RoPE angles use ggml's float32 recurrence, and
// quantized weights see activations rounded to their vec_dot type (Blocks
// exactly, Packed with a float32 instead of an fp16 block scale).
//
// # Weights
//
// Every matrix is a Matrix: Dense (float32, multiplied with internal/gemm),
// Blocks (any GGUF block type, the llama.cpp-exact reference), Packed
// (Q4_0 / Q8_0 repacked for the int8 kernels of internal/qgemm; Load stacks
// Q|K|V and Gate|Up into one Packed each) or NBits (ONNX MatMulNBits
// weights, from FromONNX).
//
// Load releases the file pages of every converted tensor (madvise) as it
// goes, so that peak memory stays near the converted size.
//
// # Hostile files
//
// Nothing read from a file is trusted. FromMetadata bounds every integer
// by what the architecture can mean (MaxContext, MaxLayers, MaxHidden,
// MaxFFN, MaxHeads, MaxHeadDim, MaxVocab; a sliding window longer than the
// context is clamped to it) and every float to finite positive values, so
// that no size computed from a Config overflows; the tensors must then
// match the Config exactly. What loading allocates (the GGUF header, the
// converted weights) and what NewState allocates (the KV cache, scratch)
// is checked against a memory budget (LoadOptions.Budget,
// StateOptions.Budget) before it is allocated. A bad file gets a one-line
// error wrapping ErrConfig, gguf.ErrFormat or budget.ErrExceeded that
// names the key or tensor.
//
// # ONNX
//
// FromONNX builds the same decoder from an onnxruntime-genai Gemma 3 export
// (2025 layout: separate q/k/v MatMulNBits, RotaryEmbedding nodes,
// GroupQueryAttention without rotary), keeping the export's embedding
// scale, RoPE tables and window.
//
// # State
//
// A Model is read-only; each sequence runs in a State that owns its KV cache
// and scratch buffers. Global layers cache every position; local layers keep
// a ring of Window + Batch − 1 positions. Prompts run in batches through the
// GEMM kernels; each generated token is one GEMV step that allocates nothing
// beyond what the worker pool needs for a parallel loop.
package gemma3
