// Package onnx reads, checks and writes ONNX model files.
//
// It works on the protobuf messages of package onnxpb (generated from the
// official onnx.proto) and knows nothing about Zerfoo's graphs: turning a
// model into a runnable graph is the op loader's job.
//
// # Reading
//
// Load reads a file, Read an io.Reader and Parse a byte slice; each
// returns a *Model holding the ModelProto, the directory that external data
// is resolved against and the name used in errors. Unless
// ReadOptions.NoValidate is set the model is validated (Model.Validate):
// graph present, opsets imported, node inputs defined before use, no value
// produced twice, every initializer's data consistent with its shape.
//
// Tensor data is decoded lazily, per tensor:
//
//   - TensorData[T] returns a new []T, T being the Go type for the tensor's
//     data type (Element lists them; BOOL is uint8, INT4/UINT4 are
//     unpacked to one int8/uint8 per element). DecodeTensor picks T from
//     the data type.
//   - TensorView[T] returns the same values without a copy when the data
//     is raw (raw_data or external), aligned and the host little-endian.
//   - Model.TensorBytes returns the raw little-endian bytes, without a copy
//     for raw_data and external data.
//
// Data may be in raw_data (little-endian), in the typed fields (float_data,
// int32_data for FLOAT16/BFLOAT16/INT8/UINT8/BOOL/INT16/UINT16/INT4 and so
// on, int64_data, double_data, uint64_data) or in an external file
// (data_location EXTERNAL with location, offset and length). External
// locations must be relative paths inside the model's directory ("..",
// absolute paths are rejected; symbolic links are followed). External files
// are memory-mapped read-only on Unix and read into memory elsewhere; they
// stay mapped until Model.Close. Model files and external data must be
// regular files: a directory, named pipe or device is refused at once,
// without blocking.
//
// # Budget
//
// Sizes in a file are not trusted: ReadOptions.Budget (by default
// budget.Default(), ZERFOO_MAX_ALLOC or ¾ of physical memory) bounds the
// serialized model and what each tensor decodes to, whether its data is in
// raw_data, in the typed fields or external. Validate checks every
// initializer against it, so a 7 KB file that declares a 64 GiB tensor gets
// an error naming the tensor and the size, wrapping budget.ErrExceeded.
//
// # Aliasing
//
// Slices from TensorView and TensorBytes may alias the ModelProto or a
// read-only memory map: never write to them (writing to a mapped file's
// slice faults) and do not use them after Model.Close. TensorData and
// DecodeTensor always return fresh slices.
//
// # Writing
//
// Builder assembles a model from Go: inputs and outputs with fixed or
// symbolic dims, initializers from Go slices (NewTensor, Initializer),
// nodes with attributes of every type (NewAttribute). Write and Marshal
// serialize a ModelProto; Save writes a file and, with
// WriteOptions.ExternalData, moves initializers of at least
// ExternalThreshold bytes into one external data file, page-aligned when
// at least a page long so that readers can map them.
//
// # Errors
//
// Errors are *Error values whose messages start with "onnx: " and name the
// file, node (name and op type) and tensor concerned; they wrap ErrInvalid
// (malformed file or model), ErrUnsupported (a valid feature this package
// does not handle) or the underlying I/O error. Nothing in this package
// panics on bad input; FuzzLoad checks this.
package onnx
