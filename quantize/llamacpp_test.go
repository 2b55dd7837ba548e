package quantize

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/gguf"
	"github.com/zerfoo/zerfoo/gguf/quant"
	"github.com/zerfoo/zerfoo/models/gemma3"
	"github.com/zerfoo/zerfoo/models/gemma3/gemma3test"
)

// The llama-quantize oracle (tools/llamacpp/quantize_mixes.sh) runs this
// test binary twice around llama-quantize and `zerfoo quantize`: first with
// -mixes.write to write the input models into -mixes.dir, then to compare
// the outputs there (and, with -mixes.record, rewrite the golden file).
var (
	mixesDir    = flag.String("mixes.dir", "", "working directory of tools/llamacpp/quantize_mixes.sh")
	mixesWrite  = flag.Bool("mixes.write", false, "write the oracle's input models into -mixes.dir")
	mixesRecord = flag.Bool("mixes.record", false, "rewrite "+mixesGolden+" from the llama-quantize outputs in -mixes.dir")
	mixesAll    = flag.Bool("mixes.all", false, "TestLlamaQuantizeGolden: check every golden file byte for byte, not a sample")
)

const mixesGolden = "../testdata/quantize/llamacpp_mixes.json"

// oracleModel is one input of the oracle. Quantized models are random
// Gemma 3 weights small enough to quantize quickly; dry-run models are
// full-size tensor tables of zeros (written as sparse files) that
// llama-quantize only plans with --dry-run.
type oracleModel struct {
	Name   string
	DryRun bool
	config gemma3.Config
	typ    quant.Type
}

// tiny640 has Gemma 3 270m's hidden size (640, not a multiple of 256, so
// the fallbacks fire), 4 query heads sharing 1 KV head, 8 layers, and rows
// of 256 for attn_output and ffn_down so that those stay K-quants.
func tiny640() gemma3.Config {
	c := gemma3test.Config()
	c.Layers, c.Hidden, c.FFN, c.Heads, c.KVHeads, c.HeadDim = 8, 640, 256, 4, 1, 64
	return c
}

func oracleModels(t *testing.T) []oracleModel {
	c270, _ := preset(t, "270m")
	c1b, _ := preset(t, "1b")
	c4b, _ := preset(t, "4b")
	return []oracleModel{
		{Name: "tiny640-F32", config: tiny640(), typ: quant.F32},
		{Name: "tiny640-F16", config: tiny640(), typ: quant.F16},
		{Name: "tiny256-F32", config: gemma3test.Config(), typ: quant.F32},
		{Name: "270m-F16", DryRun: true, config: c270, typ: quant.F16},
		{Name: "1b-F16", DryRun: true, config: c1b, typ: quant.F16},
		{Name: "4b-F16", DryRun: true, config: c4b, typ: quant.F16},
	}
}

// oracleMixes are the mixes the oracle runs: every GGUF type.
func oracleMixes() []Type {
	var m []Type
	for _, t := range Types {
		if !t.IsONNX() {
			m = append(m, t)
		}
	}
	return m
}

// buildModel returns the GGUF bytes of a quantized-oracle model.
func buildModel(m oracleModel) ([]byte, error) {
	b, err := gemma3test.Build(gemma3test.Options{Config: m.config, Type: m.typ, Seed: 1})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := b.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeSkeleton writes a dry-run model: the tiny model's metadata with
// m's shapes, and every tensor of gemmaTensors(m.config) in m.typ holding
// zeros, as a sparse file.
func writeSkeleton(path string, m oracleModel) error {
	small, err := buildModel(oracleModel{config: gemma3test.Config(), typ: quant.F32})
	if err != nil {
		return err
	}
	sf, err := gguf.Read(small)
	if err != nil {
		return err
	}
	c := m.config
	over := map[string]uint32{
		"gemma3.context_length": uint32(c.Context), "gemma3.embedding_length": uint32(c.Hidden),
		"gemma3.block_count": uint32(c.Layers), "gemma3.feed_forward_length": uint32(c.FFN),
		"gemma3.attention.head_count": uint32(c.Heads), "gemma3.attention.head_count_kv": uint32(c.KVHeads),
		"gemma3.attention.key_length": uint32(c.HeadDim), "gemma3.attention.value_length": uint32(c.HeadDim),
	}
	b := gguf.NewBuilder()
	for _, kv := range sf.Metadata {
		v := kv.Value
		if u, ok := over[kv.Key]; ok {
			v = gguf.Value{Type: gguf.TypeUint32, V: u}
		}
		if err := b.Set(kv.Key, v); err != nil {
			return err
		}
	}
	ts := gemmaTensors(c)
	var most int64
	for i := range ts {
		most = max(most, ts[i].Elements())
	}
	zeros := make([]byte, most*int64(m.typ.BlockBytes()))
	for _, ti := range ts {
		typ := m.typ
		if len(ti.Dims) == 1 {
			typ = quant.F32
		}
		if err := b.AddTensor(ti.Name, typ, ti.Dims, zeros[:ti.Elements()*int64(typ.BlockBytes())]); err != nil {
			return err
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := &sparseWriter{f: f}
	if _, err := b.WriteTo(w); err != nil {
		f.Close()
		return err
	}
	if err := f.Truncate(w.off); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// sparseWriter writes to f, seeking over 64 KiB chunks of zeros.
type sparseWriter struct {
	f   *os.File
	off int64
}

var zeroChunk [1 << 16]byte

func (w *sparseWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		c := p[:min(len(p), len(zeroChunk))]
		if !bytes.Equal(c, zeroChunk[:len(c)]) {
			if _, err := w.f.WriteAt(c, w.off); err != nil {
				return 0, err
			}
		}
		w.off += int64(len(c))
		p = p[len(c):]
	}
	return n, nil
}

// oracleGolden is testdata/quantize/llamacpp_mixes.json.
type oracleGolden struct {
	LlamaCpp  string          `json:"llama_cpp"`
	Generator string          `json:"generator"`
	Models    []oracleRecords `json:"models"`
}

type oracleRecords struct {
	Model   string         `json:"model"`
	DryRun  bool           `json:"dry_run,omitempty"`
	Tensors []string       `json:"tensors"` // llama-quantize's order
	Mixes   []oracleRecord `json:"mixes"`
}

// oracleRecord is what llama-quantize made of one model and mix: the type
// of each tensor (in Tensors' order, space-separated), the SHA-256 of the
// file and of its data section, and whether Zerfoo's output was
// byte-identical when recorded (with the reason when not).
type oracleRecord struct {
	Mix        Type   `json:"mix"`
	Types      string `json:"types"`
	SHA256     string `json:"sha256,omitempty"`
	DataSHA256 string `json:"data_sha256,omitempty"`
	Identical  bool   `json:"identical"`
	Note       string `json:"note,omitempty"`
}

// TestLlamaQuantizeMixes is the oracle's side in Go (see the flags); it is
// skipped without -mixes.dir.
func TestLlamaQuantizeMixes(t *testing.T) {
	if *mixesDir == "" {
		t.Skip("run by tools/llamacpp/quantize_mixes.sh (-mixes.dir)")
	}
	dir := *mixesDir
	if *mixesWrite {
		for _, m := range oracleModels(t) {
			path := filepath.Join(dir, m.Name+".gguf")
			if m.DryRun {
				if err := writeSkeleton(path, m); err != nil {
					t.Fatal(err)
				}
				continue
			}
			data, err := buildModel(m)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	g := oracleGolden{LlamaCpp: "80fb11a", Generator: "tools/llamacpp/quantize_mixes.sh"}
	var summary strings.Builder
	for _, m := range oracleModels(t) {
		rec := oracleRecords{Model: m.Name, DryRun: m.DryRun}
		for _, mix := range oracleMixes() {
			r, names, err := oracleCompare(t, dir, m, mix, &summary)
			if err != nil {
				t.Errorf("%s %s: %v", m.Name, mix, err)
				continue
			}
			if rec.Tensors == nil {
				rec.Tensors = names
			} else if !reflect.DeepEqual(rec.Tensors, names) {
				t.Errorf("%s %s: llama-quantize's tensor order differs from the other mixes'", m.Name, mix)
			}
			rec.Mixes = append(rec.Mixes, r)
		}
		g.Models = append(g.Models, rec)
	}
	t.Logf("summary:\n%s", summary.String())
	if *mixesRecord {
		js, err := json.MarshalIndent(g, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(mixesGolden, append(js, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// oracleCompare compares llama-quantize's output for m and mix in dir with
// Zerfoo's, writes one summary line, and returns the record and
// llama-quantize's tensor order. Dry-run models compare the plan with the
// types in llama-quantize's log.
func oracleCompare(t *testing.T, dir string, m oracleModel, mix Type, summary io.Writer) (oracleRecord, []string, error) {
	r := oracleRecord{Mix: mix}
	if m.DryRun {
		log, err := os.ReadFile(filepath.Join(dir, m.Name+".dry."+string(mix)+".log"))
		if err != nil {
			return r, nil, err
		}
		names, types, err := parseDryRun(log)
		if err != nil {
			return r, nil, err
		}
		r.Types = strings.Join(types, " ")
		mx, _ := LookupMix(mix)
		_, g := preset(t, strings.TrimSuffix(m.Name, "-F16"))
		got := planTypes(plan(mx, skeletonTensors(m), g))
		r.Identical = got == r.Types
		fmt.Fprintf(summary, "%-12s %-7s dry run: plan %s\n", m.Name, mix, map[bool]string{true: "identical", false: "DIFFERS"}[r.Identical])
		if !r.Identical {
			r.Note = "plan differs: " + firstDiff(got, r.Types, names)
		}
		return r, names, nil
	}
	lpath := filepath.Join(dir, m.Name+".llama."+string(mix)+".gguf")
	zpath := filepath.Join(dir, m.Name+".zerfoo."+string(mix)+".gguf")
	ldata, err := os.ReadFile(lpath)
	if err != nil {
		return r, nil, fmt.Errorf("llama-quantize output: %w", err)
	}
	lf, err := gguf.Read(ldata)
	if err != nil {
		return r, nil, err
	}
	var names, types []string
	for _, ti := range lf.Tensors {
		names = append(names, ti.Name)
		types = append(types, ti.Type.String())
	}
	r.Types = strings.Join(types, " ")
	r.SHA256 = sha(ldata)
	r.DataSHA256 = sha(ldata[lf.DataOffset:])
	zdata, err := os.ReadFile(zpath)
	if errors.Is(err, os.ErrNotExist) {
		r.Note = "zerfoo quantize failed (see the script's log)"
		fmt.Fprintf(summary, "%-12s %-7s %s\n", m.Name, mix, r.Note)
		return r, names, nil
	} else if err != nil {
		return r, nil, err
	}
	r.Identical = bytes.Equal(ldata, zdata)
	if r.Identical {
		fmt.Fprintf(summary, "%-12s %-7s byte-identical (%d bytes)\n", m.Name, mix, len(ldata))
		return r, names, nil
	}
	zf, err := gguf.Read(zdata)
	if err != nil {
		return r, nil, err
	}
	diffs := ggufDiff(lf, zf)
	r.Note = strings.Join(diffs, "; ")
	fmt.Fprintf(summary, "%-12s %-7s DIFFERS (%d vs %d bytes): %s\n", m.Name, mix, len(ldata), len(zdata), r.Note)
	return r, names, nil
}

// skeletonTensors is the tensor table writeSkeleton writes for m.
func skeletonTensors(m oracleModel) []gguf.TensorInfo {
	ts := gemmaTensors(m.config)
	for i := range ts {
		if len(ts[i].Dims) > 1 {
			ts[i].Type = m.typ
		}
	}
	return ts
}

func planTypes(p []plannedTensor) string {
	s := make([]string, len(p))
	for i, t := range p {
		s[i] = t.typ.String()
	}
	return strings.Join(s, " ")
}

// firstDiff names the first tensor whose type differs between two type
// lists.
func firstDiff(got, want string, names []string) string {
	g, w := strings.Fields(got), strings.Fields(want)
	for i := range min(len(g), len(w), len(names)) {
		if g[i] != w[i] {
			return fmt.Sprintf("%s: %s, llama-quantize %s", names[i], g[i], w[i])
		}
	}
	return fmt.Sprintf("%d types, llama-quantize %d", len(g), len(w))
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// dryRunLine matches llama-quantize's per-tensor progress line: name,
// input type and, when converted, the output type in parentheses.
var dryRunLine = regexp.MustCompile(`^\[\s*\d+/\s*\d+\]\s+(\S+)\s+- \[[^\]]*\], type =\s+(\S+), size =[^(]*(?:\((\S+)\))?\s*$`)

// parseDryRun returns the tensor names and output types (quant.Type names)
// from a llama-quantize --dry-run log.
func parseDryRun(log []byte) (names, types []string, err error) {
	sc := bufio.NewScanner(bytes.NewReader(log))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		m := dryRunLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		typ := m[2]
		if m[3] != "" {
			typ = m[3]
		}
		names = append(names, m[1])
		types = append(types, ggmlName(typ))
	}
	if len(names) == 0 {
		return nil, nil, errors.New("no tensor lines in the dry-run log")
	}
	return names, types, sc.Err()
}

// ggmlName maps ggml_type_name ("q4_K") to quant.Type's String ("Q4_K").
func ggmlName(s string) string {
	for t := quant.Type(0); t < 64; t++ {
		if t.Known() && strings.EqualFold(t.String(), s) {
			return t.String()
		}
	}
	return s
}

// ggufDiff lists how two GGUF files differ: metadata (keys, order, types,
// values), alignment and data offset, and per tensor name, type, shape,
// offset and data bytes.
func ggufDiff(want, got *gguf.File) []string {
	var d []string
	if len(want.Metadata) != len(got.Metadata) {
		d = append(d, fmt.Sprintf("%d metadata entries, llama-quantize %d", len(got.Metadata), len(want.Metadata)))
	}
	for i := range min(len(want.Metadata), len(got.Metadata)) {
		w, g := want.Metadata[i], got.Metadata[i]
		if w.Key != g.Key || w.Value.Type != g.Value.Type || !reflect.DeepEqual(w.Value.V, g.Value.V) {
			d = append(d, fmt.Sprintf("metadata %d: %s %s %.60s, llama-quantize %s %s %.60s", i, g.Key, g.Value.Type, g.Value, w.Key, w.Value.Type, w.Value))
			break
		}
	}
	if want.Alignment != got.Alignment || want.DataOffset != got.DataOffset {
		d = append(d, fmt.Sprintf("alignment %d, data at %d; llama-quantize %d, %d", got.Alignment, got.DataOffset, want.Alignment, want.DataOffset))
	}
	if len(want.Tensors) != len(got.Tensors) {
		d = append(d, fmt.Sprintf("%d tensors, llama-quantize %d", len(got.Tensors), len(want.Tensors)))
	}
	for i := range min(len(want.Tensors), len(got.Tensors)) {
		w, g := &want.Tensors[i], &got.Tensors[i]
		switch {
		case w.Name != g.Name:
			d = append(d, fmt.Sprintf("tensor %d: %s, llama-quantize %s", i, g.Name, w.Name))
		case w.Type != g.Type || !reflect.DeepEqual(w.Dims, g.Dims) || w.Offset != g.Offset:
			d = append(d, fmt.Sprintf("%s: %v %v at %d, llama-quantize %v %v at %d", w.Name, g.Type, g.Dims, g.Offset, w.Type, w.Dims, w.Offset))
		default:
			wd, _ := want.TensorData(w.Name)
			gd, _ := got.TensorData(g.Name)
			if !bytes.Equal(wd, gd) {
				d = append(d, fmt.Sprintf("%s (%v): %s", w.Name, w.Type, blockDiff(w.Type, wd, gd)))
			}
		}
	}
	if len(d) == 0 {
		d = append(d, "headers and tensor data equal: padding differs")
	}
	return d
}

// blockDiff counts the blocks of type t that differ between a and b and
// describes the first, with the largest difference of the decoded values.
func blockDiff(t quant.Type, a, b []byte) string {
	bb := t.BlockBytes()
	n, first := 0, -1
	for i := 0; i+bb <= len(a) && i+bb <= len(b); i += bb {
		if !bytes.Equal(a[i:i+bb], b[i:i+bb]) {
			n++
			if first < 0 {
				first = i / bb
			}
		}
	}
	s := fmt.Sprintf("%d of %d blocks differ, first block %d", n, len(a)/bb, first)
	if t.Supported() && first >= 0 {
		x, y := make([]float32, t.BlockSize()), make([]float32, t.BlockSize())
		if quant.Dequantize(t, x, a[first*bb:(first+1)*bb]) == nil && quant.Dequantize(t, y, b[first*bb:(first+1)*bb]) == nil {
			var m float64
			for i := range x {
				m = max(m, math.Abs(float64(x[i]-y[i])))
			}
			s += fmt.Sprintf(" (max |Δ| %.3g there)", m)
		}
	}
	return s
}

// checkBytes chooses the byte-for-byte checks TestLlamaQuantizeGolden
// makes without -mixes.all, to keep the test to seconds: every mix once,
// IQ4_NL and IQ4_XS (slow quantizers) on the smaller tiny256 only; on the
// F16 input, which adds only its decoding, four mixes; with -short, Q4_K_M
// and Q8_0 on tiny640-F32.
func checkBytes(m oracleModel, mix Type) bool {
	switch {
	case testing.Short():
		return m.Name == "tiny640-F32" && (mix == Q4_K_M || mix == Q8_0)
	case m.typ == quant.F16:
		return mix == Q4_K_M || mix == Q8_0 || mix == F32 || mix == BF16
	case mix == IQ4_NL || mix == IQ4_XS:
		return m.Name == "tiny256-F32"
	}
	return true
}

// TestLlamaQuantizeGolden checks Zerfoo against what llama-quantize wrote
// when the golden file was recorded, without llama.cpp: every plan against
// llama-quantize's tensor types, and, for the mixes that were
// byte-identical, the SHA-256 of the whole file (a sample of them, see
// checkBytes; all with -mixes.all).
func TestLlamaQuantizeGolden(t *testing.T) {
	raw, err := os.ReadFile(mixesGolden)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("%s not recorded yet (tools/llamacpp/quantize_mixes.sh)", mixesGolden)
	} else if err != nil {
		t.Fatal(err)
	}
	var g oracleGolden
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	models := map[string]oracleModel{}
	for _, m := range oracleModels(t) {
		models[m.Name] = m
	}
	for _, rec := range g.Models {
		m, ok := models[rec.Model]
		if !ok {
			t.Errorf("golden model %s unknown", rec.Model)
			continue
		}
		t.Run(rec.Model, func(t *testing.T) {
			var f *gguf.File
			var ts []gguf.TensorInfo
			var geo Geometry
			if m.DryRun {
				ts = skeletonTensors(m)
				_, geo = preset(t, strings.TrimSuffix(m.Name, "-F16"))
			} else {
				data, err := buildModel(m)
				if err != nil {
					t.Fatal(err)
				}
				if f, err = gguf.Read(data); err != nil {
					t.Fatal(err)
				}
				ts = f.Tensors
				if geo, err = geometryOf(f); err != nil {
					t.Fatal(err)
				}
			}
			for _, r := range rec.Mixes {
				mx, ok := LookupMix(r.Mix)
				if !ok {
					t.Errorf("golden mix %s unknown", r.Mix)
					continue
				}
				p := plan(mx, ts, geo)
				var names []string
				for _, pt := range p {
					names = append(names, pt.info.Name)
				}
				if !reflect.DeepEqual(names, rec.Tensors) {
					t.Errorf("%s: tensor order differs from llama-quantize's", r.Mix)
				}
				if got := planTypes(p); got != r.Types {
					t.Errorf("%s: plan differs from llama-quantize: %s", r.Mix, firstDiff(got, r.Types, rec.Tensors))
				}
				if m.DryRun {
					continue
				}
				if !r.Identical {
					t.Logf("%s: not byte-identical to llama-quantize when recorded: %s", r.Mix, r.Note)
					continue
				}
				if !*mixesAll && !checkBytes(m, r.Mix) {
					continue
				}
				b := gguf.NewBuilder()
				if _, err := GGUF(context.Background(), f, b, Options{Type: r.Mix}); err != nil {
					t.Errorf("%s: %v", r.Mix, err)
					continue
				}
				var buf bytes.Buffer
				if _, err := b.WriteTo(&buf); err != nil {
					t.Fatal(err)
				}
				if s := sha(buf.Bytes()); s != r.SHA256 {
					t.Errorf("%s: SHA-256 %s, llama-quantize's %s", r.Mix, s, r.SHA256)
				}
			}
		})
	}
}
