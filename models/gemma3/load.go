package gemma3

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"regexp"
	"runtime/debug"
	"strings"
	"unsafe"

	"github.com/zerfoo/zerfoo/budget"
	"github.com/zerfoo/zerfoo/gguf"
	"github.com/zerfoo/zerfoo/gguf/quant"
	"github.com/zerfoo/zerfoo/internal/mmap"
	"github.com/zerfoo/zerfoo/internal/qgemm"
	"github.com/zerfoo/zerfoo/internal/workerpool"
)

// LoadOptions tunes Load and FromFile.
type LoadOptions struct {
	// Exact keeps every quantized matrix as Blocks, llama.cpp's numerics
	// with a scalar kernel (slow; for conformance checks). Otherwise Q4_0
	// and Q8_0 matrices are repacked for the fused int8 kernels, F16/BF16
	// are widened to float32, and other block types use Blocks.
	Exact bool
	// Progress, if set, is called after each tensor with the bytes of
	// tensor data prepared so far and the total.
	Progress func(done, total int64)
	// Notice, if set, receives one-line messages about ignored content
	// (for example vision-tower tensors).
	Notice func(msg string)
	// Mapped reads F16, BF16 and F32 matrices in place from a memory-mapped
	// file, as llama.cpp does by default: nothing is copied and the pages
	// can be shared between processes, but the kernel may drop them under
	// page-cache pressure (a container whose memory limit counts the page
	// cache, a sandbox that trims it) and every decode step then reads
	// them back. By default they are copied into the process's memory a
	// chunk at a time, each chunk's file pages released once copied, so
	// that the peak stays near the file size, as for the repacked types.
	Mapped bool
	// Budget bounds the memory that loading allocates: the parsed GGUF
	// header (Load only; FromFile's caller opened the file) and the
	// converted weights (repacked, widened, copied and norm tensors;
	// weights read in place from the mapping, with Mapped, cost
	// nothing). It is also the default budget of the model's States
	// (StateOptions.Budget). The zero Budget means budget.Default(): three
	// quarters of physical memory, or ZERFOO_MAX_ALLOC. Going over it is an error wrapping
	// budget.ErrExceeded that names the tensor (or metadata key) and the
	// size.
	Budget budget.Limit
	// PreferSpeed holds IQ2_S, IQ3_S, IQ1_S and IQ1_M matrices (on AVX2
	// CPUs without AVX-512 VBMI also IQ2_XXS and IQ2_XS) in the faster of
	// their forms where the CPU keeps their grid indices
	// (qgemm.PackOptions.Speed: decode 1.2–2× faster at 1.2–2.5× the
	// memory), where the budget allows.
	PreferSpeed bool
}

// Load opens the GGUF file at path and builds the model. Close the model
// to release the file mapping.
//
// F16, BF16 and F32 matrices are copied (LoadOptions.Mapped reads them in
// place instead). Where the file is memory-mapped, the pages of every
// tensor that is converted (repacked types, norm vectors, copied matrices
// chunk by chunk) are released from the process's resident set once
// converted, so that peak memory stays near the converted size rather
// than file + copy; they are read back from the page cache only if touched
// again (embedding rows, one per token), and the metadata's memory is
// returned to the OS.
func Load(path string, opt LoadOptions) (*Model, error) {
	return LoadContext(context.Background(), path, opt)
}

// LoadContext is Load that stops when ctx is done: it is checked before
// each tensor is converted, and a cancelled load returns an error wrapping
// ctx.Err() that names the tensor it stopped at, having released what it
// built.
func LoadContext(ctx context.Context, path string, opt LoadOptions) (*Model, error) {
	f, err := gguf.Open(path, gguf.Options{Budget: opt.Budget}) // every file of a split model
	if err != nil {
		return nil, err
	}
	all := f.Mapped()
	m, err := fromFile(ctx, f, opt, func([]byte) bool { return all })
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	if all {
		// Everything Load needed from the mappings is converted (or read
		// back on demand); the parsed metadata (tokenizer arrays) is
		// garbage. Hand both back before the caller allocates its caches.
		for _, r := range f.Regions() {
			releasePages(r)
		}
		debug.FreeOSMemory()
	}
	m.closer = f.Close
	return m, nil
}

// fileMeta adapts a gguf.File to Metadata.
type fileMeta struct{ f *gguf.File }

func (m fileMeta) String(key string) (string, bool) {
	s, err := m.f.String(key)
	return s, err == nil
}

func (m fileMeta) Int(key string) (int64, bool) {
	v, ok := m.f.Lookup(key)
	if !ok {
		return 0, false
	}
	return v.Int()
}

func (m fileMeta) Value(key string) (gguf.Value, bool) { return m.f.Lookup(key) }

func (m fileMeta) Float(key string) (float64, bool) {
	v, ok := m.f.Lookup(key)
	if !ok {
		return 0, false
	}
	return v.Float()
}

// FromFile builds the model from a parsed GGUF file. Matrices refer to the
// file's data (or copies of it); the file must stay open while the model
// is used. The pages of each converted tensor whose data lies in a
// read-only file mapping (gguf.Open on Linux, found in /proc/self/maps)
// are released as Load does; tensors held elsewhere (such as the in-memory
// parts of a gguf.Builder.View) are left alone.
func FromFile(f *gguf.File, opt LoadOptions) (*Model, error) {
	return FromFileContext(context.Background(), f, opt)
}

// FromFileContext is FromFile that stops, as LoadContext does, when ctx is
// done.
func FromFileContext(ctx context.Context, f *gguf.File, opt LoadOptions) (*Model, error) {
	return fromFile(ctx, f, opt, mappedData(f))
}

// mappedData returns whether a tensor's data lies in one of the process's
// read-only file mappings (those of f's tensors are listed once, now).
func mappedData(f *gguf.File) func([]byte) bool {
	var rs []region
	if len(f.Tensors) > 0 {
		rs = fileRegions()
	}
	return func(b []byte) bool { return fileMapped(rs, b) }
}

// fromFile is FromFile; mapped says whether a tensor's data lies in a
// read-only file mapping whose pages may be released once converted.
func fromFile(ctx context.Context, f *gguf.File, opt LoadOptions, mapped func([]byte) bool) (*Model, error) {
	emb, err := f.Tensor("token_embd.weight")
	if err != nil {
		if arch, _ := f.String(gguf.KeyArchitecture); arch != "gemma3" {
			return nil, fmt.Errorf("gemma3: architecture %q is not supported (supported: %s): %w",
				arch, strings.Join(Architectures, ", "), ErrArchitecture)
		}
		return nil, fmt.Errorf("gemma3: tensor token_embd.weight is missing: %w", ErrConfig)
	}
	if len(emb.Dims) != 2 {
		return nil, fmt.Errorf("gemma3: token_embd.weight has dims %v, want 2: %w", emb.Dims, ErrConfig)
	}
	if v := emb.Dims[1]; v < 1 || v > MaxVocab {
		return nil, fmt.Errorf("gemma3: token_embd.weight has %d rows (the vocabulary size), out of range [1, %d]: %w", v, MaxVocab, ErrConfig)
	}
	c, err := FromMetadata(fileMeta{f}, int(emb.Dims[1]))
	if err != nil {
		return nil, err
	}
	if got := emb.Dims[0]; got != uint64(c.Hidden) {
		return nil, fmt.Errorf("gemma3: token_embd.weight rows have %d values, embedding_length is %d: %w", got, c.Hidden, ErrConfig)
	}
	l := loader{ctx: ctx, f: f, opt: opt, mapped: mapped}
	for _, t := range f.Tensors {
		l.total += t.Size
		if why := unsupportedTensor(t.Name); why != "" {
			return nil, fmt.Errorf("gemma3: tensor %s: %s are not supported: %w", t.Name, why, ErrConfig)
		}
	}
	w := &Weights{}
	used := map[string]bool{}
	mat := func(name string, n, k int) Matrix {
		used[name] = true
		return l.matrix(name, n, k)
	}
	vec := func(name string, n int) []float32 {
		used[name] = true
		return l.vector(name, n)
	}
	H, F := c.Hidden, c.FFN
	w.Embed = mat("token_embd.weight", c.Vocab, H)
	if _, err := f.Tensor("output.weight"); err == nil {
		w.Output = mat("output.weight", c.Vocab, H)
	}
	w.Norm = vec("output_norm.weight", H)
	for i := 0; i < c.Layers && l.err == nil; i++ {
		p := fmt.Sprintf("blk.%d.", i)
		w.Layers = append(w.Layers, Layer{
			AttnNorm: vec(p+"attn_norm.weight", H), QNorm: vec(p+"attn_q_norm.weight", c.HeadDim),
			KNorm: vec(p+"attn_k_norm.weight", c.HeadDim), PostAttnNorm: vec(p+"post_attention_norm.weight", H),
			FFNNorm: vec(p+"ffn_norm.weight", H), PostFFNNorm: vec(p+"post_ffw_norm.weight", H),
		})
		lw := &w.Layers[i]
		for _, n := range []string{"attn_q", "attn_k", "attn_v", "ffn_gate", "ffn_up"} {
			used[p+n+".weight"] = true
		}
		var qkv, gu []Matrix
		qkv, lw.qkv, lw.qkvN = l.stack(stackSpec{p + "attn_q.weight", c.QDim(), H}, stackSpec{p + "attn_k.weight", c.KVDim(), H},
			stackSpec{p + "attn_v.weight", c.KVDim(), H})
		gu, lw.gateUp, _ = l.stack(stackSpec{p + "ffn_gate.weight", F, H}, stackSpec{p + "ffn_up.weight", F, H})
		if l.err == nil {
			lw.Q, lw.K, lw.V, lw.Gate, lw.Up = qkv[0], qkv[1], qkv[2], gu[0], gu[1]
		}
		lw.O, lw.Down = mat(p+"attn_output.weight", H, c.QDim()), mat(p+"ffn_down.weight", H, F)
	}
	if l.err != nil {
		return nil, l.err
	}
	var ignored int
	for _, t := range f.Tensors {
		if !used[t.Name] {
			ignored++
		}
	}
	if ignored > 0 && opt.Notice != nil {
		opt.Notice(fmt.Sprintf("gemma3: ignoring %d tensors that are not part of the text decoder (vision tower or extras)", ignored))
	}
	if l.slow > 1 && opt.Notice != nil {
		opt.Notice(fmt.Sprintf("gemma3: %d packings in all did not fit the memory budget; those tensors run on the slow reference path", l.slow))
	}
	m, err := New(c, w)
	if err != nil {
		return nil, err
	}
	m.budget = opt.Budget
	return m, nil
}

// freeEvery is the tensor bytes after which Load returns the garbage of
// conversion (qgemm's transient float32 scales, dequantization buffers) to
// the OS rather than leaving it to the next GC, which may come only when
// the heap has doubled.
const freeEvery = 32 << 20

// loader converts tensors, remembering the first error.
type loader struct {
	ctx         context.Context
	f           *gguf.File
	opt         LoadOptions
	mapped      func([]byte) bool // whether tensor data is a read-only file mapping (see releasePages)
	slow        int               // packings fits refused (the first gets a notice)
	done, total int64
	freed       int64 // l.done at the last debug.FreeOSMemory
	converted   int64 // bytes allocated for converted weights so far
	err         error
}

// charge checks n more bytes of converted weights for tensor name against
// the budget before they are allocated and, if they fit, counts them.
func (l *loader) charge(name string, n int64) bool {
	if l.err != nil {
		return false
	}
	if err := l.opt.Budget.Check("converted weights through tensor "+name, l.converted+n); err != nil {
		l.err = fmt.Errorf("gemma3: %w", err)
		return false
	}
	l.converted += n
	return true
}

func (l *loader) info(name string, n, k int) (*gguf.TensorInfo, []byte) {
	if l.err != nil {
		return nil, nil
	}
	if err := l.ctx.Err(); err != nil {
		l.err = fmt.Errorf("gemma3: loading stopped before tensor %s: %w", name, err)
		return nil, nil
	}
	t, err := l.f.Tensor(name)
	if err != nil {
		l.err = fmt.Errorf("gemma3: tensor %s is missing: %w", name, ErrConfig)
		return nil, nil
	}
	want := []uint64{uint64(k), uint64(n)}
	if n == 1 {
		want = want[:1]
	}
	if fmt.Sprint(t.Dims) != fmt.Sprint(want) {
		l.err = fmt.Errorf("gemma3: tensor %s has dims %v, want %v: %w", name, t.Dims, want, ErrConfig)
		return nil, nil
	}
	data, err := l.f.TensorData(name)
	if err != nil {
		l.err = fmt.Errorf("gemma3: %w", err)
		return nil, nil
	}
	return t, data
}

func (l *loader) progress(t *gguf.TensorInfo) {
	l.done += t.Size
	if l.done-l.freed >= freeEvery {
		debug.FreeOSMemory()
		l.freed = l.done
	}
	if l.opt.Progress != nil {
		l.opt.Progress(l.done, l.total)
	}
}

func (l *loader) vector(name string, n int) []float32 {
	t, data := l.info(name, 1, n)
	if t == nil {
		return nil
	}
	if !l.charge(name, 4*int64(n)) {
		return nil
	}
	defer l.progress(t)
	v := make([]float32, n)
	if err := quant.Dequantize(t.Type, v, data); err != nil {
		l.err = fmt.Errorf("gemma3: tensor %s: %w", name, err)
	}
	if l.mapped(data) {
		releasePages(data)
	}
	return v
}

func (l *loader) matrix(name string, n, k int) Matrix {
	t, data := l.info(name, n, k)
	if t == nil {
		return nil
	}
	defer l.progress(t)
	b, err := NewBlocks(t.Type, n, k, data)
	if err != nil {
		l.err = fmt.Errorf("gemma3: tensor %s: %w", name, err)
		return nil
	}
	if l.opt.Exact {
		return b
	}
	switch {
	case PackedType(t.Type):
		p := l.pack(name, []*Blocks{b})
		if p == nil {
			if l.err != nil {
				return nil
			}
			return b // not exactly representable in the tiles, or over the budget
		}
		return p
	case t.Type == quant.F16 || t.Type == quant.BF16:
		if !l.opt.Mapped && l.mapped(data) {
			if data = l.own(name, data); data == nil {
				return nil
			}
		}
		h, err := NewHalf(t.Type, n, k, data) // with Mapped, in place: the pages stay mapped
		if err != nil {
			l.err = fmt.Errorf("gemma3: tensor %s: %w", name, err)
			return nil
		}
		return h
	case reencodable(t.Type):
		if p := l.packReencoded(name, b); p != nil || l.err != nil {
			return p
		}
	case t.Type == quant.F32:
		if v := float32View(data, n*k); v != nil && (l.opt.Mapped || !l.mapped(data)) {
			// Read in place, as F16/BF16 with Mapped.
			return &Dense{N: n, K: k, Data: v}
		}
		if !l.charge(name, t.Size) { // the file's float32 values, copied
			return nil
		}
		d := &Dense{N: n, K: k, Data: make([]float32, n*k)}
		// In chunks, each chunk's pages released once copied.
		const chunk = 1 << 18
		for lo := 0; lo < n*k && l.err == nil; lo += chunk {
			hi := min(lo+chunk, n*k)
			if err := quant.Dequantize(t.Type, d.Data[lo:hi], data[4*lo:4*hi]); err != nil {
				l.err = fmt.Errorf("gemma3: tensor %s: %w", name, err)
			}
			if l.mapped(data) {
				releasePages(data[4*lo : 4*hi])
			}
		}
		return d
	}
	return b
}

// reencodable reports whether quant.Reencode rewrites type t.
func reencodable(t quant.Type) bool { _, ok := quant.Reencoded(t); return ok }

// fits reports whether n more bytes of converted weights stay within the
// memory budget. The first time they do not, it says so, naming tensor
// name (of type t, whose packed form is larger than the file's): the
// caller keeps the file's blocks (a stack is then tried one matrix at a
// time).
func (l *loader) fits(name string, t quant.Type, n int64) bool {
	if l.opt.Budget.Check("", l.converted+n) == nil {
		return true
	}
	if l.slow == 0 && l.opt.Notice != nil {
		l.opt.Notice(fmt.Sprintf("gemma3: packing tensor %s (%v, %d MiB packed) would exceed the memory budget: what does not fit runs on the slow reference path", name, t, n>>20))
	}
	l.slow++
	return false
}

// packReencoded rewrites b (a type with a quant.Reencoded type) as blocks
// of that type that decode to the same floats and packs those. It returns
// nil, with l.err unset, when some block has no exact counterpart (a
// scale that is not finite, an MXFP4 scale outside float16) or the
// rewrite does not fit the budget: b then stays the reference path.
func (l *loader) packReencoded(name string, b *Blocks) Matrix {
	to, _ := quant.Reencoded(b.Type)
	rb, err := to.RowBytes(b.K)
	if err != nil {
		l.err = fmt.Errorf("gemma3: tensor %s: %w", name, err)
		return nil
	}
	size := int64(b.N) * int64(rb)
	if !l.fits(name, b.Type, 2*size) { // the rewritten blocks, then their tiles
		return nil
	}
	l.converted += size
	defer func() { l.converted -= size }() // q is garbage once packed: pack counts the tiles
	q := make([]byte, size)
	if ok, err := quant.Reencode(b.Type, q, b.Data); err != nil || !ok {
		if err != nil {
			l.err = fmt.Errorf("gemma3: tensor %s: %w", name, err)
		} else if l.opt.Notice != nil {
			l.opt.Notice(fmt.Sprintf("gemma3: tensor %s (%v) has a block with no exact %v counterpart: it runs on the slow reference path", name, b.Type, to))
		}
		return nil
	}
	qb, err := NewBlocks(to, b.N, b.K, q)
	if err != nil {
		l.err = fmt.Errorf("gemma3: tensor %s: %w", name, err)
		return nil
	}
	if l.mapped(b.Data) {
		releasePages(b.Data)
	}
	p := l.pack(name, []*Blocks{qb})
	if p == nil {
		return nil
	}
	return p
}

// own copies tensor name's file-mapped bytes into the process's memory, a
// chunk at a time on the worker pool, releasing each chunk's file pages
// once copied, so that the file's pages and the copy are not both resident
// (LoadOptions.Mapped). The copy asks for huge pages and maps each chunk
// of the file in one call: on a 2-vCPU VM a 1.9 GB F16 model loaded in
// 8.3–9.5 s with 4 KiB page faults on both sides and one thread, 2.7–3.9
// with huge pages, populated chunks and both threads (docs/PERFORMANCE.md,
// thirtieth session). It returns
// nil, with l.err set, when the copy does not fit the budget.
func (l *loader) own(name string, data []byte) []byte {
	if !l.charge(name, int64(len(data))) {
		return nil
	}
	dst := make([]byte, len(data))
	mmap.HugePages(dst)
	const chunk = 8 << 20
	n := (len(data) + chunk - 1) / chunk
	err := workerpool.For(l.ctx, n, 1, func(c0, c1 int) {
		for c := c0; c < c1; c++ {
			lo, hi := c*chunk, min((c+1)*chunk, len(data))
			mmap.Populate(data[lo:hi])
			copy(dst[lo:hi], data[lo:hi])
			releasePages(data[lo:hi])
		}
	})
	if err != nil {
		l.err = fmt.Errorf("gemma3: tensor %s: %w", name, err)
		return nil
	}
	return dst
}

// packOptions are the qgemm options of the loader's packings.
func (l *loader) packOptions() qgemm.PackOptions {
	return qgemm.PackOptions{Speed: l.opt.PreferSpeed}
}

// pack repacks blocks (one matrix, or a stack named by its first) after
// checking their encoded size, about the repacked size, against the
// budget; the repacked matrix's real size is what is counted.
func (l *loader) pack(name string, blocks []*Blocks) *Packed {
	var raw int64
	for _, b := range blocks {
		raw += int64(len(b.Data))
	}
	var tiles int64
	for _, b := range blocks {
		tiles += l.packOptions().Bytes(b.Type, b.N, b.K)
	}
	if tiles > raw+raw/8 {
		// Tiles much larger than the file's blocks (the types held as
		// table codes: 1.25–2.8 times; TQ1_0's 2-bit codes, 1.22; IQ2_XS's
		// grid tiles, 1.16; PreferSpeed's forms): where
		// they do not fit, the blocks stay the (slow) reference path
		// rather than fail the load.
		if !l.fits(name, blocks[0].Type, tiles) {
			return nil
		}
		raw = tiles
	}
	if !l.charge(name, raw) {
		return nil
	}
	release := true
	for _, b := range blocks {
		release = release && l.mapped(b.Data)
	}
	p, err := newPacked(blocks, release, l.packOptions())
	if errors.Is(err, qgemm.ErrInexact) {
		// A block the tiles cannot hold (a scale that is not finite): the
		// caller keeps Blocks, which compute what llama.cpp would.
		l.converted -= raw
		if l.opt.Notice != nil && len(blocks) == 1 { // a stack is tried again matrix by matrix
			l.opt.Notice(fmt.Sprintf("gemma3: tensor %s (%v) has a block with a scale that is not finite: it runs on the slow reference path", name, blocks[0].Type))
		}
		return nil
	}
	if err != nil {
		what := "tensor " + name
		if len(blocks) > 1 {
			what = "tensors " + name + "…"
		}
		l.err = fmt.Errorf("gemma3: %s: %w", what, err)
		return nil
	}
	l.converted += p.Bytes() - raw
	return p
}

// stackSpec names one matrix of a stack and its N×K shape.
type stackSpec struct {
	name string
	n, k int
}

// stack loads matrices that read the same input (Q, K, V; Gate, Up). The
// run of them from the first that shares one type, when at least two long
// and not Exact, becomes one stacked matrix: for a PackedType the run is
// packed together into one Packed and its matrices are returned
// individually as their raw Blocks (the reference kernels, for direct
// use); for F16/BF16 the stack reads the Half matrices in place, which are
// returned as well. The other matrices are converted as by matrix. n is the
// length of the run (0 when the stack is nil): with a Q4_0 Q and K and a
// Q5_0 V, Q|K is one kernel call and V another.
func (l *loader) stack(specs ...stackSpec) (out []Matrix, st stacked, n int) {
	out = make([]Matrix, len(specs))
	infos := make([]*gguf.TensorInfo, len(specs))
	datas := make([][]byte, len(specs))
	for i, sp := range specs {
		if infos[i], datas[i] = l.info(sp.name, sp.n, sp.k); infos[i] == nil {
			return nil, nil, 0
		}
	}
	n = 1
	for n < len(specs) && infos[n].Type == infos[0].Type {
		n++
	}
	switch t := infos[0].Type; {
	case n < 2 || l.opt.Exact:
		n = 0
	case PackedType(t):
		blocks := make([]*Blocks, n)
		for i := range n {
			b, err := NewBlocks(t, specs[i].n, specs[i].k, datas[i])
			if err != nil {
				l.err = fmt.Errorf("gemma3: tensor %s: %w", specs[i].name, err)
				return nil, nil, 0
			}
			blocks[i] = b
		}
		p := l.pack(specs[0].name, blocks)
		if p == nil {
			if l.err != nil {
				return nil, nil, 0
			}
			n = 0 // not representable stacked, or over the budget: one by one below
			break
		}
		for i, b := range blocks {
			out[i] = b
			l.progress(infos[i])
		}
		st = p
	case t == quant.F16 || t == quant.BF16:
		hs := make([]*Half, n)
		for i := range n {
			out[i] = l.matrix(specs[i].name, specs[i].n, specs[i].k)
			if hs[i], _ = out[i].(*Half); hs[i] == nil {
				return nil, nil, 0 // l.err is set
			}
		}
		if h := stackHalf(hs...); h != nil {
			st = h
		} else {
			n = 0
		}
	default:
		n = 0
	}
	for i, sp := range specs {
		if out[i] == nil {
			out[i] = l.matrix(sp.name, sp.n, sp.k)
		}
	}
	if l.err != nil {
		return nil, nil, 0
	}
	return out, st, n
}

// float32View returns data as n float32 values without copying when the
// host is little-endian and data is 4-byte aligned, else nil.
func float32View(data []byte, n int) []float32 {
	if len(data) != 4*n || n == 0 || binary.NativeEndian.Uint16([]byte{1, 0}) != 1 ||
		uintptr(unsafe.Pointer(unsafe.SliceData(data)))%4 != 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(data))), n)
}

// extraTensor matches the tensors llama.cpp's loader would use alongside
// a Gemma 3 decoder's matrices but this package does not: biases,
// per-tensor scales (NVFP4 checkpoints' weight_scale_2 and input scales)
// and a fused attn_qkv.
var extraTensor = regexp.MustCompile(`^(?:blk\.\d+\.)?(attn_q|attn_k|attn_v|attn_qkv|attn_output|ffn_gate|ffn_up|ffn_down|output|token_embd)\.(bias|scale|input_scale|weight)$`)

// unsupportedTensor says what a tensor llama.cpp would apply to the
// decoder but Load cannot is ("" for any other tensor): ignoring it would
// give other logits than llama.cpp's.
func unsupportedTensor(name string) string {
	m := extraTensor.FindStringSubmatch(name)
	switch {
	case m == nil:
		return ""
	case m[2] == "bias":
		return "matrix biases"
	case m[2] == "scale" || m[2] == "input_scale":
		return "per-tensor weight and input scales (NVFP4 checkpoints)"
	case m[1] == "attn_qkv":
		return "fused Q/K/V matrices (attn_qkv; separate attn_q, attn_k and attn_v expected)"
	}
	return ""
}
