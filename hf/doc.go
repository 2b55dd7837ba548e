// Package hf reads Hugging Face model folders — config.json,
// generation_config.json, tokenizer.json, tokenizer_config.json and
// safetensors weights (model.safetensors, or shards named by
// model.safetensors.index.json) — of Gemma 3, and turns them into what
// llama.cpp's convert_hf_to_gguf.py makes of them: a GGUF file on disk
// (Convert, behind `zerfoo convert`), or a GGUF view of the folder in
// memory that the GGUF loaders run directly (Folder.View, behind
// generate.Load of a folder). It also reads onnxruntime-genai export
// folders' genai_config.json and tokenizer (OpenGenAI; the decoder is
// models/gemma3.FromONNX's).
//
// # What is read
//
// config.json must name Gemma3ForCausalLM, or Gemma3ForConditionalGeneration
// (Gemma 3 4B and larger), whose text_config is read and whose vision tower
// and multimodal projector tensors are left out with a notice; keys it
// omits take transformers' Gemma3TextConfig defaults. Both the
// transformers 4 keys (rope_theta, rope_local_base_freq, rope_scaling,
// sliding_window_pattern) and the transformers 5 ones (rope_parameters
// with full_attention and sliding_attention, layer_types) are understood.
// The tokenizer is tokenizer.ParseHF's, cut or padded to vocab_size as the
// converter sizes it. generation_config.json gives the stop ids
// (Folder.EOS) and the sampling defaults, written as general.sampling.*.
//
// # The mapping
//
// Tensor names follow gguf-py's tensor map for MODEL_ARCH.GEMMA3
// (model.layers.N.self_attn.q_proj.weight → blk.N.attn_q.weight, …; a
// "language_model." part is dropped), dimensions are the PyTorch shape
// reversed (ggml order), and every RMSNorm weight w is stored as float32
// 1 + w, because Gemma's RMSNorm multiplies by (1 + w) and llama.cpp's by
// the weight: input_layernorm, post_attention_layernorm,
// pre_feedforward_layernorm, post_feedforward_layernorm, q_norm, k_norm
// and the final norm. The embedding is also the output matrix
// (tie_word_embeddings; an lm_head.weight becomes output.weight). The
// metadata is the converter's gemma3.* keys in its order; query scaling is
// not among them — llama.cpp derives it from the shapes (1/√head_dim, or
// 1/√(hidden/heads) for the 62-layer 27B), and a query_pre_attn_scalar
// that disagrees gets a notice.
//
// # Checks
//
// Open checks every tensor against config.json — a name outside the text
// decoder, a missing tensor, a wrong shape or an unsupported dtype (F32,
// F16, BF16 and F64 are read) is an error naming the file and the tensor —
// and every file is untrusted input: sizes are checked against a memory
// budget (Options.Budget) before they are read, and safetensors' own
// checks apply to the weights (a missing shard, a truncated header).
// Errors are one line; they wrap ErrConfig, ErrArchitecture, fs.ErrNotExist
// or safetensors.ErrFormat.
//
// # Memory
//
// The weights stay in the safetensors mappings: a View's matrices are
// slices of them (which models/gemma3 copies as they are, or with
// LoadOptions.Mapped reads in place, for the F16/BF16 kernels and, F32
// ones, the float32 GEMM), and only the norm weights are new. Convert writes float outputs one tensor at a
// time; quantized ones are built by package quantize in memory.
package hf
