package train

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"slices"

	"github.com/zerfoo/zerfoo/gguf"
	"github.com/zerfoo/zerfoo/gguf/quant"
	"github.com/zerfoo/zerfoo/graph"
	"github.com/zerfoo/zerfoo/training"
)

// OptimSuffix is appended to a checkpoint's path to name the file holding
// its optimizer state (the checkpoint itself stays a plain gemma3 GGUF that
// llama.cpp loads).
const OptimSuffix = ".optim"

// Metadata keys of an optimizer-state file. The step is under KeyStep.
const (
	keyOptimFormat = "zerfoo.optim.format" // "adamw"
	keyOptimVer    = "zerfoo.optim.version"
	optimFormat    = "adamw"
	optimVersion   = 1
)

// OptimState is the state of Run's two AdamW optimizers after a training
// step: Decay over Model.Matrices() (with weight decay), NoDecay over
// Model.Norms(). Restoring it (Options.Optim) makes a resumed run continue
// bit for bit as if it had not stopped.
type OptimState struct {
	Step    int // training steps done: the checkpoint's KeyStep
	Decay   training.AdamWState
	NoDecay training.AdamWState
}

// optimGroup is one optimizer of Run as stored in the file.
type optimGroup struct {
	name   string // "decay" or "no_decay": the prefix of keys and tensors
	params []*graph.Parameter[float32]
	state  *training.AdamWState
}

func (m *Model) optimGroups(s *OptimState) []optimGroup {
	return []optimGroup{{"decay", m.Matrices(), &s.Decay}, {"no_decay", m.Norms(), &s.NoDecay}}
}

func ggmlDims(p *graph.Parameter[float32]) []uint64 {
	d := p.Value.Shape()
	if len(d) == 2 {
		return []uint64{uint64(d[1]), uint64(d[0])}
	}
	return []uint64{uint64(p.Value.Size())}
}

// SaveOptim writes s, the optimizer state of m, as a GGUF file at path
// (conventionally the checkpoint's path + OptimSuffix): metadata KeyStep,
// and per optimizer g ("decay", "no_decay") its AdamW step count
// zerfoo.optim.g.step and parameter names zerfoo.optim.g.params; tensors
// adamw.g.m.NAME and adamw.g.v.NAME of type F64 (the moments exactly) with
// the parameter's dims. The file is written to path + ".tmp" and renamed
// over path, so an interrupted write never leaves a broken file.
func (m *Model) SaveOptim(path string, s *OptimState) error {
	b := gguf.NewBuilder()
	set := func(k string, v any) error {
		if err := b.Set(k, v); err != nil {
			return fmt.Errorf("train: optimizer state: %w", err)
		}
		return nil
	}
	if err := set(keyOptimFormat, optimFormat); err != nil {
		return err
	}
	if err := set(keyOptimVer, uint32(optimVersion)); err != nil {
		return err
	}
	if err := set(KeyStep, uint64(s.Step)); err != nil {
		return err
	}
	for _, g := range m.optimGroups(s) {
		if len(g.state.M) != len(g.params) || len(g.state.V) != len(g.params) {
			return fmt.Errorf("train: optimizer state %s: %d/%d moments for %d parameters: %w", g.name, len(g.state.M), len(g.state.V), len(g.params), graph.ErrInput)
		}
		names := make([]string, len(g.params))
		for i, p := range g.params {
			names[i] = p.Name
		}
		if err := set("zerfoo.optim."+g.name+".step", uint64(g.state.Step)); err != nil {
			return err
		}
		if err := set("zerfoo.optim."+g.name+".params", names); err != nil {
			return err
		}
		for i, p := range g.params {
			for _, mo := range []struct {
				k string
				x []float64
			}{{"m", g.state.M[i]}, {"v", g.state.V[i]}} {
				if len(mo.x) != p.Value.Size() {
					return fmt.Errorf("train: optimizer state %s: %s of %s has %d values, want %d: %w", g.name, mo.k, p.Name, len(mo.x), p.Value.Size(), graph.ErrInput)
				}
				data := make([]byte, 8*len(mo.x))
				for j, x := range mo.x {
					binary.LittleEndian.PutUint64(data[8*j:], math.Float64bits(x))
				}
				if err := b.AddTensor(fmt.Sprintf("adamw.%s.%s.%s", g.name, mo.k, p.Name), quant.F64, ggmlDims(p), data); err != nil {
					return fmt.Errorf("train: optimizer state: %w", err)
				}
			}
		}
	}
	tmp := path + ".tmp"
	if err := b.WriteFile(tmp); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// LoadOptim reads an optimizer-state file written by SaveOptim and checks
// it against m: the parameter names and their order, each moment's type
// and size, the step counts (an optimizer's at most the file's), and that
// every value is finite (second moments non-negative). Errors about the
// file's content wrap ErrCheckpoint and name the file; a missing file gives
// the error of os.Open (errors.Is fs.ErrNotExist).
func (m *Model) LoadOptim(path string) (*OptimState, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s, err := m.optimFromFile(f)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return s, nil
}

func (m *Model) optimFromFile(f *gguf.File) (*OptimState, error) {
	if s, err := f.String(keyOptimFormat); err != nil || s != optimFormat {
		return nil, fmt.Errorf("train: not a zerfoo optimizer state (%s is not %q): %w", keyOptimFormat, optimFormat, ErrCheckpoint)
	}
	if v, err := f.Uint(keyOptimVer); err != nil || v != optimVersion {
		return nil, fmt.Errorf("train: optimizer state version: got %v (%v), want %d: %w", v, err, optimVersion, ErrCheckpoint)
	}
	step, err := f.Uint(KeyStep)
	if err != nil || step > math.MaxInt32 {
		return nil, fmt.Errorf("train: optimizer state: %s missing or out of range: %w", KeyStep, ErrCheckpoint)
	}
	s := &OptimState{Step: int(step)}
	for _, g := range m.optimGroups(s) {
		if err := readGroup(f, g, s.Step); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func readGroup(f *gguf.File, g optimGroup, step int) error {
	key := "zerfoo.optim." + g.name
	t, err := f.Uint(key + ".step")
	if err != nil || t > uint64(step) {
		return fmt.Errorf("train: optimizer state: %s.step missing or above the step %d: %w", key, step, ErrCheckpoint)
	}
	g.state.Step = int(t)
	a, err := f.Array(key + ".params")
	names, ok := a.Values.([]string)
	if err != nil || !ok {
		return fmt.Errorf("train: optimizer state: %s.params is missing or not strings: %w", key, ErrCheckpoint)
	}
	want := make([]string, len(g.params))
	for i, p := range g.params {
		want[i] = p.Name
	}
	if !slices.Equal(names, want) {
		if len(names) != len(want) {
			return fmt.Errorf("train: optimizer state: %s lists %d parameters, the model has %d (another model?): %w", key, len(names), len(want), ErrCheckpoint)
		}
		i := 0
		for names[i] == want[i] {
			i++
		}
		return fmt.Errorf("train: optimizer state: %s parameter %d is %q, the model's is %q: %w", key, i, names[i], want[i], ErrCheckpoint)
	}
	g.state.M, g.state.V = make([][]float64, len(g.params)), make([][]float64, len(g.params))
	for i, p := range g.params {
		for _, mo := range []struct {
			k   string
			dst *[]float64
		}{{"m", &g.state.M[i]}, {"v", &g.state.V[i]}} {
			name := fmt.Sprintf("adamw.%s.%s.%s", g.name, mo.k, p.Name)
			x, err := readMoment(f, name, ggmlDims(p), mo.k == "v")
			if err != nil {
				return err
			}
			*mo.dst = x
		}
	}
	return nil
}

func readMoment(f *gguf.File, name string, dims []uint64, second bool) ([]float64, error) {
	ti, err := f.Tensor(name)
	if err != nil {
		return nil, fmt.Errorf("train: optimizer state: tensor %s is missing: %w", name, ErrCheckpoint)
	}
	if ti.Type != quant.F64 || !slices.Equal(ti.Dims, dims) {
		return nil, fmt.Errorf("train: optimizer state: tensor %s is %v %v, want F64 %v (another model shape?): %w", name, ti.Type, ti.Dims, dims, ErrCheckpoint)
	}
	data, err := f.TensorData(name)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	x := make([]float64, len(data)/8)
	for j := range x {
		x[j] = math.Float64frombits(binary.LittleEndian.Uint64(data[8*j:]))
		if math.IsNaN(x[j]) || math.IsInf(x[j], 0) || (second && x[j] < 0) {
			return nil, fmt.Errorf("train: optimizer state: tensor %s [%d] is %v: %w", name, j, x[j], ErrCheckpoint)
		}
	}
	return x, nil
}
