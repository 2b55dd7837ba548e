package gemma3_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/zerfoo/zerfoo/gguf"
	"github.com/zerfoo/zerfoo/gguf/quant"
	"github.com/zerfoo/zerfoo/models/gemma3"
	"github.com/zerfoo/zerfoo/models/gemma3/gemma3test"
)

// fuzzBudget is the memory budget FuzzLoadDecode loads with; a file that
// would need more must fail with an error.
const fuzzBudget = 256 << 20

// stateBudget is the budget of FuzzLoadDecode's States.
const stateBudget = 16 << 20

// fuzzModels are the valid tiny models FuzzLoadDecode starts from (the
// low 7 bits of its model byte, modulo the length; the top bit loads with
// Exact): F32 (dense GEMM), Q8_0 and Q4_0 (stacked super-block tiles), F16
// and BF16 (copied), Q4_K and Q6_K (super-block tiles), IQ4_NL, and the
// decode-only IQ2_XXS and IQ1_M (Blocks). The super-block types need K a
// multiple of 256. The order is part of the seed corpus's meaning: append,
// never reorder.
var fuzzModels = []gemma3test.Options{
	{Type: quant.F32, Config: fuzzConfig(32, 64, 16)},
	{Type: quant.Q8_0, Config: fuzzConfig(32, 64, 16)},
	{Type: quant.F16, Config: fuzzConfig(32, 64, 16)},
	{Type: quant.Q4_K, Config: fuzzConfig(256, 256, 128)},
	{Type: quant.Q4_0, Config: fuzzConfig(32, 64, 16)},
	{Type: quant.BF16, Config: fuzzConfig(32, 64, 16)},
	{Type: quant.Q6_K, Config: fuzzConfig(256, 256, 128)},
	{Type: quant.IQ4_NL, Config: fuzzConfig(32, 64, 16)},
	{Type: quant.IQ2_XXS, Config: fuzzConfig(256, 256, 128)},
	{Type: quant.IQ1_M, Config: fuzzConfig(256, 256, 128)},
}

func fuzzConfig(hidden, ffn, headDim int) gemma3.Config {
	c := gemma3test.Config()
	c.Layers, c.Hidden, c.FFN, c.Heads, c.KVHeads, c.HeadDim = 2, hidden, ffn, 2, 1, headDim
	c.Context, c.Window, c.Period = 32, 4, 2
	return c
}

var fuzzBase = sync.OnceValues(func() ([][]byte, error) {
	var files [][]byte
	for i, o := range fuzzModels {
		o.Seed = uint64(i + 1)
		b, err := gemma3test.Build(o)
		if err != nil {
			return nil, err
		}
		// Layer 1 global (gemma3test leaves the pattern at its default 6).
		if err := b.Set("gemma3.attention.sliding_window_pattern", uint32(o.Config.Period)); err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		if _, err := b.WriteTo(&buf); err != nil {
			return nil, err
		}
		files = append(files, buf.Bytes())
	}
	return files, nil
})

// fuzzKeys are the metadata keys an edit can name (key index % len). The
// order is part of the seed corpus's meaning: append, never reorder.
var fuzzKeys = []string{
	"general.architecture",                    // 0
	"general.alignment",                       // 1
	"gemma3.context_length",                   // 2
	"gemma3.embedding_length",                 // 3
	"gemma3.block_count",                      // 4
	"gemma3.feed_forward_length",              // 5
	"gemma3.attention.head_count",             // 6
	"gemma3.attention.head_count_kv",          // 7
	"gemma3.attention.key_length",             // 8
	"gemma3.attention.value_length",           // 9
	"gemma3.attention.layer_norm_rms_epsilon", // 10
	"gemma3.rope.freq_base",                   // 11
	"gemma3.attention.sliding_window",         // 12
	"gemma3.rope.scaling.type",                // 13
	"gemma3.rope.scaling.factor",              // 14
	"gemma3.rope.freq_base_swa",               // 15
	"gemma3.attention.sliding_window_pattern", // 16
	"tokenizer.ggml.tokens",                   // 17
	"tokenizer.ggml.scores",                   // 18
	"tokenizer.ggml.token_type",               // 19
}

// Edits, one per 11-byte record of FuzzLoadDecode's ops: kind (% the
// number of kinds), a, b, then a little-endian uint64 value v.
const (
	editInt    = iota // key a := v as integer type b (% 8: u8 i8 u16 i16 u32 i32 u64 i64)
	editFloat         // key a := float32 (b even) or float64 with the bits of v
	editString        // key a := a string of v % 64 bytes
	editArray         // key a := an array of v % 1024 elements of value type b (% 13)
	editDelete        // delete key a
	editDims          // tensor a: dimension b % 4 := v (b % 5 == 4: the dimension count := v % 8)
	editType          // tensor a: type := uint32(v)
	editOffset        // tensor a: data offset := v
	editPoke          // header byte v % (header length) := b
	editData          // tensor data byte v % (data length) := b
	numEdits
)

const editLen = 11

// edit is one decoded record.
type edit struct {
	kind, a, b uint8
	v          uint64
}

func edits(ops []byte) []edit {
	var es []edit
	for ; len(ops) >= editLen; ops = ops[editLen:] {
		es = append(es, edit{ops[0] % numEdits, ops[1], ops[2], binary.LittleEndian.Uint64(ops[3:])})
	}
	return es
}

// encodeEdits is the inverse of edits, for seeds.
func encodeEdits(es ...edit) []byte {
	var b []byte
	for _, e := range es {
		b = append(b, e.kind, e.a, e.b)
		b = binary.LittleEndian.AppendUint64(b, e.v)
	}
	return b
}

// mutate applies the edits to base, a valid GGUF file: the metadata edits
// through a gguf.Builder (edits it refuses are skipped), then the tensor
// info and byte edits on the written file.
func mutate(t *testing.T, base []byte, es []edit) []byte {
	f, err := gguf.Read(base)
	if err != nil {
		t.Fatal(err)
	}
	deleted := map[string]bool{}
	vals := map[string]any{}
	for _, e := range es {
		key := fuzzKeys[int(e.a)%len(fuzzKeys)]
		switch e.kind {
		case editInt:
			if key == gguf.KeyAlignment && uint32(e.v) > 1<<12 {
				continue // the Builder would pad each tensor to gigabytes
			}
			vals[key] = [...]any{uint8(e.v), int8(e.v), uint16(e.v), int16(e.v), uint32(e.v), int32(e.v), e.v, int64(e.v)}[e.b%8]
		case editFloat:
			if e.b%2 == 0 {
				vals[key] = math.Float32frombits(uint32(e.v))
			} else {
				vals[key] = math.Float64frombits(e.v)
			}
		case editString:
			vals[key] = strings.Repeat("x", int(e.v%64))
		case editArray:
			vals[key] = array(gguf.ValueType(e.b%13), int(e.v%1024))
		case editDelete:
			deleted[key] = true
			delete(vals, key)
			continue
		default:
			continue
		}
		delete(deleted, key)
	}
	b := gguf.NewBuilder()
	for _, kv := range f.Metadata {
		if deleted[kv.Key] {
			continue
		}
		v := any(kv.Value)
		if nv, ok := vals[kv.Key]; ok {
			v = nv
		}
		if b.Set(kv.Key, v) != nil {
			b.Set(kv.Key, kv.Value)
		}
	}
	for _, key := range fuzzKeys {
		if v, ok := vals[key]; ok {
			if _, had := f.Lookup(key); !had {
				b.Set(key, v)
			}
		}
	}
	for _, ti := range f.Tensors {
		d, _ := f.TensorData(ti.Name)
		if err := b.AddTensor(ti.Name, ti.Type, ti.Dims, d); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := b.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	file := buf.Bytes()
	infos, end := tensorInfos(file)
	for _, e := range es {
		switch e.kind {
		case editDims, editType, editOffset:
			if len(infos) == 0 {
				continue
			}
			ti := infos[int(e.a)%len(infos)]
			switch {
			case e.kind == editType:
				binary.LittleEndian.PutUint32(file[ti.typ:], uint32(e.v))
			case e.kind == editOffset:
				binary.LittleEndian.PutUint64(file[ti.off:], e.v)
			case e.b%5 == 4:
				binary.LittleEndian.PutUint32(file[ti.nd:], uint32(e.v%8))
			case int(e.b%5) < ti.ndims:
				binary.LittleEndian.PutUint64(file[ti.nd+4+8*int(e.b%5):], e.v)
			}
		case editPoke:
			file[e.v%uint64(end)] = e.b
		case editData:
			if n := uint64(len(file) - end); n > 0 {
				file[uint64(end)+e.v%n] = e.b
			}
		}
	}
	return file
}

// array returns n elements of value type et as a Go slice Builder.Set
// takes.
func array(et gguf.ValueType, n int) any {
	switch et {
	case gguf.TypeUint8:
		return make([]uint8, n)
	case gguf.TypeInt8:
		return make([]int8, n)
	case gguf.TypeUint16:
		return make([]uint16, n)
	case gguf.TypeInt16:
		return make([]int16, n)
	case gguf.TypeUint32:
		return make([]uint32, n)
	case gguf.TypeInt32:
		return make([]int32, n)
	case gguf.TypeFloat32:
		return make([]float32, n)
	case gguf.TypeBool:
		return make([]bool, n)
	case gguf.TypeString:
		s := make([]string, n)
		for i := range s {
			s[i] = "x"
		}
		return s
	case gguf.TypeUint64:
		return make([]uint64, n)
	case gguf.TypeInt64:
		return make([]int64, n)
	case gguf.TypeFloat64:
		return make([]float64, n)
	}
	return make([]gguf.Array, min(n, 4))
}

// tensorInfo holds the byte offsets of one tensor info's fields.
type tensorInfo struct{ nd, ndims, typ, off int }

// tensorInfos walks the header of a valid GGUF file and returns where each
// tensor info's fields are, and where the tensor infos end.
func tensorInfos(b []byte) ([]tensorInfo, int) {
	p := 8
	u32 := func() uint32 { p += 4; return binary.LittleEndian.Uint32(b[p-4:]) }
	u64 := func() uint64 { p += 8; return binary.LittleEndian.Uint64(b[p-8:]) }
	nt, nkv := u64(), u64()
	var skip func(t gguf.ValueType)
	skip = func(t gguf.ValueType) {
		switch t {
		case gguf.TypeUint8, gguf.TypeInt8, gguf.TypeBool:
			p++
		case gguf.TypeUint16, gguf.TypeInt16:
			p += 2
		case gguf.TypeUint32, gguf.TypeInt32, gguf.TypeFloat32:
			p += 4
		case gguf.TypeUint64, gguf.TypeInt64, gguf.TypeFloat64:
			p += 8
		case gguf.TypeString:
			p += int(u64())
		case gguf.TypeArray:
			et := gguf.ValueType(u32())
			for n := u64(); n > 0; n-- {
				skip(et)
			}
		}
	}
	for ; nkv > 0; nkv-- {
		p += int(u64()) // key
		skip(gguf.ValueType(u32()))
	}
	var infos []tensorInfo
	for ; nt > 0; nt-- {
		p += int(u64()) // name
		ti := tensorInfo{nd: p}
		ti.ndims = int(u32())
		p += 8 * ti.ndims
		ti.typ = p
		ti.off = p + 4
		p += 12
		infos = append(infos, ti)
	}
	return infos, p
}

func totalAlloc() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// FuzzLoadDecode loads edited tiny models (see mutate) with a 256 MiB
// budget and, when one loads, runs a two-token prompt and one decode
// step in a State of the whole context (16 MiB budget). Success and a one-line error are the only acceptable outcomes:
// never a panic, a hang, or an allocation of more than twice the budget.
func FuzzLoadDecode(f *testing.F) {
	for m := range fuzzModels {
		f.Add(uint8(m), []byte(nil))
		f.Add(uint8(m)|0x80, []byte(nil))
	}
	for _, es := range [][]edit{
		{{editInt, 12, 7, math.MaxInt64}},                                    // issue 16: sliding_window MaxInt64
		{{editInt, 2, 6, math.MaxUint64}},                                    // context_length 2^64 − 1
		{{editInt, 12, 4, 1 << 20}},                                          // a window longer than the context: clamped
		{{editDims, 0, 1, 1 << 40}},                                          // token_embd.weight with 2^40 rows
		{{editInt, 2, 4, 1 << 20}},                                           // a KV cache of 2^20 positions: over the State's budget
		{{editInt, 16, 4, 1}, {editInt, 4, 4, 1024}},                         // every layer global; 1024 layers declared, 2 present
		{{editFloat, 10, 0, uint64(math.Float32bits(float32(math.Inf(1))))}}, // eps +Inf
		{{editArray, 17, 8, 3}},                                              // three tokens
	} {
		f.Add(uint8(0), encodeEdits(es...))
	}
	// Tensor types of the same block size (tensor indices: 0 token_embd,
	// 1 output_norm, 2… blk.0's attn_norm, attn_q, attn_k, attn_v, …).
	for _, s := range []struct {
		model uint8
		es    []edit
	}{
		{4, []edit{{editType, 3, 0, uint64(quant.IQ4_NL)}}},         // Q4_0 attn_q as IQ4_NL: no Q|K|V stack
		{4, []edit{{editType, 0, 0, uint64(quant.IQ4_NL)}}},         // the embedding (and LM head) as IQ4_NL
		{2, []edit{{editType, 0, 0, uint64(quant.BF16)}}},           // F16 embedding read as BF16
		{8, []edit{{editType, 3, 0, uint64(quant.TQ2_0)}}},          // IQ2_XXS attn_q as TQ2_0
		{8 | 0x80, []edit{{editType, 11, 0, uint64(quant.TQ2_0)}}},  // the same for ffn_gate, Exact
		{0, []edit{{editType, 1, 0, uint64(quant.I32)}}},            // a norm as I32: not decodable
		{0, []edit{{editData, 0, 0xff, 3}, {editData, 0, 0xff, 2}}}, // a NaN in the embedding
		{3, []edit{{editData, 0, 0x7c, 1}, {editData, 0, 0x00, 0}}}, // an Inf block scale
	} {
		f.Add(s.model, encodeEdits(s.es...))
	}
	f.Fuzz(func(t *testing.T, model uint8, ops []byte) {
		bases, err := fuzzBase()
		if err != nil {
			t.Fatal(err)
		}
		file := mutate(t, bases[int(model&0x7f)%len(bases)], edits(ops))
		path := filepath.Join(t.TempDir(), "m.gguf")
		if err := os.WriteFile(path, file, 0o644); err != nil {
			t.Fatal(err)
		}
		before := totalAlloc()
		defer func() {
			if got := totalAlloc() - before; got > 2*fuzzBudget {
				t.Fatalf("allocated %d bytes, budget %d", got, fuzzBudget)
			}
		}()
		oneLine := func(err error) {
			if err != nil && strings.Contains(err.Error(), "\n") {
				t.Fatalf("error of more than one line: %q", err)
			}
		}
		m, err := gemma3.Load(path, gemma3.LoadOptions{Budget: fuzzBudget, Exact: model&0x80 != 0})
		if err != nil && len(ops) < editLen {
			t.Fatalf("unedited model %d: %v", model, err)
		}
		if err != nil {
			oneLine(err)
			return
		}
		defer m.Close()
		// The whole context, within a smaller budget: a long context_length
		// must fail here, with an error naming the KV cache.
		s := m.NewState(gemma3.StateOptions{Budget: stateBudget})
		if err := s.Err(); err != nil {
			oneLine(err)
			return
		}
		tok := int32(min(107, m.Config.Vocab-1))
		logits := make([]float32, m.Config.Vocab)
		ctx := context.Background()
		err = s.Forward(ctx, []int32{0, tok}, logits)
		if err == nil {
			err = s.Forward(ctx, []int32{tok}, logits)
		}
		if err != nil && len(ops) < editLen {
			t.Fatalf("unedited model %d: %v", model, err)
		}
		oneLine(err)
	})
}
