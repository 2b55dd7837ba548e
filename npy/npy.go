// Package npy reads and writes NumPy .npy files (format versions 1.0, 2.0
// and 3.0 on read; 1.0, or 2.0 when the header needs it, on write):
// little-endian, C order, element types float32, float64, float16,
// bfloat16, int64, int32, int16, int8, uint64, uint32, uint16, uint8 and
// bool, and strings (see strings.go: str, bytes and object arrays).
//
// NumPy has no bfloat16. ml_dtypes' bfloat16 is saved by np.save with the
// descr '<V2' (a 2-byte void: NumPy's type codes are not extensible), which
// np.load reads back as void; arr.view(ml_dtypes.bfloat16) recovers it.
// Read takes '<V2' and '|V2' as bfloat16, and so the descr 'bfloat16' that
// some tools write by hand; Write writes bfloat16 as '<V2'.
package npy

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unsafe"

	"github.com/zerfoo/zerfoo/budget"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

// ErrFormat is wrapped by errors about malformed or unsupported files.
var ErrFormat = errors.New("npy: bad file")

var magic = []byte("\x93NUMPY")

// Array is a decoded file: the tensor and whether its NumPy type was bool
// (then Tensor is a *tensor.Tensor[uint8] of 0 and 1).
type Array struct {
	Tensor tensor.Any
	Bool   bool
}

var descrs = map[string]numeric.DType{
	"<f4": numeric.Float32, "<f8": numeric.Float64, "<f2": numeric.Float16Type,
	"<i8": numeric.Int64, "<i4": numeric.Int32, "<i2": numeric.Int16,
	"|i1": numeric.Int8, "|u1": numeric.Uint8, "|b1": numeric.Uint8,
	"<i1": numeric.Int8, "<u1": numeric.Uint8, "<b1": numeric.Uint8,
	"<u2": numeric.Uint16, "<u4": numeric.Uint32, "<u8": numeric.Uint64,
	"<V2": numeric.BFloat16Type, "|V2": numeric.BFloat16Type, "bfloat16": numeric.BFloat16Type,
}

const maxHeader = 1 << 20

// Read decodes one .npy file from r. An array whose data (read, then
// decoded: twice its size) would exceed budget.Default() is refused with an
// error wrapping budget.ErrExceeded before anything is allocated for it.
func Read(r io.Reader) (*Array, error) {
	br := bufio.NewReader(r)
	head := make([]byte, 8)
	if _, err := io.ReadFull(br, head); err != nil {
		return nil, fmt.Errorf("%w: short header: %v", ErrFormat, err)
	}
	if !bytes.Equal(head[:6], magic) {
		return nil, fmt.Errorf("%w: not an .npy file (bad magic)", ErrFormat)
	}
	var hlen int
	switch head[6] {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return nil, fmt.Errorf("%w: short header: %v", ErrFormat, err)
		}
		hlen = int(binary.LittleEndian.Uint16(b[:]))
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return nil, fmt.Errorf("%w: short header: %v", ErrFormat, err)
		}
		hlen = int(binary.LittleEndian.Uint32(b[:]))
	default:
		return nil, fmt.Errorf("%w: unsupported version %d.%d", ErrFormat, head[6], head[7])
	}
	if hlen > maxHeader {
		return nil, fmt.Errorf("%w: header of %d bytes", ErrFormat, hlen)
	}
	hb := make([]byte, hlen)
	if _, err := io.ReadFull(br, hb); err != nil {
		return nil, fmt.Errorf("%w: short header: %v", ErrFormat, err)
	}
	descr, fortran, shape, err := parseHeader(string(hb))
	if err != nil {
		return nil, err
	}
	if fortran {
		return nil, fmt.Errorf("%w: Fortran order is not supported", ErrFormat)
	}
	if size, utf32, ok := stringWidth(descr); ok {
		return readFixedStrings(br, descr, shape, size, utf32)
	}
	if descr == "|O" || descr == "<O" {
		return readObjectStrings(br, shape)
	}
	dt, ok := descrs[descr]
	if !ok {
		return nil, fmt.Errorf("%w: unsupported dtype %q (want little-endian float32, float64, float16, bfloat16 (<V2), int64, int32, int16, int8, uint64, uint32, uint16, uint8, bool, str (<U), bytes (|S) or object arrays of strings)", ErrFormat, descr)
	}
	// The data is read into a buffer and then decoded: two copies. An array
	// without elements is checked as if its zero dims were 1, so that its
	// other dims stay within what a real array could have.
	ext := make([]int, len(shape))
	for i, d := range shape {
		ext[i] = max(d, 1)
	}
	if err := budget.CheckElems(fmt.Sprintf("npy: array %s%v", descr, shape), 2*dt.Size(), ext...); err != nil {
		return nil, err
	}
	n, err := tensor.SizeOf(shape)
	if err != nil || int64(n) > int64(math.MaxInt)/int64(dt.Size()) { // 32-bit ints
		return nil, fmt.Errorf("%w: bad shape %v", ErrFormat, shape)
	}
	raw := make([]byte, 0, min(n*dt.Size(), 1<<20))
	buf := bytes.NewBuffer(raw)
	if m, err := io.CopyN(buf, br, int64(n*dt.Size())); err != nil {
		return nil, fmt.Errorf("%w: data is %d bytes, want %d for shape %v", ErrFormat, m, n*dt.Size(), shape)
	}
	data := buf.Bytes()
	a := &Array{Bool: descr[1] == 'b'}
	switch dt {
	case numeric.Float32:
		a.Tensor, err = tensor.New(shape, decode[float32](data, n))
	case numeric.Float64:
		a.Tensor, err = tensor.New(shape, decode[float64](data, n))
	case numeric.Float16Type:
		a.Tensor, err = tensor.New(shape, decode[numeric.Float16](data, n))
	case numeric.Int64:
		a.Tensor, err = tensor.New(shape, decode[int64](data, n))
	case numeric.Int32:
		a.Tensor, err = tensor.New(shape, decode[int32](data, n))
	case numeric.Int16:
		a.Tensor, err = tensor.New(shape, decode[int16](data, n))
	case numeric.Int8:
		a.Tensor, err = tensor.New(shape, decode[int8](data, n))
	case numeric.BFloat16Type:
		a.Tensor, err = tensor.New(shape, decode[numeric.BFloat16](data, n))
	case numeric.Uint64:
		a.Tensor, err = tensor.New(shape, decode[uint64](data, n))
	case numeric.Uint32:
		a.Tensor, err = tensor.New(shape, decode[uint32](data, n))
	case numeric.Uint16:
		a.Tensor, err = tensor.New(shape, decode[uint16](data, n))
	case numeric.Uint8:
		d := decode[uint8](data, n)
		if a.Bool {
			for i, v := range d {
				if v > 1 {
					return nil, fmt.Errorf("%w: bool element %d is %d", ErrFormat, i, v)
				}
			}
		}
		a.Tensor, err = tensor.New(shape, d)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	return a, nil
}

// decode copies little-endian bytes into a new []T.
func decode[T any](b []byte, n int) []T {
	out := make([]T, n)
	if n > 0 {
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&out[0])), len(b)), b)
	}
	return out
}

func bytesOf[T any](d []T) []byte {
	if len(d) == 0 {
		return nil
	}
	var z T
	return unsafe.Slice((*byte)(unsafe.Pointer(&d[0])), len(d)*int(unsafe.Sizeof(z)))
}

// parseHeader reads the Python dict literal of an .npy header.
func parseHeader(h string) (descr string, fortran bool, shape []int, err error) {
	bad := func(msg string) error { return fmt.Errorf("%w: header %q: %s", ErrFormat, strings.TrimSpace(h), msg) }
	s := strings.TrimSpace(h)
	if !strings.HasPrefix(s, "{") || !strings.HasSuffix(s, "}") {
		return "", false, nil, bad("not a dict")
	}
	get := func(key string) (string, bool) {
		i := strings.Index(s, "'"+key+"'")
		if i < 0 {
			return "", false
		}
		rest := strings.TrimSpace(s[i+len(key)+2:])
		if !strings.HasPrefix(rest, ":") {
			return "", false
		}
		return strings.TrimSpace(rest[1:]), true
	}
	d, ok := get("descr")
	if !ok || len(d) < 2 || (d[0] != '\'' && d[0] != '"') {
		return "", false, nil, bad("no descr")
	}
	end := strings.IndexByte(d[1:], d[0])
	if end < 0 {
		return "", false, nil, bad("bad descr")
	}
	descr = d[1 : 1+end]
	f, ok := get("fortran_order")
	if !ok {
		return "", false, nil, bad("no fortran_order")
	}
	fortran = strings.HasPrefix(f, "True")
	sh, ok := get("shape")
	if !ok || !strings.HasPrefix(sh, "(") {
		return "", false, nil, bad("no shape")
	}
	close := strings.IndexByte(sh, ')')
	if close < 0 {
		return "", false, nil, bad("bad shape")
	}
	shape = []int{}
	for _, p := range strings.Split(sh[1:close], ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		v, err := strconv.Atoi(strings.TrimSuffix(p, "L"))
		if err != nil || v < 0 || v > math.MaxInt32 {
			return "", false, nil, bad("bad dim " + p)
		}
		shape = append(shape, v)
	}
	return descr, fortran, shape, nil
}

// Write encodes t as an .npy file (bool marks a uint8 tensor as NumPy
// bool). Float16 is written as '<f2' and bfloat16 as '<V2' (see the package
// doc); float8 is not supported.
func Write(w io.Writer, t tensor.Any, isBool bool) error {
	var descr string
	var data []byte
	switch v := t.(type) {
	case *tensor.Tensor[float32]:
		descr, data = "<f4", bytesOf(v.Data())
	case *tensor.Tensor[float64]:
		descr, data = "<f8", bytesOf(v.Data())
	case *tensor.Tensor[numeric.Float16]:
		descr, data = "<f2", bytesOf(v.Data())
	case *tensor.Tensor[int64]:
		descr, data = "<i8", bytesOf(v.Data())
	case *tensor.Tensor[int32]:
		descr, data = "<i4", bytesOf(v.Data())
	case *tensor.Tensor[int16]:
		descr, data = "<i2", bytesOf(v.Data())
	case *tensor.Tensor[int8]:
		descr, data = "|i1", bytesOf(v.Data())
	case *tensor.Tensor[numeric.BFloat16]:
		descr, data = "<V2", bytesOf(v.Data())
	case *tensor.Tensor[uint64]:
		descr, data = "<u8", bytesOf(v.Data())
	case *tensor.Tensor[uint32]:
		descr, data = "<u4", bytesOf(v.Data())
	case *tensor.Tensor[uint16]:
		descr, data = "<u2", bytesOf(v.Data())
	case *tensor.Strings:
		var err error
		if descr, data, err = writeStrings(v); err != nil {
			return err
		}
	case *tensor.Tensor[uint8]:
		descr, data = "|u1", v.Data()
		if isBool {
			descr = "|b1"
		}
	default:
		return fmt.Errorf("npy: element type %s cannot be written", t.DType())
	}
	if !littleEndian() {
		return errors.New("npy: big-endian hosts are not supported")
	}
	shape := t.Shape()
	var sb strings.Builder
	sb.WriteString("(")
	for i, d := range shape {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(strconv.Itoa(d))
	}
	if len(shape) == 1 {
		sb.WriteString(",")
	}
	sb.WriteString(")")
	header := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, sb.String())
	version, pre := byte(1), 10
	if len(header)+1+pre > 65535 {
		version, pre = 2, 12
	}
	pad := 64 - (pre+len(header)+1)%64
	if pad == 64 {
		pad = 0
	}
	header += strings.Repeat(" ", pad) + "\n"
	var hb bytes.Buffer
	hb.Write(magic)
	hb.WriteByte(version)
	hb.WriteByte(0)
	if version == 1 {
		_ = binary.Write(&hb, binary.LittleEndian, uint16(len(header)))
	} else {
		_ = binary.Write(&hb, binary.LittleEndian, uint32(len(header)))
	}
	hb.WriteString(header)
	if _, err := w.Write(hb.Bytes()); err != nil {
		return err
	}
	_, err := w.Write(data)
	return err
}

func littleEndian() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}
