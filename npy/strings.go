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
	"unicode/utf8"

	"github.com/zerfoo/zerfoo/budget"
	"github.com/zerfoo/zerfoo/tensor"
)

// String arrays. NumPy writes str arrays as '<U{n}': n UTF-32LE code
// points per element, padded with NULs; bytes arrays as '|S{n}': n bytes,
// NUL-padded; and object arrays ('|O', as np.array([...], dtype=object)
// makes for strings) as a pickle of the array, protocol 3. Read takes all
// three (an object array must hold only str or bytes) and returns a
// *tensor.Strings; trailing NULs are dropped, as NumPy does. Write writes
// a *tensor.Strings as '<U{n}', n the longest element in code points.

// maxPickle bounds the pickle of an object array.
const maxPickle = 1 << 30

// stringWidth parses a '<U{n}' or '|S{n}' descr: the bytes per element
// and whether the elements are UTF-32.
func stringWidth(descr string) (size int, utf32, ok bool) {
	if len(descr) < 3 || (descr[0] != '<' && descr[0] != '|' && descr[0] != '=') {
		return 0, false, false
	}
	kind := descr[1]
	if kind != 'U' && kind != 'S' {
		return 0, false, false
	}
	n, err := strconv.Atoi(descr[2:])
	if err != nil || n < 1 || n > 1<<20 {
		return 0, false, false
	}
	if kind == 'U' {
		return 4 * n, true, true
	}
	return n, false, true
}

// readFixedStrings reads n elements of size bytes.
func readFixedStrings(r io.Reader, descr string, shape []int, size int, utf32 bool) (*Array, error) {
	ext := make([]int, len(shape))
	for i, d := range shape {
		ext[i] = max(d, 1)
	}
	if err := budget.CheckElems(fmt.Sprintf("npy: array %s%v", descr, shape), 2*size+16, ext...); err != nil {
		return nil, err
	}
	n, err := tensor.SizeOf(shape)
	if err != nil || int64(n) > int64(math.MaxInt)/int64(size) {
		return nil, fmt.Errorf("%w: bad shape %v", ErrFormat, shape)
	}
	out := make([]string, 0, min(n, 1<<16)) // grows as data arrives: a short file fails fast
	elem := make([]byte, size)
	for i := 0; i < n; i++ {
		if _, err := io.ReadFull(r, elem); err != nil {
			return nil, fmt.Errorf("%w: data ends at element %d of %d for shape %v", ErrFormat, i, n, shape)
		}
		if !utf32 {
			out = append(out, strings.TrimRight(string(elem), "\x00"))
			continue
		}
		var b strings.Builder
		for k := 0; k < size; k += 4 {
			c := binary.LittleEndian.Uint32(elem[k:])
			if c == 0 {
				continue // padding (NumPy drops trailing NULs)
			}
			if c > utf8.MaxRune || (c >= 0xd800 && c < 0xe000) {
				return nil, fmt.Errorf("%w: element %d holds code point %#x", ErrFormat, i, c)
			}
			b.WriteRune(rune(c))
		}
		out = append(out, b.String())
	}
	t, err := tensor.NewStrings(shape, out)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	return &Array{Tensor: t}, nil
}

// writeStrings encodes s as '<U{n}'.
func writeStrings(s *tensor.Strings) (string, []byte, error) {
	width := 1
	for _, v := range s.Data() {
		if !utf8.ValidString(v) {
			return "", nil, errors.New("npy: a string element is not valid UTF-8")
		}
		width = max(width, utf8.RuneCountInString(v))
	}
	if int64(width)*4*int64(s.Size()) > maxPickle {
		return "", nil, fmt.Errorf("npy: %d strings of up to %d code points are too large", s.Size(), width)
	}
	data := make([]byte, 0, 4*width*s.Size())
	for _, v := range s.Data() {
		k := 0
		for _, c := range v {
			data = binary.LittleEndian.AppendUint32(data, uint32(c))
			k++
		}
		for ; k < width; k++ {
			data = binary.LittleEndian.AppendUint32(data, 0)
		}
	}
	return "<U" + strconv.Itoa(width), data, nil
}

// pickled is the state of a pickled ndarray: _reconstruct's result, then
// what BUILD gives it.
type pickled struct {
	built bool
	shape []int
	dtype string
	data  []any
}

type pickleGlobal string // "module.name"

type pickleMark struct{}

// readObjectStrings reads the pickle of an object array of strings. It
// runs the few pickle opcodes NumPy's array pickles use and nothing else:
// no code is run, and a global other than NumPy's array reconstructor and
// dtype is an error.
func readObjectStrings(r io.Reader, shape []int) (*Array, error) {
	br := bufio.NewReader(io.LimitReader(r, maxPickle))
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: object array: %s", ErrFormat, fmt.Sprintf(format, args...))
	}
	var stack []any
	memo := map[uint32]any{}
	pop := func() (any, error) {
		if len(stack) == 0 {
			return nil, bad("pickle stack underflow")
		}
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		return v, nil
	}
	popMark := func() ([]any, error) {
		for i := len(stack) - 1; i >= 0; i-- {
			if _, ok := stack[i].(pickleMark); ok {
				items := append([]any(nil), stack[i+1:]...)
				stack = stack[:i]
				return items, nil
			}
		}
		return nil, bad("pickle MARK missing")
	}
	readN := func(n int) ([]byte, error) {
		if n < 0 || n > maxPickle {
			return nil, bad("length %d", n)
		}
		var b bytes.Buffer // grows as data arrives: a bogus length fails fast
		if m, err := io.CopyN(&b, br, int64(n)); err != nil || m != int64(n) {
			return nil, bad("truncated pickle")
		}
		return b.Bytes(), nil
	}
	u32 := func() (int, error) {
		b, err := readN(4)
		if err != nil {
			return 0, err
		}
		return int(binary.LittleEndian.Uint32(b)), nil
	}
	line := func() (string, error) {
		s, err := br.ReadString('\n')
		if err != nil || len(s) > 256 {
			return "", bad("bad GLOBAL")
		}
		return strings.TrimSuffix(s, "\n"), nil
	}
	ext := make([]int, len(shape))
	for i, d := range shape {
		ext[i] = max(d, 1)
	}
	if err := budget.CheckElems(fmt.Sprintf("npy: object array%v", shape), 64, ext...); err != nil {
		return nil, err
	}
	for steps := 0; ; steps++ {
		if steps > 1<<26 || len(stack) > 1<<20 || len(memo) > 1<<20 {
			return nil, bad("pickle too long or too deep")
		}
		op, err := br.ReadByte()
		if err != nil {
			return nil, bad("truncated pickle")
		}
		switch op {
		case 0x80: // PROTO
			if _, err := readN(1); err != nil {
				return nil, err
			}
		case 0x95: // FRAME
			if _, err := readN(8); err != nil {
				return nil, err
			}
		case 'c': // GLOBAL
			mod, err := line()
			if err != nil {
				return nil, err
			}
			name, err := line()
			if err != nil {
				return nil, err
			}
			stack = append(stack, pickleGlobal(mod+"."+name))
		case 0x93: // STACK_GLOBAL
			name, err1 := pop()
			mod, err2 := pop()
			ms, ok1 := mod.(string)
			ns, ok2 := name.(string)
			if err1 != nil || err2 != nil || !ok1 || !ok2 {
				return nil, bad("bad STACK_GLOBAL")
			}
			stack = append(stack, pickleGlobal(ms+"."+ns))
		case 'q', 'r', 0x94: // BINPUT, LONG_BINPUT, MEMOIZE
			var k int
			switch op {
			case 'q':
				b, err := readN(1)
				if err != nil {
					return nil, err
				}
				k = int(b[0])
			case 'r':
				if k, err = u32(); err != nil {
					return nil, err
				}
			default:
				k = len(memo)
			}
			if len(stack) == 0 {
				return nil, bad("memo of an empty stack")
			}
			memo[uint32(k)] = stack[len(stack)-1]
		case 'h', 'j': // BINGET, LONG_BINGET
			var k int
			if op == 'h' {
				b, err := readN(1)
				if err != nil {
					return nil, err
				}
				k = int(b[0])
			} else if k, err = u32(); err != nil {
				return nil, err
			}
			v, ok := memo[uint32(k)]
			if !ok {
				return nil, bad("memo %d unset", k)
			}
			stack = append(stack, v)
		case 'K': // BININT1
			b, err := readN(1)
			if err != nil {
				return nil, err
			}
			stack = append(stack, int(b[0]))
		case 'M': // BININT2
			b, err := readN(2)
			if err != nil {
				return nil, err
			}
			stack = append(stack, int(binary.LittleEndian.Uint16(b)))
		case 'J': // BININT
			b, err := readN(4)
			if err != nil {
				return nil, err
			}
			stack = append(stack, int(int32(binary.LittleEndian.Uint32(b))))
		case 'N':
			stack = append(stack, nil)
		case 0x88, 0x89: // NEWTRUE, NEWFALSE
			stack = append(stack, op == 0x88)
		case 'X', 0x8c, 'B', 'C': // BINUNICODE, SHORT_BINUNICODE, BINBYTES, SHORT_BINBYTES
			var n int
			if op == 'X' || op == 'B' {
				if n, err = u32(); err != nil {
					return nil, err
				}
			} else {
				b, err := readN(1)
				if err != nil {
					return nil, err
				}
				n = int(b[0])
			}
			b, err := readN(n)
			if err != nil {
				return nil, err
			}
			if op == 'X' || op == 0x8c {
				stack = append(stack, string(b))
			} else {
				stack = append(stack, b)
			}
		case '(':
			stack = append(stack, pickleMark{})
		case ')', ']': // EMPTY_TUPLE, EMPTY_LIST
			stack = append(stack, []any{})
		case 't': // TUPLE
			items, err := popMark()
			if err != nil {
				return nil, err
			}
			stack = append(stack, items)
		case 0x85, 0x86, 0x87: // TUPLE1..3
			k := int(op - 0x84)
			if len(stack) < k {
				return nil, bad("pickle stack underflow")
			}
			items := append([]any(nil), stack[len(stack)-k:]...)
			stack = append(stack[:len(stack)-k], items)
		case 'a', 'e': // APPEND, APPENDS
			var items []any
			if op == 'a' {
				v, err := pop()
				if err != nil {
					return nil, err
				}
				items = []any{v}
			} else if items, err = popMark(); err != nil {
				return nil, err
			}
			if len(stack) == 0 {
				return nil, bad("APPEND to nothing")
			}
			l, ok := stack[len(stack)-1].([]any)
			if !ok {
				return nil, bad("APPEND to a %T", stack[len(stack)-1])
			}
			stack[len(stack)-1] = append(l, items...)
		case 'R': // REDUCE
			args, err1 := pop()
			fn, err2 := pop()
			if err1 != nil || err2 != nil {
				return nil, bad("pickle stack underflow")
			}
			a, _ := args.([]any)
			switch fn {
			case pickleGlobal("numpy.core.multiarray._reconstruct"), pickleGlobal("numpy._core.multiarray._reconstruct"):
				stack = append(stack, &pickled{})
			case pickleGlobal("numpy.dtype"):
				if len(a) == 0 {
					return nil, bad("dtype without arguments")
				}
				s, _ := a[0].(string)
				stack = append(stack, pickleGlobal("dtype:"+s))
			default:
				return nil, bad("unexpected call %v", fn)
			}
		case 'b': // BUILD
			state, err1 := pop()
			if err1 != nil || len(stack) == 0 {
				return nil, bad("pickle stack underflow")
			}
			if p, ok := stack[len(stack)-1].(*pickled); ok {
				st, _ := state.([]any)
				if len(st) != 5 {
					return nil, bad("array state of %d items", len(st))
				}
				sh, _ := st[1].([]any)
				for _, d := range sh {
					v, ok := d.(int)
					if !ok {
						return nil, bad("bad shape %v", sh)
					}
					p.shape = append(p.shape, v)
				}
				dt, _ := st[2].(pickleGlobal)
				p.dtype = string(dt)
				p.data, _ = st[4].([]any)
				p.built = true
			} // a dtype's state (byte order, flags) is not needed
		case '.': // STOP
			v, err := pop()
			if err != nil {
				return nil, err
			}
			p, ok := v.(*pickled)
			if !ok || !p.built {
				return nil, bad("the pickle is not an array")
			}
			if p.dtype != "dtype:O8" && p.dtype != "dtype:O4" {
				return nil, bad("dtype %s, want object", strings.TrimPrefix(p.dtype, "dtype:"))
			}
			if !tensor.SameShape(p.shape, shape) {
				return nil, bad("pickled shape %v, header %v", p.shape, shape)
			}
			out := make([]string, len(p.data))
			for i, e := range p.data {
				switch e := e.(type) {
				case string:
					out[i] = e
				case []byte:
					out[i] = string(e)
				default:
					return nil, bad("element %d is a %T, want a string", i, e)
				}
			}
			t, err := tensor.NewStrings(shape, out)
			if err != nil {
				return nil, fmt.Errorf("%w: %v", ErrFormat, err)
			}
			return &Array{Tensor: t}, nil
		default:
			return nil, bad("unsupported pickle opcode %#x", op)
		}
	}
}
