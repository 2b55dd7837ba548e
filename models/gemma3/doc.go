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
// post-FFN norm and residual. Layer i is global iff (i+1) % 6 == 0
// (gemma3.attention.sliding_window_pattern changes the 6; 0 makes every
// layer local, as in llama.cpp). A final norm and the LM head (tied to the
// embedding when the file has no output.weight) give the logits, which
// gemma3.final_logit_softcapping, when a file sets it, caps as
// c·tanh(x/c). The 62-layer 27B scales queries by (Hidden/Heads)^−½, as
// llama.cpp decides from the layer count.
//
// Where llama.cpp's CPU backend rounds, this package rounds the same way
// so that logits agree closely: GELU goes through ggml's fp16 table, RMSNorm
// sums squares in float64, RoPE angles use ggml's float32 recurrence,
// quantized weights see activations rounded to their vec_dot type (Blocks
// exactly, Packed with a float32 instead of an fp16 block scale), and the
// default F16 KV cache rounds the queries and the attention weights to
// fp16 too, as llama.cpp multiplies its default F16 cache (flash attention
// off).
//
// # Weights
//
// Every matrix is a Matrix: Dense (float32, multiplied with internal/gemm),
// Blocks (any GGUF block type, the llama.cpp-exact reference), Half
// (F16/BF16 multiplied at 16 bits), Packed (Q4_0, Q8_0, Q4_1, Q5_0, Q5_1,
// IQ4_NL, Q2_K … Q6_K and IQ4_XS repacked into the tiles of
// internal/qgemm's int8 kernels; Load stacks Q|K|V and Gate|Up into one
// Packed each; TQ1_0 and TQ2_0 as 2-bit codes, 2.06 bits per weight;
// IQ3_S, IQ3_XXS, IQ2_XXS, IQ2_XS, IQ2_S, IQ1_S and IQ1_M as the file's
// grid indices where the CPU has AVX-512 VBMI, 1.7–3.6 bits per weight
// (on the other AVX2 CPUs those with an index per 8 elements: IQ2_*,
// IQ1_*), and elsewhere (or with PreferSpeed) as indices into a table of their
// levels (quant.Codes): 3-bit ones in Q3_K's planes on AVX-512 CPUs for
// the types of at most 8 levels (IQ2_*, IQ1_*), 3.3–3.6 bits per weight,
// else 4-bit ones in IQ4_XS's tiles, 4.3–4.6; Q1_0, Q2_0
// and MXFP4 matrices are first rewritten as Q4_0 or Q8_0 blocks that
// decode to the same floats, quant.Reencode) or NBits (ONNX MatMulNBits
// weights, from FromONNX). Packings larger than the file's blocks are
// made only where they fit the memory budget. NVFP4 stays Blocks: slow.
// So does a matrix with a block that has no exact counterpart (a scale
// that is not finite) or whose packing does not fit.
//
// Load releases the file pages of every converted tensor (madvise) as it
// goes, so that peak memory stays near the converted size. F16, BF16 and
// F32 matrices are copied as stored the same way, so that the OS cannot
// drop their pages under page-cache pressure (LoadOptions.Mapped reads
// them in place instead).
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
// and, unless StateOptions.CacheOnly, the scratch buffers of its own
// Forward. Global layers cache every position; local layers keep a ring of
// Window + Batch − 1 positions. The cache holds F16 values by default
// (StateOptions.CacheType: F32, or Q8_0 blocks of 32 codes and an fp16
// scale), read in that type by the attention kernels. Prompts run in
// batches through the GEMM kernels; each generated token is one GEMV step
// that allocates nothing beyond what the worker pool needs for a parallel
// loop.
//
// # Batches: serving many sequences
//
// A Batch runs one forward step over tokens of many States at once: all
// rows are stacked into one matrix for every weight product, so a decode
// step of N sequences reads each weight once, and each row attends only to
// its own State's cache at its own position. Results equal each State's own
// Forward (bit for bit with quantized weights; float weights may sum in
// another order). A server drives it like this:
//
//   - One State per slot, NewState(StateOptions{MaxLen: per-slot context,
//     Batch: prefill chunk, CacheType: …, CacheOnly: true}): the slots
//     hold only their caches (State.Bytes), and one Batch,
//     NewBatch(BatchOptions{MaxRows: tokens per step, MaxSeqs: slots,
//     MaxLen: per-slot context}), holds the scratch (Batch.Bytes).
//   - Each step, one Batch.Forward: every decoding slot contributes its
//     last sampled token (Tokens of length 1, Logits set); the remaining
//     rows, up to MaxRows, go to slots still prefilling, each a chunk of at
//     most State.Batch() prompt tokens, with Logits only on the chunk that
//     ends the prompt. A long prompt thus spreads over several steps
//     without stalling the streams of the others (chunked prefill). Each
//     Seq.Logits then holds its sequence's next-token logits: sample,
//     append the token, repeat.
//   - Forward checks every sequence before running anything and names the
//     first bad one (a full context wraps ErrContext, a chunk too big
//     ErrBatch): nothing has changed then, so the scheduler can finish or
//     drop that sequence and run the step again without it. A failed step
//     (a cancelled ctx) moves no position.
//   - A State may also run on its own (State.Forward) between batched
//     steps; it allocates its own scratch on first use.
//
// Prompt cache: a slot keeps the token ids it has run. For a new request,
// let L be the length of the longest common prefix of those ids and the new
// prompt, at most len(prompt) − 1 so that at least one token runs and gives
// logits. State.Rewind(L) keeps that prefix and the request prefills only
// the rest. Global layers keep every position, but a local layer's ring
// holds the last Window + Batch − 1 positions written, so Rewind(L)
// succeeds exactly when the slot has written at most Window + Batch − 1
// positions since its last Reset, or L ≥ hw − Batch, where hw is one past
// the highest position written (Pos(), unless an earlier Rewind or a failed
// step went back): a slot can always drop its last Batch tokens, which is
// what the next turn of a chat needs (the previous prompt and reply are
// the prefix). When Rewind fails, Reset and prefill the whole prompt. A
// larger StateOptions.Batch reaches further back at a small cost (Batch − 1
// more ring positions per local layer).
package gemma3
