package training_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/graph"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
	"github.com/zerfoo/zerfoo/training"
)

// adamParams returns float32 parameters "a" (3×4) and "b" (5) with values
// drawn from seed.
func adamParams(t *testing.T, seed uint64) []*graph.Parameter[float32] {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 2))
	var ps []*graph.Parameter[float32]
	for _, s := range []struct {
		name  string
		shape []int
	}{{"a", []int{3, 4}}, {"b", []int{5}}} {
		n := 1
		for _, d := range s.shape {
			n *= d
		}
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		p, err := graph.NewParameter(s.name, tensor.Must(tensor.New(s.shape, v)))
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	return ps
}

// adamSteps runs steps from+1 … to: the gradient of each element is
// w − 0.5 plus noise drawn from the step, so the trajectory depends on the
// weights and on the moments. Parameter b gets no gradient on odd steps.
func adamSteps(t *testing.T, o *training.AdamW[float32], ps []*graph.Parameter[float32], from, to int) {
	t.Helper()
	for s := from + 1; s <= to; s++ {
		r := rand.New(rand.NewPCG(uint64(s), 3))
		o.ZeroGrad()
		for i, p := range ps {
			if i == 1 && s%2 == 1 {
				continue
			}
			g := make([]float32, p.Value.Size())
			for j, w := range p.Value.Data() {
				g[j] = w - 0.5 + float32(0.3*r.NormFloat64())
			}
			if err := p.AccumulateGradient(nil, tensor.Must(tensor.New(p.Value.Shape(), g))); err != nil {
				t.Fatal(err)
			}
		}
		if err := o.Step(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

func newAdam(t *testing.T, ps []*graph.Parameter[float32]) *training.AdamW[float32] {
	t.Helper()
	o, err := training.NewAdamW(ps, numeric.Float32Ops{}, training.AdamWConfig{LR: 0.05, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestAdamWStateResume checks that N steps, State, SetState into a fresh
// optimizer over a copy of the weights, then K steps give the same weights
// bit for bit as N+K steps straight, and that restarting the moments at
// zero does not.
func TestAdamWStateResume(t *testing.T) {
	const N, K = 7, 6
	straight := adamParams(t, 1)
	adamSteps(t, newAdam(t, straight), straight, 0, N+K)

	first := adamParams(t, 1)
	o1 := newAdam(t, first)
	adamSteps(t, o1, first, 0, N)
	st := o1.State()
	if st.Step != N || len(st.M) != 2 || len(st.V) != 2 || len(st.M[0]) != 12 || len(st.V[1]) != 5 {
		t.Fatalf("State: step %d, %d/%d moments; want step %d, 2 of sizes 12 and 5", st.Step, len(st.M), len(st.V), N)
	}
	// State is a copy: stepping o1 further must not change it.
	m00 := st.M[0][0]
	adamSteps(t, o1, first, N, N+1)
	if st.M[0][0] != m00 {
		t.Fatalf("State aliases the optimizer: M[0][0] changed from %v to %v", m00, st.M[0][0])
	}

	for _, restore := range []bool{true, false} {
		// The checkpoint's weights: N steps from the same start (first
		// has taken one more).
		ps := adamParams(t, 1)
		adamSteps(t, newAdam(t, ps), ps, 0, N)
		o := newAdam(t, ps)
		if restore {
			if err := o.SetState(st); err != nil {
				t.Fatal(err)
			}
			if o.Steps() != N {
				t.Fatalf("Steps after SetState: got %d, want %d", o.Steps(), N)
			}
		}
		adamSteps(t, o, ps, N, N+K)
		same := true
		for i, p := range ps {
			for j, w := range p.Value.Data() {
				want := straight[i].Value.Data()[j]
				if math.Float32bits(w) != math.Float32bits(want) {
					same = false
					if restore {
						t.Fatalf("restored: parameter %s[%d]: got %v, want %v (straight run)", p.Name, j, w, want)
					}
				}
			}
		}
		if !restore && same {
			t.Fatal("moments restarted at zero gave the straight run's weights: the test cannot see the state")
		}
	}
}

func TestAdamWSetStateErrors(t *testing.T) {
	ps := adamParams(t, 1)
	o := newAdam(t, ps)
	adamSteps(t, o, ps, 0, 2)
	good := o.State()
	clone := func() training.AdamWState {
		s := training.AdamWState{Step: good.Step}
		for i := range good.M {
			s.M = append(s.M, append([]float64(nil), good.M[i]...))
			s.V = append(s.V, append([]float64(nil), good.V[i]...))
		}
		return s
	}
	for _, tc := range []struct {
		name string
		edit func(*training.AdamWState)
		want string
	}{
		{"negative step", func(s *training.AdamWState) { s.Step = -1 }, "step -1 is negative"},
		{"too few parameters", func(s *training.AdamWState) { s.M, s.V = s.M[:1], s.V[:1] }, "1 first and 1 second moments, the optimizer has 2 parameters"},
		{"too many parameters", func(s *training.AdamWState) { s.V = append(s.V, nil) }, "2 first and 3 second moments"},
		{"short first moment", func(s *training.AdamWState) { s.M[0] = s.M[0][:11] }, `parameter 0 ("a"): first moment has 11 values, want 12`},
		{"long second moment", func(s *training.AdamWState) { s.V[1] = append(s.V[1], 0) }, `parameter 1 ("b"): second moment has 6 values, want 5`},
		{"NaN", func(s *training.AdamWState) { s.M[1][2] = math.NaN() }, `parameter 1 ("b"): first moment [2] is NaN`},
		{"Inf", func(s *training.AdamWState) { s.V[0][3] = math.Inf(1) }, `parameter 0 ("a"): second moment [3] is +Inf`},
		{"negative second moment", func(s *training.AdamWState) { s.V[0][0] = -1e-9 }, `second moment [0] is -1e-09`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := clone()
			tc.edit(&s)
			fresh := newAdam(t, ps)
			err := fresh.SetState(s)
			if !errors.Is(err, graph.ErrInput) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want graph.ErrInput containing %q", err, tc.want)
			}
			if fresh.Steps() != 0 || fresh.State().M[0][0] != 0 {
				t.Fatalf("a failed SetState changed the optimizer: step %d, M[0][0] %v", fresh.Steps(), fresh.State().M[0][0])
			}
		})
	}
	// A valid state round-trips.
	fresh := newAdam(t, ps)
	if err := fresh.SetState(clone()); err != nil {
		t.Fatal(err)
	}
	got := fresh.State()
	if got.Step != good.Step || got.M[1][4] != good.M[1][4] || got.V[0][11] != good.V[0][11] {
		t.Fatalf("round trip: got step %d M[1][4] %v V[0][11] %v, want %d %v %v", got.Step, got.M[1][4], got.V[0][11], good.Step, good.M[1][4], good.V[0][11])
	}
}
