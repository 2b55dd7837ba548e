package gguf

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"sort"
	"strconv"
	"unsafe"

	"github.com/zerfoo/zerfoo/budget"
	"github.com/zerfoo/zerfoo/gguf/quant"
)

// Magic is the first four bytes of every GGUF file.
const Magic = "GGUF"

// DefaultAlignment is the tensor data alignment when general.alignment is
// absent.
const DefaultAlignment = 32

// Limits the reader enforces beyond "fits in the file".
const (
	maxDims       = 4     // GGML_MAX_DIMS
	maxNameLen    = 64    // GGML_MAX_NAME, including ggml's NUL
	maxKeyLen     = 65535 // spec limit for keys
	maxArrayDepth = 8     // nesting of arrays of arrays
)

// parser reads a GGUF header from an in-memory image of the file. Every
// length and count is checked against the bytes left before anything is
// allocated, so a hostile header cannot make it allocate more than a small
// multiple of the file size, and the running total of what it allocates is
// checked against a memory budget (charge) before each allocation.
type parser struct {
	b     []byte
	off   int
	err   error
	limit budget.Limit
	max   uint64 // limit in bytes
	used  uint64 // bytes charged so far
}

// Go sizes charged for the parsed header: a KV or TensorInfo with its
// index map entry (keys and names are charged as strings), a string
// header, an Array.
const (
	kvCost     = uint64(unsafe.Sizeof(KV{})) + 48
	tensorCost = uint64(unsafe.Sizeof(TensorInfo{})) + 48 + 8*maxDims + 8 // + dims, + checkLayout's order
	strCost    = uint64(unsafe.Sizeof(""))
	arrayCost  = uint64(unsafe.Sizeof(Array{}))
)

// charge adds n bytes to the header's allocations and records an error
// wrapping budget.ErrExceeded if the total exceeds the budget. what (called
// only then) names the allocation.
func (p *parser) charge(n uint64, what func() string) bool {
	if p.err != nil {
		return false
	}
	if p.used += n; p.used < n { // saturate
		p.used = math.MaxUint64
	}
	if p.used > p.max {
		used := int64(p.used)
		if p.used > math.MaxInt64 {
			used = -1
		}
		p.err = fmt.Errorf("gguf: %w (at offset %d)", p.limit.Check("the header through "+what(), used), p.off)
		return false
	}
	return true
}

func (p *parser) fail(off int, format string, args ...any) {
	if p.err == nil {
		p.err = formatErr(int64(off), format, args...)
	}
}

func (p *parser) left() int { return len(p.b) - p.off }

// need reports whether n more bytes are available, recording a truncation
// error for what otherwise.
func (p *parser) need(n uint64, what string) bool {
	if p.err != nil {
		return false
	}
	if n > uint64(p.left()) {
		p.fail(p.off, "truncated file: %s needs %d bytes, %d left", what, n, p.left())
		return false
	}
	return true
}

func (p *parser) u8(what string) uint8 {
	if !p.need(1, what) {
		return 0
	}
	p.off++
	return p.b[p.off-1]
}

func (p *parser) u16(what string) uint16 {
	if !p.need(2, what) {
		return 0
	}
	p.off += 2
	return binary.LittleEndian.Uint16(p.b[p.off-2:])
}

func (p *parser) u32(what string) uint32 {
	if !p.need(4, what) {
		return 0
	}
	p.off += 4
	return binary.LittleEndian.Uint32(p.b[p.off-4:])
}

func (p *parser) u64(what string) uint64 {
	if !p.need(8, what) {
		return 0
	}
	p.off += 8
	return binary.LittleEndian.Uint64(p.b[p.off-8:])
}

func (p *parser) str(what string) string {
	start := p.off
	n := p.u64(what + " length")
	if p.err != nil {
		return ""
	}
	if n > uint64(p.left()) {
		p.fail(start, "%s length %d runs past the end of the file (%d bytes left)", what, n, p.left())
		return ""
	}
	if !p.charge(n, func() string { return fmt.Sprintf("%s of %d bytes", what, n) }) {
		return ""
	}
	s := string(p.b[p.off : p.off+int(n)])
	p.off += int(n)
	return s
}

// count reads a u64 element count and checks that count elements of at
// least minSize bytes each can fit in the rest of the file.
func (p *parser) count(what string, minSize int) int {
	start := p.off
	n := p.u64(what)
	if p.err != nil {
		return 0
	}
	if hi, lo := bits.Mul64(n, uint64(minSize)); hi != 0 || lo > uint64(p.left()) {
		p.fail(start, "%s %d is larger than the file allows (%d bytes left, at least %d bytes each)", what, n, p.left(), minSize)
		return 0
	}
	return int(n)
}

// minValueSize is the smallest encoding of a value of type t.
func minValueSize(t ValueType) int {
	switch t {
	case TypeString:
		return 8
	case TypeArray:
		return 12
	}
	return t.size()
}

func (p *parser) value(t ValueType, key string, depth int) any {
	switch t {
	case TypeUint8:
		return p.u8(key)
	case TypeInt8:
		return int8(p.u8(key))
	case TypeUint16:
		return p.u16(key)
	case TypeInt16:
		return int16(p.u16(key))
	case TypeUint32:
		return p.u32(key)
	case TypeInt32:
		return int32(p.u32(key))
	case TypeFloat32:
		return math.Float32frombits(p.u32(key))
	case TypeUint64:
		return p.u64(key)
	case TypeInt64:
		return int64(p.u64(key))
	case TypeFloat64:
		return math.Float64frombits(p.u64(key))
	case TypeBool:
		off := p.off
		v := p.u8(key)
		if v > 1 {
			p.fail(off, "metadata %q: bool value %d is not 0 or 1", key, v)
		}
		return v == 1
	case TypeString:
		return p.str("metadata " + quote(key) + " string")
	case TypeArray:
		return p.array(key, depth)
	}
	p.fail(p.off, "metadata %q: unknown value type %d", key, uint32(t))
	return nil
}

func (p *parser) array(key string, depth int) Array {
	start := p.off
	if depth >= maxArrayDepth {
		p.fail(start, "metadata %q: arrays nested deeper than %d", key, maxArrayDepth)
		return Array{}
	}
	et := ValueType(p.u32(key + " array type"))
	if p.err != nil {
		return Array{}
	}
	if minValueSize(et) == 0 {
		p.fail(start, "metadata %q: unknown array element type %d", key, uint32(et))
		return Array{}
	}
	n := p.count("metadata "+quote(key)+" array length", minValueSize(et))
	if p.err != nil {
		return Array{}
	}
	// The Go representation: n elements of the type's size, strings
	// (with their index, one copy of their bytes, charged below) and
	// nested arrays as headers.
	cost := uint64(et.size())
	switch et {
	case TypeString:
		cost = strCost + 8
	case TypeArray:
		cost = arrayCost
	}
	if !p.charge(uint64(n)*cost, func() string { return fmt.Sprintf("metadata %s (array of %d %s)", quote(key), n, et) }) {
		return Array{}
	}
	switch et {
	case TypeUint8:
		return Array{et, readScalars(p, n, 1, func(b []byte) uint8 { return b[0] })}
	case TypeInt8:
		return Array{et, readScalars(p, n, 1, func(b []byte) int8 { return int8(b[0]) })}
	case TypeUint16:
		return Array{et, readScalars(p, n, 2, binary.LittleEndian.Uint16)}
	case TypeInt16:
		return Array{et, readScalars(p, n, 2, func(b []byte) int16 { return int16(binary.LittleEndian.Uint16(b)) })}
	case TypeUint32:
		return Array{et, readScalars(p, n, 4, binary.LittleEndian.Uint32)}
	case TypeInt32:
		return Array{et, readScalars(p, n, 4, func(b []byte) int32 { return int32(binary.LittleEndian.Uint32(b)) })}
	case TypeFloat32:
		return Array{et, readScalars(p, n, 4, func(b []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b)) })}
	case TypeUint64:
		return Array{et, readScalars(p, n, 8, binary.LittleEndian.Uint64)}
	case TypeInt64:
		return Array{et, readScalars(p, n, 8, func(b []byte) int64 { return int64(binary.LittleEndian.Uint64(b)) })}
	case TypeFloat64:
		return Array{et, readScalars(p, n, 8, func(b []byte) float64 { return math.Float64frombits(binary.LittleEndian.Uint64(b)) })}
	case TypeBool:
		off := p.off
		v := readScalars(p, n, 1, func(b []byte) bool { return b[0] == 1 })
		for i := 0; i < n; i++ {
			if p.b[off+i] > 1 {
				p.fail(off+i, "metadata %q: bool element %d is %d, not 0 or 1", key, i, p.b[off+i])
				break
			}
		}
		return Array{et, v}
	case TypeString:
		// Validate all lengths first, then copy the whole run once and
		// slice the strings out of it: one allocation instead of n (a
		// Gemma vocabulary has 262144 pieces).
		start := p.off
		ends := make([]int, n)
		what := "metadata " + quote(key) + " string element length"
		for i := range ends {
			off := p.off
			l := p.u64(what)
			if p.err != nil {
				return Array{}
			}
			if l > uint64(p.left()) {
				p.fail(off, "metadata %q: string element %d length %d runs past the end of the file (%d bytes left)", key, i, l, p.left())
				return Array{}
			}
			p.off += int(l)
			ends[i] = p.off
		}
		if !p.charge(uint64(p.off-start), func() string { return fmt.Sprintf("metadata %s (%d bytes of strings)", quote(key), p.off-start) }) {
			return Array{}
		}
		all := string(p.b[start:p.off])
		v := make([]string, n)
		pos := start
		for i, e := range ends {
			v[i] = all[pos+8-start : e-start]
			pos = e
		}
		return Array{et, v}
	default: // TypeArray
		v := make([]Array, n)
		for i := range v {
			if v[i] = p.array(key, depth+1); p.err != nil {
				return Array{}
			}
		}
		return Array{et, v}
	}
}

// readScalars decodes n fixed-size elements; count has checked they fit.
func readScalars[T any](p *parser, n, size int, dec func([]byte) T) []T {
	v := make([]T, n)
	for i := range v {
		v[i] = dec(p.b[p.off+i*size:])
	}
	p.off += n * size
	return v
}

// quote quotes s for an error message, escaped so that the message stays
// one line, and shortened to its first 80 bytes.
func quote(s string) string {
	if len(s) > 80 {
		return strconv.Quote(s[:80]) + "…"
	}
	return strconv.Quote(s)
}

// parse decodes the header, metadata and tensor infos of the file image b
// and validates the tensor layout against len(b). What it allocates is
// checked against limit.
func parse(b []byte, limit budget.Limit) (*File, error) {
	p := &parser{b: b, limit: limit, max: uint64(limit.Bytes())}
	if len(b) < 4 || string(b[:4]) != Magic {
		n := min(len(b), 4)
		return nil, formatErr(0, "bad magic %q, want %q", b[:n], Magic)
	}
	p.off = 4
	f := &File{}
	f.Version = p.u32("version")
	if p.err == nil && f.Version != 2 && f.Version != 3 {
		hint := ""
		if bits.ReverseBytes32(f.Version) <= 3 {
			hint = " (a big-endian file?)"
		}
		p.fail(4, "unsupported version %d%s, want 2 or 3", f.Version, hint)
	}
	nt := p.count("tensor count", 32)
	nkv := p.count("metadata count", 13)
	p.charge(uint64(nt)*tensorCost, func() string { return fmt.Sprintf("%d tensor infos", nt) })
	p.charge(uint64(nkv)*kvCost, func() string { return fmt.Sprintf("%d metadata entries", nkv) })
	if p.err != nil {
		return nil, p.err
	}
	f.Metadata = make([]KV, 0, nkv)
	f.index = make(map[string]int, nkv)
	for i := 0; i < nkv && p.err == nil; i++ {
		start := p.off
		key := p.str("metadata key")
		if p.err != nil {
			break
		}
		if len(key) > maxKeyLen {
			p.fail(start, "metadata key of %d bytes is longer than %d", len(key), maxKeyLen)
			break
		}
		if _, dup := f.index[key]; dup {
			p.fail(start, "duplicate metadata key %q", key)
			break
		}
		t := ValueType(p.u32("metadata " + quote(key) + " type"))
		v := p.value(t, key, 0)
		if p.err != nil {
			break
		}
		f.index[key] = len(f.Metadata)
		f.Metadata = append(f.Metadata, KV{Key: key, Value: Value{Type: t, V: v}})
	}
	if p.err != nil {
		return nil, p.err
	}
	f.Alignment = DefaultAlignment
	if v, ok := f.Lookup(KeyAlignment); ok {
		a, isU32 := v.V.(uint32)
		if !isU32 || a == 0 || a&(a-1) != 0 {
			return nil, formatErr(0, "%s must be a uint32 power of two, got %s %v", KeyAlignment, v.Type, v.V)
		}
		f.Alignment = int(a)
	}
	f.Tensors = make([]TensorInfo, 0, nt)
	f.tensors = make(map[string]int, nt)
	for i := 0; i < nt; i++ {
		ti, ok := p.tensorInfo(i)
		if !ok {
			return nil, p.err
		}
		if _, dup := f.tensors[ti.Name]; dup {
			return nil, formatErr(ti.infoOffset, "duplicate tensor name %q", ti.Name)
		}
		f.tensors[ti.Name] = len(f.Tensors)
		f.Tensors = append(f.Tensors, ti)
	}
	// The data section starts at the next multiple of the alignment.
	end := uint64(p.off)
	f.DataOffset = int64((end + uint64(f.Alignment) - 1) / uint64(f.Alignment) * uint64(f.Alignment))
	if err := f.checkLayout(int64(len(b))); err != nil {
		return nil, err
	}
	return f, nil
}

func (p *parser) tensorInfo(i int) (TensorInfo, bool) {
	start := p.off
	name := p.str("tensor name")
	if p.err != nil {
		return TensorInfo{}, false
	}
	if len(name) >= maxNameLen {
		p.fail(start, "tensor %d name %q is %d bytes, longer than %d", i, name, len(name), maxNameLen-1)
		return TensorInfo{}, false
	}
	doff := p.off
	nd := p.u32("tensor " + quote(name) + " dimension count")
	if p.err == nil && (nd == 0 || nd > maxDims) {
		p.fail(doff, "tensor %q has %d dimensions, want 1 to %d", name, nd, maxDims)
	}
	if p.err != nil {
		return TensorInfo{}, false
	}
	ti := TensorInfo{Name: name, Dims: make([]uint64, nd), infoOffset: int64(start)}
	elems := uint64(1)
	for d := range ti.Dims {
		ti.Dims[d] = p.u64("tensor " + quote(name) + " dimension")
		if p.err != nil {
			return TensorInfo{}, false
		}
		hi, lo := bits.Mul64(elems, ti.Dims[d])
		if ti.Dims[d] > math.MaxInt64 || hi != 0 || lo > math.MaxInt64/8 {
			p.fail(doff, "tensor %q: dimensions %v overflow", name, ti.Dims[:d+1])
			return TensorInfo{}, false
		}
		elems = lo
	}
	toff := p.off
	ti.Type = quant.Type(p.u32("tensor " + quote(name) + " type"))
	ti.Offset = p.u64("tensor " + quote(name) + " offset")
	if p.err != nil {
		return TensorInfo{}, false
	}
	if !ti.Type.Known() {
		p.fail(toff, "tensor %q has unknown type %d", name, uint32(ti.Type))
		return TensorInfo{}, false
	}
	if bs := uint64(ti.Type.BlockSize()); ti.Dims[0]%bs != 0 {
		p.fail(doff, "tensor %q: ne[0] = %d is not a multiple of the %v block size %d", name, ti.Dims[0], ti.Type, bs)
		return TensorInfo{}, false
	}
	ti.Size = int64(elems / uint64(ti.Type.BlockSize()) * uint64(ti.Type.BlockBytes()))
	return ti, true
}

// checkLayout verifies that every tensor is aligned, lies inside the data
// section of a file of fileSize bytes, and overlaps no other tensor.
func (f *File) checkLayout(fileSize int64) error {
	if len(f.Tensors) == 0 {
		return nil
	}
	dataLen := fileSize - f.DataOffset
	if dataLen < 0 {
		return formatErr(fileSize, "truncated file: tensor data starts at offset %d past the end", f.DataOffset)
	}
	order := make([]int, len(f.Tensors))
	for i, t := range f.Tensors {
		order[i] = i
		if t.Offset%uint64(f.Alignment) != 0 {
			return formatErr(t.infoOffset, "tensor %q: data offset %d is not a multiple of the alignment %d", t.Name, t.Offset, f.Alignment)
		}
		if t.Offset > uint64(dataLen) || uint64(t.Size) > uint64(dataLen)-t.Offset {
			return formatErr(f.DataOffset+int64(min(t.Offset, uint64(dataLen))), "tensor %q: %d bytes at data offset %d run past the end of the file (data section is %d bytes)", t.Name, t.Size, t.Offset, dataLen)
		}
	}
	sort.Slice(order, func(a, b int) bool { return f.Tensors[order[a]].Offset < f.Tensors[order[b]].Offset })
	for k := 1; k < len(order); k++ {
		a, b := f.Tensors[order[k-1]], f.Tensors[order[k]]
		if a.Offset+uint64(a.Size) > b.Offset && a.Size > 0 && b.Size > 0 {
			return formatErr(f.DataOffset+int64(b.Offset), "tensor %q (data offset %d, %d bytes) overlaps tensor %q (data offset %d, %d bytes)", b.Name, b.Offset, b.Size, a.Name, a.Offset, a.Size)
		}
	}
	return nil
}
