package onnx

// The ONNX protobuf types in package onnxpb are generated from
// onnxpb/onnx.proto with protoc 3.21.12 (Debian bookworm's
// protobuf-compiler) and protoc-gen-go v1.36.12:
//
//	apt-get install -y protobuf-compiler
//	go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
//	go generate ./onnx

//go:generate protoc -I onnxpb --go_out=onnxpb --go_opt=paths=source_relative --go_opt=Monnx.proto=github.com/zerfoo/zerfoo/onnx/onnxpb onnx.proto
