// Package onnxpb holds the Go types of the ONNX protobuf schema (ModelProto,
// GraphProto, NodeProto, TensorProto and the rest), generated from
// onnx.proto in this directory by protoc-gen-go; see ../gen.go. Package onnx
// reads, checks and writes them.
package onnxpb
