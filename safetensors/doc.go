// Package safetensors reads and writes safetensors files, the weight format
// of Hugging Face checkpoints, and opens sharded checkpoints as one set of
// tensors.
//
// A file is an 8-byte little-endian header length N, N bytes of JSON, and
// a data section. The JSON object maps each tensor name to its dtype
// ("F32", "BF16", …), shape and data_offsets [begin, end) relative to the
// data section; the optional "__metadata__" entry maps strings to
// strings. Writers pad the JSON with spaces to a multiple of 8 bytes.
//
// Open memory-maps the file (read into memory where mmap is unavailable)
// and parses only the header; Tensor.Data is a slice of the mapping — no
// tensor bytes are copied or decoded — valid until Close. Read parses a
// file already in memory.
//
// The reader trusts nothing. The header length must fit the file and
// stay under MaxHeader (100 MB, the limit of the reference
// implementation) and the memory budget (Options.Budget, default
// budget.Default()); the header must be valid UTF-8 JSON, a dtype must be
// one this package knows, shapes and offsets non-negative integers, each
// tensor's bytes must lie inside the data section and match dtype × shape
// exactly, and together the tensors must cover the data section without
// overlap or gap (the format forbids holes, so that a file cannot also be
// another kind of file); names must be unique. Every
// error is one line that names the file and, where there is one, the
// tensor; format errors wrap ErrFormat.
//
// OpenDir opens a Hugging Face checkpoint folder: model.safetensors, or
// the shards that model.safetensors.index.json's weight_map names (a
// missing shard, or a tensor the index names but its shard lacks, is an
// error naming both), as one Checkpoint.
//
// Builder writes files as the reference implementation does: tensors
// ordered by decreasing element size, then name, so that each tensor's
// offset is a multiple of its element size.
package safetensors
