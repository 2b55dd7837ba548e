// Package exec compiles ONNX models (package onnx) into runnable programs
// and runs them on the CPU with ONNX Runtime's semantics.
//
// # Why not graph.Builder
//
// ONNX nodes have several outputs (Split, LayerNormalization,
// GroupQueryAttention), absent optional inputs, and element types and
// shapes that are only known at run time (Shape → Gather → Reshape chains,
// Cast). A Program is therefore a dedicated executor: the model's node
// list (already in topological order) with one Kernel per node, values held
// in slots as tensor.Any and each intermediate dropped after its last use.
// Kernels reuse Zerfoo's layers where they exist: MatMulNBits is
// layers/core.MatMulNBits (built once, at compile time, from the
// initializers) and MatMul is compute's float32 GEMM.
//
// # Values and element types
//
// Values are *tensor.Tensor[T] for float32, float64, numeric.Float16,
// numeric.BFloat16, int8, uint8, int16, uint16, int32, uint32, int64 and
// uint64. Integer kernels compute in int64; uint64 keeps its bits there and
// the ops whose result depends on order (division, comparison, Max, Min,
// Cast to a float) treat it as unsigned. The typed kernels (typed.go: Max,
// Min, Mod, Clip, Sign, BitShift, PRelu, Shrink, integer Pow, the scatters,
// ArgMax/ArgMin, TopK, Unique, CumSum, integer ReduceMax/Min) are generic
// over the element types and compute in the input's own type, exactly.
// STRING tensors are *tensor.Strings (Cast to and from numbers,
// StringNormalizer, and the ops that only move elements: Identity, Reshape
// and those built on the shared copy helper). ONNX BOOL is uint8
// (0 or 1), INT4 initializers are unpacked to int8 and UINT4 to uint8.
// Float16 and bfloat16 tensors are computed in float32 (transcendental
// functions in float64) and rounded back after each op, as ONNX Runtime's
// CPU kernels do. Initializers are decoded with onnx.TensorView, so raw and
// memory-mapped external data are aliased, not copied: kernels never modify
// their inputs.
//
// # Control flow, sequences and optionals
//
// If, Loop (opsets 1 to 16, loop-carried sequences and optionals
// included), Scan (opset 8 with its batch axis, and 9 on) and SequenceMap
// run subgraphs, compiled with their node. A subgraph sees the values of
// the graphs around it (outer-scope values); the node receives the ones it
// uses after its own inputs, so they live until it runs. Errors inside a
// subgraph name the node, the subgraph and the inner node:
// "exec: node loop (Loop): subgraph body ("loop_body"): exec: node add
// (Add): …". A Loop without trip count or condition runs until its context
// ends, as the spec allows.
//
// Sequence and Optional values travel in the same slots as tensors: they
// implement tensor.Any (without being tensors: nil shape, DType Invalid)
// and are fed and returned as *Sequence and *Optional.
//
// # Ops
//
// Builders are registered per (domain, op type, opset range) with Register
// from init functions; Compile picks the one matching the model's opset
// import for the node's domain and lets it read and check the attributes.
// Opset differences are handled there: Squeeze/Unsqueeze/ReduceSum axes and
// Split sizes as attributes before opset 13 and inputs after, the axes of
// the other reductions as inputs from opset 18, Softmax's and Hardmax's 2-D
// coercion before opset 13, Slice attributes before opset 10. An op without a builder is an error wrapping
// ErrUnsupportedOp naming the op, its domain, the opset and the node.
//
// Opset imports newer than this package knows (ai.onnx after MaxOpset,
// com.microsoft after 1) are refused with an error wrapping
// onnx.ErrUnsupported, rather than run with semantics nobody has defined.
//
// # Shapes
//
// Input shapes are checked by Run against the model's declared shapes:
// fixed dims must match and a symbolic dim (dim_param) must have one size
// across all inputs. Everything else is computed at run time.
//
// # Memory budget
//
// A model decides how much its kernels allocate: ConstantOfShape, Expand,
// Range, a broadcast, a MatMul outer product, Concat or Gather can ask for
// any size from a few bytes of file. Every such size is checked against
// the Program's budget (WithBudget; budget.Default() otherwise) before the
// allocation: constants and attribute tensors at compile time, and at run
// time each kernel's output with the scratch it needs (checkWork, called
// by the shared allocation helpers move, expand and newTensor and by each
// kernel before it converts or allocates), on top of the values the run
// holds. Run counts those values, each storage once however many views
// (Reshape, Identity) share it and feeds and constants not at all, and
// fails a step whose outputs take it over the budget. A tensor without
// elements is checked as if its zero dims were 1, so that no loop over its
// other dims runs long. The errors wrap budget.ErrExceeded and read
// "exec: node NAME (OP): output float32[2147483647 8] needs 64 GiB, over
// the memory budget of …".
//
// # Concurrency
//
// A Program holds no per-run state: Run may be called concurrently. It must
// not be used after the onnx.Model it was compiled from is closed.
package exec
