// Package hgemm computes Y = X·Wᵀ with a weight matrix W kept in its 16-bit
// file encoding, IEEE float16 (GGUF F16) or bfloat16 (GGUF BF16), read in
// place from the caller's bytes (typically a read-only memory mapping):
// nothing widens or copies W as a whole.
package hgemm
