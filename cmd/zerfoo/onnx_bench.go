package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/zerfoo/zerfoo/budget"
	"github.com/zerfoo/zerfoo/npy"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/onnx/exec"
	"github.com/zerfoo/zerfoo/tensor"
)

type onnxBenchCmd struct {
	Model   string        `arg:"" help:"Path to the .onnx file."`
	Input   []string      `help:"An input as NAME=FILE.npy (repeat for each input). Inputs not given are generated from their declared shapes: seeded uniform [-1, 1) floats, zero integers and bools." placeholder:"NAME=FILE.npy"`
	Dim     []string      `help:"The size of a symbolic (or unknown) dim of generated inputs as NAME=N; unnamed ones are 1." placeholder:"NAME=N"`
	Threads int           `help:"Threads (GOMAXPROCS); 0 uses all cores." default:"0"`
	Warmup  int           `help:"Untimed runs first." default:"3"`
	Runs    int           `help:"Timed runs (at least)." default:"20"`
	MinTime time.Duration `help:"Keep timing runs until this much time has passed, after --runs." default:"0s"`
	JSON    bool          `name:"json" help:"Print one JSON object (keys include p50_ms, p90_ms, p99_ms, runs_per_s, cpu_ms)."`
	// SaveInputs lets a peer (tools/ort/bench_model.mjs) time the same feeds.
	SaveInputs string `help:"Also write every input fed as DIR/<name>.npy (created if missing)." placeholder:"DIR"`
}

// Validate checks the flags before the model is read.
func (c *onnxBenchCmd) Validate() error {
	var ck checks
	ck.file("", c.Model)
	for _, spec := range c.Input {
		name, file, ok := strings.Cut(spec, "=")
		ck.check(ok && name != "" && file != "", "--input", spec, "want NAME=FILE.npy")
		ck.file("--input "+name, file)
	}
	_, err := parseDims(c.Dim)
	if err != nil && ck.err == nil {
		ck.err = err
	}
	ck.atLeast("--threads", c.Threads, 0, " (0: all cores)")
	ck.atLeast("--warmup", c.Warmup, 0, "")
	ck.atLeast("--runs", c.Runs, 1, "")
	ck.check(c.MinTime >= 0, "--min-time", c.MinTime, "must be ≥ 0")
	return ck.err
}

// parseDims reads NAME=N specs.
func parseDims(specs []string) (map[string]int, error) {
	dims := map[string]int{}
	for _, spec := range specs {
		name, v, ok := strings.Cut(spec, "=")
		n, err := strconv.Atoi(v)
		if !ok || name == "" || err != nil || n < 0 {
			return nil, fmt.Errorf("--dim %q: want NAME=N with N ≥ 0", spec)
		}
		dims[name] = n
	}
	return dims, nil
}

// onnxBenchResult is what onnx bench reports.
type onnxBenchResult struct {
	Model    string  `json:"model"`
	Threads  int     `json:"threads"`
	Runs     int     `json:"runs"`
	MinMs    float64 `json:"min_ms"`
	MeanMs   float64 `json:"mean_ms"`
	P50Ms    float64 `json:"p50_ms"`
	P90Ms    float64 `json:"p90_ms"`
	P99Ms    float64 `json:"p99_ms"`
	MaxMs    float64 `json:"max_ms"`
	RunsPerS float64 `json:"runs_per_s"`
	// CPUMs is the process's CPU time per timed run (all threads; absent
	// where the OS does not report it): at one thread, the work a run does,
	// which a busy machine disturbs less than its latency.
	CPUMs float64 `json:"cpu_ms,omitempty"`
}

func (c *onnxBenchCmd) Run(ctx context.Context, s *streams) error {
	if c.Threads > 0 {
		runtime.GOMAXPROCS(c.Threads)
	}
	dims, err := parseDims(c.Dim)
	if err != nil {
		return err
	}
	m, err := onnx.Load(c.Model)
	if err != nil {
		return err
	}
	defer m.Close()
	p, err := exec.Compile(m)
	if err != nil {
		return err
	}
	feeds, err := readFeeds("onnx bench", p, c.Input, false)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, in := range p.Inputs() {
		if _, ok := feeds[in.Name]; ok {
			continue
		}
		v, err := benchInput(in, dims, rng)
		if err != nil {
			return fmt.Errorf("onnx bench: %w", err)
		}
		feeds[in.Name] = v
	}
	if c.SaveInputs != "" {
		if err := saveFeeds(c.SaveInputs, p, feeds); err != nil {
			return fmt.Errorf("onnx bench: --save-inputs: %w", err)
		}
	}
	for i := 0; i < c.Warmup; i++ {
		if _, err := p.Run(ctx, feeds); err != nil {
			return err
		}
	}
	var times []time.Duration
	cpu0, cpuOK := cpuTime()
	start := time.Now()
	for len(times) < c.Runs || time.Since(start) < c.MinTime {
		t0 := time.Now()
		if _, err := p.Run(ctx, feeds); err != nil {
			return err
		}
		times = append(times, time.Since(t0))
	}
	cpu1, _ := cpuTime()
	r := summarize(times)
	r.Model, r.Threads = c.Model, runtime.GOMAXPROCS(0)
	if cpuOK {
		r.CPUMs = float64(cpu1-cpu0) / 1e6 / float64(len(times))
	}
	if c.JSON {
		return json.NewEncoder(s.out).Encode(r)
	}
	_, err = fmt.Fprintf(s.out, "%s: %d threads, %d runs: p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, min %.3f ms, mean %.3f ms, max %.3f ms, %.2f runs/s\n",
		r.Model, r.Threads, r.Runs, r.P50Ms, r.P90Ms, r.P99Ms, r.MinMs, r.MeanMs, r.MaxMs, r.RunsPerS)
	return err
}

// summarize computes the latency statistics of times (not empty), with
// nearest-rank percentiles.
func summarize(times []time.Duration) onnxBenchResult {
	sorted := slices.Clone(times)
	slices.Sort(sorted)
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	pct := func(q float64) float64 {
		k := int(q*float64(len(sorted))+0.999999) - 1
		return ms(sorted[min(max(k, 0), len(sorted)-1)])
	}
	var total time.Duration
	for _, d := range sorted {
		total += d
	}
	return onnxBenchResult{
		Runs:     len(sorted),
		MinMs:    ms(sorted[0]),
		MeanMs:   ms(total) / float64(len(sorted)),
		P50Ms:    pct(0.50),
		P90Ms:    pct(0.90),
		P99Ms:    pct(0.99),
		MaxMs:    ms(sorted[len(sorted)-1]),
		RunsPerS: float64(len(sorted)) / total.Seconds(),
	}
}

// benchInput generates a value for input in from its declared shape:
// symbolic dims from dims (1 when not named there), seeded uniform [-1, 1)
// floats, zero integers and bools.
func benchInput(in exec.ValueInfo, dims map[string]int, rng *rand.Rand) (tensor.Any, error) {
	if in.Kind != exec.TensorValue {
		return nil, fmt.Errorf("input %q is not a tensor: give it with --input", in.Name)
	}
	if in.Shape == nil {
		return nil, fmt.Errorf("input %q has no declared shape: give it with --input", in.Name)
	}
	shape := make([]int, len(in.Shape))
	for i, d := range in.Shape {
		switch n, ok := dims[d.Param]; {
		case d.Param != "" && ok:
			shape[i] = n
		case d.Param == "" && d.Value >= 0:
			shape[i] = int(d.Value)
		default:
			shape[i] = 1
		}
	}
	size := max(1, in.Type.Bits()/8)
	if err := budget.CheckElems(fmt.Sprintf("input %q %v", in.Name, shape), size, shape...); err != nil {
		return nil, err
	}
	n, err := tensor.SizeOf(shape)
	if err != nil {
		return nil, fmt.Errorf("input %q: %w", in.Name, err)
	}
	uniform := func() float32 { return rng.Float32()*2 - 1 }
	switch in.Type {
	case onnx.Float32:
		return tensor.New(shape, fill(n, uniform))
	case onnx.Float64:
		return tensor.New(shape, fill(n, func() float64 { return float64(uniform()) }))
	case onnx.Float16:
		return tensor.New(shape, fill(n, func() numeric.Float16 { return numeric.Float16FromFloat32(uniform()) }))
	case onnx.BFloat16:
		return tensor.New(shape, fill(n, func() numeric.BFloat16 { return numeric.BFloat16FromFloat32(uniform()) }))
	case onnx.Int8:
		return tensor.New(shape, make([]int8, n))
	case onnx.Uint8, onnx.Bool:
		return tensor.New(shape, make([]uint8, n))
	case onnx.Int16:
		return tensor.New(shape, make([]int16, n))
	case onnx.Uint16:
		return tensor.New(shape, make([]uint16, n))
	case onnx.Int32:
		return tensor.New(shape, make([]int32, n))
	case onnx.Uint32:
		return tensor.New(shape, make([]uint32, n))
	case onnx.Int64:
		return tensor.New(shape, make([]int64, n))
	case onnx.Uint64:
		return tensor.New(shape, make([]uint64, n))
	}
	return nil, fmt.Errorf("input %q: cannot generate %s values: give it with --input", in.Name, in.Type)
}

// saveFeeds writes each input of p as dir/<sanitized name>.npy.
func saveFeeds(dir string, p *exec.Program, feeds map[string]tensor.Any) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, in := range p.Inputs() {
		f, err := os.Create(filepath.Join(dir, sanitize(in.Name)+".npy"))
		if err != nil {
			return err
		}
		err = npy.Write(f, feeds[in.Name], in.Type == onnx.Bool)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("input %q: %w", in.Name, err)
		}
	}
	return nil
}

func fill[T any](n int, f func() T) []T {
	s := make([]T, n)
	for i := range s {
		s[i] = f()
	}
	return s
}
