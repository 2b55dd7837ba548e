package graph

import (
	"errors"
	"fmt"
)

// Sentinels for the conditions callers branch on. Every error the package
// returns for one of them wraps it (test with errors.Is). Shape errors wrap
// tensor.ErrShape instead of a graph sentinel.
var (
	// ErrCycle marks a graph whose edges form a cycle.
	ErrCycle = errors.New("graph: cycle")
	// ErrDangling marks a reference to a value that does not exist in the
	// builder: a name never defined, a Ref from another builder or an
	// empty Ref.
	ErrDangling = errors.New("graph: dangling reference")
	// ErrDuplicate marks a name used for two inputs or nodes.
	ErrDuplicate = errors.New("graph: duplicate name")
	// ErrDType marks an edge whose element type is not the one its consumer
	// takes, or a run-time value of the wrong element type.
	ErrDType = errors.New("graph: element type mismatch")
	// ErrNoTape marks a Backward call without the Tape of a Forward call of
	// the same graph.
	ErrNoTape = errors.New("graph: no tape from Forward")
	// ErrInput marks bad arguments to Forward or Backward: a wrong number of
	// inputs or output gradients.
	ErrInput = errors.New("graph: bad input")
	// ErrArity marks a node wired to a number of inputs it does not take
	// (known for nodes implementing InputTyper).
	ErrArity = errors.New("graph: wrong number of inputs")
	// ErrNode marks a node that broke its contract at run time: a nil
	// output, a wrong number of input gradients.
	ErrNode = errors.New("graph: node broke its contract")
)

// NodeError is an error raised by or about one node of a graph. It names the
// graph, the node and its op type, and unwraps to the underlying error
// (which wraps one of the sentinels, tensor.ErrShape or the node's own
// error).
type NodeError struct {
	Graph  string // name of the graph (or builder)
	Node   string // name of the node (or input)
	OpType string // op type of the node; "Input" for a graph input
	Op     string // what was running: "build", "forward", "backward"
	Err    error
}

func (e *NodeError) Error() string {
	return fmt.Sprintf("graph %q: %s: node %q (%s): %v", e.Graph, e.Op, e.Node, e.OpType, e.Err)
}

// Unwrap returns the underlying error.
func (e *NodeError) Unwrap() error { return e.Err }
