package qgemm

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/zerfoo/zerfoo/internal/mmap"
	"github.com/zerfoo/zerfoo/internal/tune"
	"github.com/zerfoo/zerfoo/internal/workerpool"
	"github.com/zerfoo/zerfoo/numeric"
)

// GroupCols is the number of output columns (rows of W) interleaved in one
// group of a Matrix.
const GroupCols = 16

// ErrArgs is wrapped by the errors of this package for bad arguments.
var ErrArgs = errors.New("qgemm: bad arguments")

// Source is a block-quantized N×K weight matrix that Pack can read, one
// (row, block) at a time. It separates the decoding of a storage format
// from the kernels.
type Source interface {
	// Dims returns N, K, the bits per code (2, 4 or 8) and the block size.
	Dims() (n, k, bits, blockSize int)
	// Block writes the unsigned codes of block b of row n (min(blockSize,
	// K−b·blockSize) of them) into codes and returns the block's scale and
	// zero point (in code units).
	Block(n, b int, codes []uint8) (scale float32, zeroPoint uint8)
	// HasZeroPoints reports whether any zero point may differ from the
	// default 2^(bits−1).
	HasZeroPoints() bool
}

// Matrix is a quantized weight matrix repacked for the kernels (see the
// package documentation for the layout). It is read-only after Pack.
type Matrix struct {
	N, K, Bits, BlockSize int
	KBlocks, Groups       int
	// Codes holds [Groups][KBlocks][BlockBytes()] interleaved codes.
	Codes []uint8
	// Scales holds [Groups][KBlocks][16] float32 scales (0 for padding
	// columns), or is nil when every scale is exactly a float16 value: then
	// Scales16 holds them as float16 bits (GGUF, float16 ONNX models),
	// halving their size.
	//
	// Packed with CompactScales, general float32 scales are rounded to 24
	// bits (sign, exponent and the top 15 mantissa bits, to nearest even: a
	// relative change ≤ 2⁻¹⁶): Scales16 holds their high 16 bits and
	// ScalesLo bits 8–15, [Groups][KBlocks][16] each.
	Scales   []float32
	Scales16 []uint16
	ScalesLo []uint8
	// ZeroPoints is nil (every zero point is 2^(Bits−1)) or
	// [Groups][KBlocks][16] zero points.
	ZeroPoints []uint8
	// table maps the low 4 bits of an index to float32(code − default zp),
	// or float32(code) when ZeroPoints is present (bits 2 and 4; the
	// assembly looks codes up with VPERMPS).
	table [16]float32
	// pf chooses the one-row kernels with or without software prefetch,
	// for one thread and for several (tune.Prefetch).
	pf [2]tune.Prefetch
}

// BlockBytes returns the bytes of codes of one block of one group.
func (m *Matrix) BlockBytes() int { return m.BlockSize * GroupCols * m.Bits / 8 }

// steps returns the 64-byte code vectors per block.
func (m *Matrix) steps() int { return m.BlockBytes() / 64 }

// DefaultZeroPoint returns 2^(Bits−1).
func (m *Matrix) DefaultZeroPoint() uint8 { return 1 << (m.Bits - 1) }

// groupBytes returns the bytes of codes, scales and zero points of one
// group over all of K (every group takes the same).
func (m *Matrix) groupBytes() int { return m.Footprint() / m.Groups }

// Footprint returns the resident bytes of the repacked matrix: codes,
// scales and zero points.
func (m *Matrix) Footprint() int {
	return len(m.Codes) + 4*len(m.Scales) + 2*len(m.Scales16) + len(m.ScalesLo) + len(m.ZeroPoints)
}

// PackOption changes how Pack stores a matrix.
type PackOption func(*packConfig)

type packConfig struct{ compact bool }

// CompactScales stores float32 scales that are not float16 values in 24
// bits (rounded to nearest even, a relative change ≤ 2⁻¹⁶ ≈ 1.5e-5), 3
// bytes instead of 4: at block size 32 a 4-bit matrix takes 0.59375 bytes
// per weight instead of 0.625. It suits the int8-activation path (ONNX
// Runtime's accuracy level 4), whose own activation rounding is ~2⁻⁸ of
// each block's largest value; the float32 path is exact without it.
func CompactScales() PackOption { return func(c *packConfig) { c.compact = true } }

// Pack repacks src into a Matrix. It returns an error wrapping ErrArgs if
// the dimensions, bits or block size are not supported, and a
// *workerpool.PanicError if src panicked while a row was packed. Block may be
// called concurrently for different rows (groups of 16 are packed over the
// worker pool); a source that also has a PrepareRows(lo, hi int) method
// is told, in order and before any Block call for them, of each chunk of
// rows [lo, hi) about to be packed.
func Pack(src Source, opts ...PackOption) (*Matrix, error) {
	var cfg packConfig
	for _, o := range opts {
		o(&cfg)
	}
	n, k, bits, bs := src.Dims()
	if err := numeric.ValidateBlockParams(bits, bs); err != nil {
		return nil, fmt.Errorf("qgemm: Pack: %w: %w", ErrArgs, err)
	}
	if n <= 0 || k <= 0 {
		return nil, fmt.Errorf("qgemm: Pack: N=%d K=%d must be positive: %w", n, k, ErrArgs)
	}
	m := &Matrix{N: n, K: k, Bits: bits, BlockSize: bs}
	m.KBlocks = (k + bs - 1) / bs
	m.Groups = (n + GroupCols - 1) / GroupCols
	nb := m.Groups * m.KBlocks
	m.Codes = make([]uint8, nb*m.BlockBytes())
	mmap.HugePages(m.Codes) // as GGML's tiles
	m.Scales = make([]float32, nb*GroupCols)
	if src.HasZeroPoints() {
		m.ZeroPoints = make([]uint8, nb*GroupCols)
	}
	zpDef := m.DefaultZeroPoint()
	for i := range m.table {
		m.table[i] = float32(i & (1<<bits - 1))
		if m.ZeroPoints == nil {
			m.table[i] -= float32(zpDef)
		}
	}
	// Groups are packed over the worker pool, PackChunkRows rows at a time;
	// a source with PrepareRows hears of each chunk first, in order.
	prep, _ := src.(interface{ PrepareRows(lo, hi int) })
	chunk := PackChunkRows / GroupCols
	for c0 := 0; c0 < m.Groups; c0 += chunk {
		c1 := min(m.Groups, c0+chunk)
		if prep != nil {
			prep.PrepareRows(c0*GroupCols, min(n, c1*GroupCols))
		}
		err := workerpool.ForN(context.Background(), c1-c0, 4, 0, func(lo, hi int) {
			codes := make([]uint8, bs)
			for g := c0 + lo; g < c0+hi; g++ {
				m.packGroup(src, g, codes)
			}
		})
		if err != nil {
			return nil, fmt.Errorf("qgemm: Pack: rows %d–%d: %w", c0*GroupCols, min(n, c1*GroupCols), err)
		}
	}
	// Keep float16 scales when that loses nothing.
	s16 := make([]uint16, len(m.Scales))
	exact16 := true
	for i, s := range m.Scales {
		h := numeric.Float16FromFloat32(s)
		if h.Float32() != s || (s == 0 && math.Signbit(float64(s))) {
			exact16 = false
			break
		}
		s16[i] = h.Bits()
	}
	if exact16 {
		m.Scales, m.Scales16 = nil, s16
		return m, nil
	}
	if cfg.compact {
		lo := make([]uint8, len(m.Scales))
		for i, s := range m.Scales {
			r, ok := round24(s)
			if !ok {
				return m, nil // a scale would round to infinity: keep float32
			}
			s16[i], lo[i] = uint16(r>>16), uint8(r>>8)
		}
		m.Scales, m.Scales16, m.ScalesLo = nil, s16, lo
	}
	return m, nil
}

// packGroup repacks the 16 columns of group g (codes is scratch of
// BlockSize bytes). Groups write disjoint parts of m.
func (m *Matrix) packGroup(src Source, g int, codes []uint8) {
	n, k, bs, bits := m.N, m.K, m.BlockSize, m.Bits
	zpDef := m.DefaultZeroPoint()
	for b := 0; b < m.KBlocks; b++ {
		blk := g*m.KBlocks + b
		out := m.Codes[blk*m.BlockBytes() : (blk+1)*m.BlockBytes()]
		valid := min(bs, k-b*bs)
		for c := 0; c < GroupCols; c++ {
			col := g*GroupCols + c
			zp := zpDef
			var s float32
			if col < n {
				s, zp = src.Block(col, b, codes[:valid])
			}
			if !src.HasZeroPoints() {
				zp = zpDef
			}
			for j := valid; j < bs; j++ {
				codes[j] = zp // padding contributes (zp − zp)·s = 0
			}
			if col >= n {
				for j := range codes {
					codes[j] = zp
				}
			}
			m.Scales[blk*GroupCols+c] = s
			if m.ZeroPoints != nil {
				m.ZeroPoints[blk*GroupCols+c] = zp
			}
			putCodes(out, bits, c, codes)
		}
	}
}

// round24 rounds s to the nearest float32 whose low 8 bits are zero (ties
// to even), keeping NaN a NaN; ok is false when a finite s would round to
// infinity.
func round24(s float32) (bits uint32, ok bool) {
	b := math.Float32bits(s)
	if s != s {
		return b&(1<<31) | 0x7fc00000, true
	}
	r := (b + 0x7f + (b>>8)&1) &^ 0xff
	if r&0x7f800000 == 0x7f800000 && b&0x7f800000 != 0x7f800000 {
		return 0, false
	}
	return r, true
}

// ScaleBits returns how the scales are stored: 32 (float32), 24 (rounded,
// see CompactScales) or 16 (float16).
func (m *Matrix) ScaleBits() int {
	switch {
	case m.ScalesLo != nil:
		return 24
	case m.Scales16 != nil:
		return 16
	}
	return 32
}

// scale returns the scale of column c in block blk (group-major block
// index).
func (m *Matrix) scale(blk, c int) float32 {
	i := blk*GroupCols + c
	switch {
	case m.ScalesLo != nil:
		return math.Float32frombits(uint32(m.Scales16[i])<<16 | uint32(m.ScalesLo[i])<<8)
	case m.Scales16 != nil:
		return numeric.Float16FromBits(m.Scales16[i]).Float32()
	}
	return m.Scales[i]
}

// codeOffset returns the byte offset and bit shift of code j (0 ≤ j <
// BlockSize) of column c within a packed block.
func codeOffset(bits, c, j int) (off int, shift uint) {
	q, t := j/4, j%4
	qps := 8 / bits // quads per 64-byte step
	s, i := q/qps, q%qps
	return s*64 + c*4 + t, uint(i * bits)
}

// putCodes ORs the codes of column c (codes[j] for k = j, every code
// below 2^bits) into a zeroed packed block: setCode for all j at once.
func putCodes(blk []uint8, bits, c int, codes []uint8) {
	switch bits {
	case 8:
		q := 0
		for ; 4*q+4 <= len(codes); q++ {
			le64.PutUint32(blk[q*64+4*c:], le64.Uint32(codes[4*q:]))
		}
		for j := 4 * q; j < len(codes); j++ {
			blk[q*64+4*c+j-4*q] = codes[j]
		}
	case 4:
		// A byte holds quads 2s (low nibble) and 2s+1 of the column: whole
		// 8-code runs are assigned directly, four bytes at a time (every
		// code is below 16, so no nibble carries into the next byte).
		s := 0
		for ; 8*s+8 <= len(codes); s++ {
			v := le64.Uint64(codes[8*s:])
			le64.PutUint32(blk[s*64+4*c:], uint32(v)|uint32(v>>32)<<4)
		}
		for j := 8 * s; j < len(codes); j++ {
			blk[s*64+4*c+j%4] |= codes[j] << (4 * uint(j%8/4))
		}
	case 2:
		s := 0
		for ; 16*s+16 <= len(codes); s++ {
			v := codes[16*s:][:16:16]
			le64.PutUint32(blk[s*64+4*c:], le64.Uint32(v)|le64.Uint32(v[4:])<<2|le64.Uint32(v[8:])<<4|le64.Uint32(v[12:])<<6)
		}
		for j := 16 * s; j < len(codes); j++ {
			blk[s*64+4*c+j%4] |= codes[j] << (2 * uint(j%16/4))
		}
	case 1:
		s := 0
		for ; 32*s+32 <= len(codes); s++ {
			v := codes[32*s:][:32:32]
			var w uint32
			for i := range 8 {
				w |= le64.Uint32(v[4*i:]) << i
			}
			le64.PutUint32(blk[s*64+4*c:], w)
		}
		for j := 32 * s; j < len(codes); j++ {
			blk[s*64+4*c+j%4] |= codes[j] << uint(j%32/4)
		}
	default:
		for j, code := range codes {
			setCode(blk, bits, c, j, code)
		}
	}
}

func setCode(blk []uint8, bits, c, j int, code uint8) {
	off, sh := codeOffset(bits, c, j)
	mask := uint8(1<<bits-1) << sh
	blk[off] = blk[off]&^mask | (code<<sh)&mask
}

// code returns code j of column c of a packed block.
func code(blk []uint8, bits, c, j int) uint8 {
	off, sh := codeOffset(bits, c, j)
	return blk[off] >> sh & uint8(1<<bits-1)
}

// zeroPoint returns the zero point of column c in block blk (group-major
// block index).
func (m *Matrix) zeroPoint(blk, c int) uint8 {
	if m.ZeroPoints == nil {
		return m.DefaultZeroPoint()
	}
	return m.ZeroPoints[blk*GroupCols+c]
}

// NBits adapts a numeric.BlockQuantized (the ONNX MatMulNBits layout) to
// Source.
type NBits struct{ Q *numeric.BlockQuantized }

// Dims implements Source.
func (s NBits) Dims() (n, k, bits, blockSize int) { return s.Q.N, s.Q.K, s.Q.Bits, s.Q.BlockSize }

// HasZeroPoints implements Source.
func (s NBits) HasZeroPoints() bool { return s.Q.ZeroPoints != nil }

// Block implements Source.
func (s NBits) Block(n, b int, codes []uint8) (float32, uint8) {
	q := s.Q
	blob := q.BlobSize()
	off := (n*q.KBlocks() + b) * blob
	data := q.B[off : off+blob]
	for j := range codes {
		codes[j] = numeric.PackedCode(data, q.Bits, j)
	}
	return q.Scales[n*q.KBlocks()+b], q.ZeroPoint(n, b)
}

// PackNBits validates q and repacks it (Pack(NBits{q}, opts...)).
func PackNBits(q *numeric.BlockQuantized, opts ...PackOption) (*Matrix, error) {
	if err := q.Validate(); err != nil {
		return nil, fmt.Errorf("qgemm: PackNBits: %w", err)
	}
	return Pack(NBits{q}, opts...)
}

// Dims implements Source: a Matrix can be read back block by block (and
// repacked, or turned back into another layout).
func (m *Matrix) Dims() (n, k, bits, blockSize int) { return m.N, m.K, m.Bits, m.BlockSize }

// HasZeroPoints implements Source.
func (m *Matrix) HasZeroPoints() bool { return m.ZeroPoints != nil }

// Block implements Source: it writes the codes of block b of row n
// (min(BlockSize, K−b·BlockSize) of them, as far as codes is long) and
// returns the block's scale (as stored: rounded with CompactScales) and
// zero point. n and b must be in range.
func (m *Matrix) Block(n, b int, codes []uint8) (scale float32, zeroPoint uint8) {
	g, c := n/GroupCols, n%GroupCols
	blk := g*m.KBlocks + b
	data := m.Codes[blk*m.BlockBytes() : (blk+1)*m.BlockBytes()]
	valid := min(m.BlockSize, m.K-b*m.BlockSize, len(codes))
	// Quad q (4 consecutive codes) of column c sits in the bytes 4c..4c+3
	// of step q/qps, at bit field q%qps (see codeOffset).
	qps := 8 / m.Bits
	mask := uint8(1<<m.Bits - 1)
	for j := 0; j < valid; j += 4 {
		q := j / 4
		src := data[(q/qps)*64+4*c:]
		src = src[:4]
		sh := uint(q%qps) * uint(m.Bits)
		dst := codes[j:min(j+4, valid)]
		for t := range dst {
			dst[t] = src[t] >> sh & mask
		}
	}
	return m.scale(blk, c), m.zeroPoint(blk, c)
}

// DequantizeRow writes W[n][k0:k1] = float32(code − zero point)·scale into
// dst[:k1−k0], decoding the repacked blocks directly; k0 must be a multiple
// of BlockSize and 0 ≤ k0 ≤ k1 ≤ K. It returns an error wrapping ErrArgs
// otherwise.
func (m *Matrix) DequantizeRow(n, k0, k1 int, dst []float32) error {
	if n < 0 || n >= m.N || k0 < 0 || k0%m.BlockSize != 0 || k1 < k0 || k1 > m.K || len(dst) < k1-k0 {
		return fmt.Errorf("qgemm: DequantizeRow(n=%d, k=%d..%d) of an N=%d K=%d matrix (block size %d) into %d values: %w",
			n, k0, k1, m.N, m.K, m.BlockSize, len(dst), ErrArgs)
	}
	g, c := n/GroupCols, n%GroupCols
	bb := m.BlockBytes()
	for b := k0 / m.BlockSize; b*m.BlockSize < k1; b++ {
		blk := g*m.KBlocks + b
		data := m.Codes[blk*bb : (blk+1)*bb]
		s, z := m.scale(blk, c), int32(m.zeroPoint(blk, c))
		out := dst[b*m.BlockSize-k0 : min(k1, (b+1)*m.BlockSize)-k0]
		if m.Bits == 4 {
			// A 16-entry table of the block's values (the same float32
			// products) and one byte read per two quads' worth of codes.
			var tab [16]float32
			for v := range tab {
				tab[v] = float32(int32(v)-z) * s
			}
			for j := 0; j < len(out); j += 8 {
				src := data[(j/8)*64+4*c:]
				src = src[:4]
				if j+8 <= len(out) {
					o := out[j : j+8 : j+8]
					o[0], o[1], o[2], o[3] = tab[src[0]&15], tab[src[1]&15], tab[src[2]&15], tab[src[3]&15]
					o[4], o[5], o[6], o[7] = tab[src[0]>>4], tab[src[1]>>4], tab[src[2]>>4], tab[src[3]>>4]
					continue
				}
				for t := range out[j:] {
					if t < 4 {
						out[j+t] = tab[src[t]&15]
					} else {
						out[j+t] = tab[src[t-4]>>4]
					}
				}
			}
			continue
		}
		var codes [256]uint8 // block sizes are at most 256
		m.Block(n, b, codes[:len(out)])
		for j, code := range codes[:len(out)] {
			out[j] = float32(int32(code)-z) * s
		}
	}
	return nil
}
