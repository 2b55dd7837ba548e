//go:build linux

package integration

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/zerfoo/zerfoo/internal/defaultmodel"
	"github.com/zerfoo/zerfoo/npy"
	"github.com/zerfoo/zerfoo/onnx/onnxpb"
	"github.com/zerfoo/zerfoo/tensor"
)

// The corrupted-file sweep: every variant runs through the real CLI binary
// under a small memory budget. A variant may load, run or fail, but the
// process must exit 0 or 1 (never a Go panic or fatal error, which exit 2),
// finish within the timeout, and stay within the budget plus the runtime's
// own footprint.
const (
	corruptVariants = 200
	corruptBudget   = 64 << 20
	corruptMaxRSS   = 100 << 20 // peak RSS of the process, bytes
	corruptTimeout  = 60 * time.Second
)

var (
	cliOnce sync.Once
	cliPath string
	cliErr  error
)

// zerfooBinary builds cmd/zerfoo once per test binary.
func zerfooBinary(t *testing.T) string {
	t.Helper()
	cliOnce.Do(func() {
		dir, err := os.MkdirTemp("", "zerfoo-cli")
		if err != nil {
			cliErr = err
			return
		}
		cliPath = filepath.Join(dir, "zerfoo")
		cmd := exec.Command("go", "build", "-o", cliPath, "../cmd/zerfoo")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			cliErr = fmt.Errorf("go build ./cmd/zerfoo: %v\n%s", err, out)
		}
	})
	if cliErr != nil {
		t.Fatal(cliErr)
	}
	return cliPath
}

type cliRun struct {
	name string   // variant description, for the failure message
	file []byte   // the variant's bytes, kept for a reproducer
	args []string // command line; "{}" is replaced by the variant's path
	// wantFail: the run must end in a clean error (exit 1), not succeed.
	wantFail bool
}

// runCorrupt runs every case through the CLI, a few at a time, and reports
// each one that panicked, hung, exited oddly or grew too large. A failing
// variant is written to the test's temp directory, named in the message.
func runCorrupt(t *testing.T, ext string, runs []cliRun) {
	bin := zerfooBinary(t)
	dir := t.TempDir()
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < max(2, runtime.NumCPU()); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				r := runs[i]
				path := filepath.Join(dir, fmt.Sprintf("v%03d%s", i, ext))
				if err := os.WriteFile(path, r.file, 0o644); err != nil {
					t.Error(err)
					continue
				}
				msg := runOne(bin, path, r.args, dir)
				if msg == "" && r.wantFail && !failed(bin, path, r.args, dir) {
					msg = "succeeded, want an error"
				}
				if msg != "" {
					t.Errorf("variant %d (%s), kept as %s: %s", i, r.name, path, msg)
				} else {
					os.Remove(path)
				}
			}
		}()
	}
	for i := range runs {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
}

func runOne(bin, path string, args []string, dir string) string {
	ctx, cancel := context.WithTimeout(context.Background(), corruptTimeout)
	defer cancel()
	a := expand(args, path)
	// The CLI runs under a copy of this test binary (see TestMain), so that
	// its peak RSS is its own: a child forked straight from this large
	// process would report this process's peak as its own.
	cmd := exec.CommandContext(ctx, os.Args[0], append([]string{bin}, a...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), rssChildEnv+"=1", fmt.Sprintf("ZERFOO_MAX_ALLOC=%d", corruptBudget), "GOTRACEBACK=single")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		return fmt.Sprintf("zerfoo %s: no exit within %v", strings.Join(a, " "), corruptTimeout)
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		return err.Error()
	}
	se := stderr.String()
	if code != 0 && code != 1 || strings.Contains(se, "panic:") || strings.Contains(se, "fatal error:") {
		return fmt.Sprintf("zerfoo %s: exit %d:\n%s", strings.Join(a, " "), code, tail(se, 2000))
	}
	rss, err := strconv.ParseInt(strings.TrimSpace(stdout.String()), 10, 64)
	if err != nil {
		return fmt.Sprintf("zerfoo %s: no peak RSS reported (%q)", strings.Join(a, " "), stdout.String())
	}
	if rss > corruptMaxRSS {
		return fmt.Sprintf("zerfoo %s: peak RSS %d MiB, want under %d MiB", strings.Join(a, " "), rss>>20, corruptMaxRSS>>20)
	}
	return ""
}

// rssChildEnv makes this test binary run the command in its arguments,
// discard its stdout, pass its stderr and exit status through, and print
// the command's peak RSS in bytes.
const rssChildEnv = "ZERFOO_TEST_RSS_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(rssChildEnv) == "" {
		os.Exit(m.Run())
	}
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	err := cmd.Run()
	if cmd.ProcessState == nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	fmt.Println(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss * 1024)
	os.Exit(cmd.ProcessState.ExitCode())
}

// writeTemp writes b to a new file in dir and returns its path.
func writeTemp(t *testing.T, dir string, b []byte) string {
	f, err := os.CreateTemp(dir, "model*.onnx")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

// failed reruns a command and reports whether it exited 1.
func failed(bin, path string, args []string, dir string) bool {
	a := expand(args, path)
	cmd := exec.Command(bin, a...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), fmt.Sprintf("ZERFOO_MAX_ALLOC=%d", corruptBudget))
	err := cmd.Run()
	var ee *exec.ExitError
	return errors.As(err, &ee) && ee.ExitCode() == 1
}

// expand replaces "{}" in args by path.
func expand(args []string, path string) []string {
	a := make([]string, len(args))
	for i, s := range args {
		a[i] = strings.ReplaceAll(s, "{}", path)
	}
	return a
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// hostileInts are the values a field read from a file is set to.
var hostileInts = []uint64{0, 1, 2, 3, 7, 255, 256, 1<<16 - 1, 1<<31 - 1, 1 << 31, 1<<32 - 1, 1 << 32, 1<<62 + 1, 1<<63 - 1, 1 << 63, math.MaxUint64}

// ggufField is one integer in a GGUF header: a count, a length, a type id,
// a metadata value, a tensor dimension or offset.
type ggufField struct {
	off, size int
	what      string
}

// ggufFields walks a GGUF header and lists every integer field in it.
func ggufFields(b []byte) ([]ggufField, int, error) {
	var fs []ggufField
	p := 0
	need := func(n int) error {
		if p+n > len(b) {
			return fmt.Errorf("truncated at %d", p)
		}
		return nil
	}
	u32 := func(what string) (uint32, error) {
		if err := need(4); err != nil {
			return 0, err
		}
		fs = append(fs, ggufField{p, 4, what})
		v := binary.LittleEndian.Uint32(b[p:])
		p += 4
		return v, nil
	}
	u64 := func(what string) (uint64, error) {
		if err := need(8); err != nil {
			return 0, err
		}
		fs = append(fs, ggufField{p, 8, what})
		v := binary.LittleEndian.Uint64(b[p:])
		p += 8
		return v, nil
	}
	str := func(what string) error {
		n, err := u64(what + " length")
		if err != nil {
			return err
		}
		if err := need(int(n)); err != nil {
			return err
		}
		p += int(n)
		return nil
	}
	sizes := map[uint32]int{0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
	var value func(typ uint32, what string) error
	value = func(typ uint32, what string) error {
		switch typ {
		case 8:
			return str(what)
		case 9:
			et, err := u32(what + " element type")
			if err != nil {
				return err
			}
			n, err := u64(what + " element count")
			if err != nil {
				return err
			}
			if sz, ok := sizes[et]; ok {
				if err := need(sz * int(n)); err != nil {
					return err
				}
				p += sz * int(n)
				return nil
			}
			for i := uint64(0); i < n; i++ {
				if err := value(et, what+" element"); err != nil {
					return err
				}
			}
			return nil
		case 4, 5:
			_, err := u32(what)
			return err
		case 10, 11:
			_, err := u64(what)
			return err
		}
		sz, ok := sizes[typ]
		if !ok {
			return fmt.Errorf("type %d", typ)
		}
		if err := need(sz); err != nil {
			return err
		}
		p += sz
		return nil
	}
	p = 8 // magic, version
	nt, err := u64("tensor count")
	if err != nil {
		return nil, 0, err
	}
	nkv, err := u64("metadata count")
	if err != nil {
		return nil, 0, err
	}
	for i := uint64(0); i < nkv; i++ {
		k0 := p + 8
		if err := str("key"); err != nil {
			return nil, 0, err
		}
		key := string(b[k0:p])
		typ, err := u32(key + " type")
		if err != nil {
			return nil, 0, err
		}
		if err := value(typ, key); err != nil {
			return nil, 0, err
		}
	}
	for i := uint64(0); i < nt; i++ {
		n0 := p + 8
		if err := str("tensor name"); err != nil {
			return nil, 0, err
		}
		name := string(b[n0:p])
		nd, err := u32(name + " dimension count")
		if err != nil {
			return nil, 0, err
		}
		for d := uint32(0); d < nd; d++ {
			if _, err := u64(fmt.Sprintf("%s dimension %d", name, d)); err != nil {
				return nil, 0, err
			}
		}
		if _, err := u32(name + " type"); err != nil {
			return nil, 0, err
		}
		if _, err := u64(name + " offset"); err != nil {
			return nil, 0, err
		}
	}
	return fs, p, nil
}

// corruptBytes truncates the file or flips bytes, half the time within the
// first `header` bytes where the structure is.
func corruptBytes(rng *rand.Rand, src []byte, header int) ([]byte, string) {
	b := bytes.Clone(src)
	region := len(b)
	if rng.IntN(2) == 0 && header > 0 {
		region = header
	}
	if rng.IntN(2) == 0 {
		n := rng.IntN(region)
		return b[:n], fmt.Sprintf("truncated to %d bytes", n)
	}
	k := 1 + rng.IntN(16)
	for i := 0; i < k; i++ {
		b[rng.IntN(region)] ^= byte(1 + rng.IntN(255))
	}
	return b, fmt.Sprintf("%d bytes flipped in the first %d", k, region)
}

func TestCorruptGGUF(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the CLI")
	}
	src := defaultmodel.Bytes()
	fields, header, err := ggufFields(src)
	if err != nil {
		t.Fatalf("walking the embedded model's header: %v", err)
	}
	rng := rand.New(rand.NewPCG(16, 200))
	var runs []cliRun
	for i := 0; i < corruptVariants; i++ {
		var b []byte
		var name string
		if rng.IntN(2) == 0 {
			b, name = corruptBytes(rng, src, header)
		} else {
			b = bytes.Clone(src)
			var parts []string
			for k := 1 + rng.IntN(3); k > 0; k-- {
				f := fields[rng.IntN(len(fields))]
				v := hostileInts[rng.IntN(len(hostileInts))]
				if f.size == 4 {
					binary.LittleEndian.PutUint32(b[f.off:], uint32(v))
				} else {
					binary.LittleEndian.PutUint64(b[f.off:], v)
				}
				parts = append(parts, fmt.Sprintf("%s = %d", f.what, v))
			}
			name = strings.Join(parts, ", ")
		}
		args := []string{"generate", "--model", "{}", "--prompt", "A goroutine is", "--max-tokens", "3", "--seed", "1"}
		if i%4 == 3 {
			args = []string{"gguf", "inspect", "{}"}
		}
		runs = append(runs, cliRun{name: name, file: b, args: args})
	}
	// And each architecture value at the extremes (the reproducers:
	// sliding_window = MaxInt64, context_length = 2^64-1).
	for _, f := range fields {
		if !strings.HasPrefix(f.what, "gemma3.") || strings.HasSuffix(f.what, " type") {
			continue
		}
		for _, v := range []uint64{math.MaxInt64, math.MaxUint64} {
			b := bytes.Clone(src)
			if f.size == 4 {
				binary.LittleEndian.PutUint32(b[f.off:], uint32(v))
			} else {
				binary.LittleEndian.PutUint64(b[f.off:], v)
			}
			runs = append(runs, cliRun{name: fmt.Sprintf("%s = %d", f.what, v), file: b,
				args: []string{"generate", "--model", "{}", "--prompt", "A goroutine is", "--max-tokens", "3", "--seed", "1"}})
		}
	}
	runCorrupt(t, ".gguf", runs)
}

// onnxInts lists pointers to the integers of an ONNX model that shape what
// gets allocated or run: initializer dims, attribute values, declared input
// and output dims, opset versions.
func onnxInts(m *onnxpb.ModelProto) (ptrs []*int64, names []string) {
	add := func(p *int64, name string) { ptrs, names = append(ptrs, p), append(names, name) }
	for _, o := range m.OpsetImport {
		if o.Version == nil {
			o.Version = new(int64)
		}
		add(o.Version, "opset "+o.GetDomain())
	}
	g := m.GetGraph()
	for _, init := range g.GetInitializer() {
		for d := range init.Dims {
			add(&init.Dims[d], fmt.Sprintf("initializer %s dim %d", init.GetName(), d))
		}
	}
	for _, n := range g.GetNode() {
		for _, a := range n.Attribute {
			if a.I != nil {
				add(a.I, fmt.Sprintf("node %s attribute %s", n.GetName(), a.GetName()))
			}
			for j := range a.Ints {
				add(&a.Ints[j], fmt.Sprintf("node %s attribute %s[%d]", n.GetName(), a.GetName(), j))
			}
			if t := a.GetT(); t != nil {
				for d := range t.Dims {
					add(&t.Dims[d], fmt.Sprintf("node %s attribute %s dim %d", n.GetName(), a.GetName(), d))
				}
			}
		}
	}
	for _, vi := range append(append([]*onnxpb.ValueInfoProto{}, g.GetInput()...), g.GetOutput()...) {
		for d, dim := range vi.GetType().GetTensorType().GetShape().GetDim() {
			if v, ok := dim.Value.(*onnxpb.TensorShapeProto_Dimension_DimValue); ok {
				add(&v.DimValue, fmt.Sprintf("value %s dim %d", vi.GetName(), d))
			}
		}
	}
	return ptrs, names
}

func TestCorruptONNX(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the CLI")
	}
	dir := t.TempDir()
	type model struct {
		src    []byte
		inputs []string // --input flags
	}
	writeNpy := func(name string, x tensor.Any) string {
		path := filepath.Join(dir, name+".npy")
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := npy.Write(f, x, false); err != nil {
			t.Fatal(err)
		}
		return path
	}
	read := func(name string) []byte {
		src, err := os.ReadFile(filepath.Join("../testdata/onnx", name))
		if err != nil {
			t.Fatal(err)
		}
		return src
	}
	// mlp_nbits.onnx: x FLOAT [batch, 32] through MatMulNBits, Gelu, Softmax.
	x := tensor.Must(tensor.New[float32]([]int{2, 32}, nil))
	for i := range x.Data() {
		x.Data()[i] = float32(i%7) - 3
	}
	mlp := model{read("mlp_nbits.onnx"), []string{"--input", "x=" + writeNpy("x", x)}}
	// gemma3_tiny.onnx: a two-layer decoder in onnxruntime-genai's layout,
	// three tokens with an empty past.
	ids := tensor.Must(tensor.New([]int{1, 3}, []int64{1, 5, 9}))
	mask := tensor.Must(tensor.New([]int{1, 3}, []int64{1, 1, 1}))
	pos := tensor.Must(tensor.New([]int{1, 3}, []int64{0, 1, 2}))
	past := tensor.Must(tensor.New[float32]([]int{1, 1, 0, 16}, nil))
	dec := model{read("gemma3_tiny.onnx"), []string{
		"--input", "input_ids=" + writeNpy("ids", ids), "--input", "attention_mask=" + writeNpy("mask", mask),
		"--input", "position_ids=" + writeNpy("pos", pos)}}
	for l := 0; l < 2; l++ {
		for _, kv := range []string{"key", "value"} {
			dec.inputs = append(dec.inputs, "--input", fmt.Sprintf("past_key_values.%d.%s=%s", l, kv, writeNpy(fmt.Sprintf("past%d%s", l, kv), past)))
		}
	}
	models := []model{mlp, dec}
	// Both run as they are.
	for _, m := range models {
		if msg := runOne(zerfooBinary(t), writeTemp(t, dir, m.src), append([]string{"onnx", "run", "{}", "--output-dir", filepath.Join(dir, "ok")}, m.inputs...), dir); msg != "" {
			t.Fatalf("unmodified model: %s", msg)
		}
	}
	rng := rand.New(rand.NewPCG(16, 201))
	var runs []cliRun
	for i := 0; i < corruptVariants; i++ {
		m := models[i%len(models)]
		var b []byte
		var name string
		if rng.IntN(2) == 0 {
			b, name = corruptBytes(rng, m.src, 0)
		} else {
			var pb onnxpb.ModelProto
			if err := proto.Unmarshal(m.src, &pb); err != nil {
				t.Fatal(err)
			}
			ptrs, names := onnxInts(&pb)
			var parts []string
			for k := 1 + rng.IntN(3); k > 0; k-- {
				j := rng.IntN(len(ptrs))
				v := int64(hostileInts[rng.IntN(len(hostileInts))])
				if rng.IntN(4) == 0 {
					v = -v
				}
				*ptrs[j] = v
				parts = append(parts, fmt.Sprintf("%s = %d", names[j], v))
			}
			var err error
			if b, err = proto.Marshal(&pb); err != nil {
				t.Fatal(err)
			}
			name = strings.Join(parts, ", ")
		}
		args := append([]string{"onnx", "run", "{}", "--output-dir", filepath.Join(dir, fmt.Sprintf("out%03d", i))}, m.inputs...)
		if i%4 == 3 {
			args = []string{"onnx", "inspect", "{}"}
		}
		runs = append(runs, cliRun{name: name, file: b, args: args})
	}
	// And the reproducers: ConstantOfShape and Expand to
	// [2³¹−1, 2³¹−1] (a makeslice panic once) and [2³¹−1, 8] (64 GiB).
	for _, op := range []string{"ConstantOfShape", "Expand"} {
		for _, dims := range [][]int64{{1<<31 - 1, 1<<31 - 1}, {1<<31 - 1, 8}} {
			b := hostileShapeModel(t, mlp.src, op, dims)
			runs = append(runs, cliRun{name: fmt.Sprintf("%s to %v", op, dims), file: b, wantFail: true,
				args: append([]string{"onnx", "run", "{}", "--output-dir", filepath.Join(dir, "out-"+op)}, mlp.inputs...)})
		}
	}
	runCorrupt(t, ".onnx", runs)
}

// hostileShapeModel adds to the model in src a node op (ConstantOfShape or
// Expand of a one-element float) whose target shape is the constant dims,
// as an extra graph output.
func hostileShapeModel(t *testing.T, src []byte, op string, dims []int64) []byte {
	var pb onnxpb.ModelProto
	if err := proto.Unmarshal(src, &pb); err != nil {
		t.Fatal(err)
	}
	g := pb.Graph
	int64s, floats := int32(onnxpb.TensorProto_INT64), int32(onnxpb.TensorProto_FLOAT)
	g.Initializer = append(g.Initializer,
		&onnxpb.TensorProto{Name: proto.String("hostile_shape"), DataType: &int64s, Dims: []int64{int64(len(dims))}, Int64Data: dims},
		&onnxpb.TensorProto{Name: proto.String("hostile_one"), DataType: &floats, Dims: []int64{1}, FloatData: []float32{1}})
	in := []string{"hostile_shape"}
	if op == "Expand" {
		in = []string{"hostile_one", "hostile_shape"}
	}
	g.Node = append(g.Node, &onnxpb.NodeProto{Name: proto.String("hostile"), OpType: proto.String(op), Input: in, Output: []string{"hostile_out"}})
	g.Output = append(g.Output, &onnxpb.ValueInfoProto{Name: proto.String("hostile_out"), Type: &onnxpb.TypeProto{
		Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{ElemType: &floats}}}})
	b, err := proto.Marshal(&pb)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
