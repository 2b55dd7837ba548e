// Package gguf reads and writes GGUF files (versions 2 and 3), the model
// format of llama.cpp and Ollama.
//
// A file is a header (magic "GGUF", version, counts), typed metadata
// key/value pairs (KV, Value, Array; arrays may nest), tensor infos
// (TensorInfo: name, ggml-order dims, quant.Type, offset) and a data section
// that starts at the next multiple of general.alignment (default 32) after
// the infos. Tensor offsets are relative to the data section.
//
// Open memory-maps the file (read into memory where mmap is unavailable)
// and parses only the header, so opening a multi-gigabyte model takes
// milliseconds; TensorData returns slices of the mapping, valid until
// Close. Read parses a file already in memory. A model that llama.cpp's
// gguf-split cut into PREFIX-0000i-of-0000N.gguf files opens from its
// first file: Open maps the rest and presents one File (TensorInfo.Split
// says which file holds a tensor), checking each file's split.no, that no
// tensor repeats and the total against split.tensors.count.
//
// The reader trusts nothing: every count and length is checked against the
// bytes that remain before anything is allocated, tensors must be aligned,
// inside the file and non-overlapping, and keys and tensor names unique.
// Errors are *FormatError values (wrapping ErrFormat) that say what is
// wrong and at which file offset. What parsing allocates is also checked,
// as a running total, against a memory budget (Options.Budget, default
// budget.Default()); going over it is an error wrapping
// budget.ErrExceeded. Open takes only regular files: a named pipe,
// socket, device or directory is refused at once, without blocking.
//
// Builder writes files the way ggml does (tensors back to back in
// declaration order, each padded to the alignment), which llama.cpp loads.
// AddTensorFunc adds a tensor whose bytes are produced only while the
// file is written, one at a time. Builder.View returns a File of what a
// Builder holds without writing it: tensor data stays where it was given
// (another file's mapping, say), so that a model in another format can be
// handed to code that reads GGUF files.
//
// Dims follow ggml: Dims[0] (ne[0]) is the contiguous axis, so a PyTorch
// weight [out, in] appears as [in, out] and each of its rows is one
// contiguous run of quantized blocks.
package gguf
