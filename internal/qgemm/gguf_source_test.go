package qgemm

import (
	"encoding/binary"
	"fmt"

	"github.com/zerfoo/zerfoo/numeric"
)

// Q40 and Q80 (test-only: Gemma 3 packs GGUF Q4_0 and Q8_0 tensors into
// GGML tiles) run GGUF data through a Matrix, for the Matrix kernels' tests
// and the benchmarks that compare the two layouts.

// Q40 adapts a GGUF Q4_0 tensor to Source: N rows of K elements (K a
// multiple of 32), each row ⌈K/32⌉ blocks of 18 bytes {d fp16, qs[16]}
// where element j is the low nibble of qs[j] and element j+16 the high
// nibble, and y = (q − 8)·d (gguf.md §3). Pack turns it into the same
// Matrix as MatMulNBits weights (fp16 scales widen exactly to float32).
type Q40 struct {
	N, K int
	Data []byte
}

// Dims implements Source.
func (s Q40) Dims() (n, k, bits, blockSize int) { return s.N, s.K, 4, 32 }

// HasZeroPoints implements Source: Q4_0's zero point is always 8.
func (s Q40) HasZeroPoints() bool { return false }

// Block implements Source.
func (s Q40) Block(n, b int, codes []uint8) (float32, uint8) {
	blk := s.Data[(n*(s.K/32)+b)*18:][:18]
	qs := blk[2:]
	for j := range codes {
		if j < 16 {
			codes[j] = qs[j] & 0xF
		} else {
			codes[j] = qs[j-16] >> 4
		}
	}
	return numeric.Float16FromBits(binary.LittleEndian.Uint16(blk)).Float32(), 8
}

// Q80 adapts a GGUF Q8_0 tensor to Source: blocks of 34 bytes {d fp16,
// qs[32] int8}, y = qs·d, stored as unsigned codes qs+128 with zero point
// 128.
type Q80 struct {
	N, K int
	Data []byte
}

// Dims implements Source.
func (s Q80) Dims() (n, k, bits, blockSize int) { return s.N, s.K, 8, 32 }

// HasZeroPoints implements Source: the zero point is always 128.
func (s Q80) HasZeroPoints() bool { return false }

// Block implements Source.
func (s Q80) Block(n, b int, codes []uint8) (float32, uint8) {
	blk := s.Data[(n*(s.K/32)+b)*34:][:34]
	for j := range codes {
		codes[j] = blk[2+j] ^ 0x80 // int8 + 128
	}
	return numeric.Float16FromBits(binary.LittleEndian.Uint16(blk)).Float32(), 128
}

// PackGGUF checks the size of a Q4_0 or Q8_0 tensor's data and packs it.
func PackGGUF(src Source) (*Matrix, error) {
	var data, per int
	switch s := src.(type) {
	case Q40:
		data, per = len(s.Data), 18
	case Q80:
		data, per = len(s.Data), 34
	default:
		return nil, fmt.Errorf("qgemm: PackGGUF: unsupported source %T: %w", src, ErrArgs)
	}
	n, k, _, _ := src.Dims()
	if n <= 0 || k <= 0 || k%32 != 0 || data != n*k/32*per {
		return nil, fmt.Errorf("qgemm: PackGGUF: N=%d K=%d with %d bytes (want K a multiple of 32 and %d bytes per 32 elements): %w",
			n, k, data, per, ErrArgs)
	}
	return Pack(src)
}
