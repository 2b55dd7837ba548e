package onnxpb_test

import (
	"fmt"
	"log"

	"google.golang.org/protobuf/proto"

	"github.com/zerfoo/zerfoo/onnx/onnxpb"
)

// The messages are plain protobuf (proto2) types: fields are pointers set with
// proto.String and friends, read with nil-safe getters, and encoded with
// google.golang.org/protobuf/proto. Package onnx builds, checks and reads
// them for you (onnx.NewBuilder, onnx.Load); this is the raw form.
func Example() {
	m := &onnxpb.ModelProto{
		IrVersion:   proto.Int64(10),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(21)}},
		Graph: &onnxpb.GraphProto{
			Name: proto.String("neg"),
			Node: []*onnxpb.NodeProto{{
				Name:   proto.String("n0"),
				OpType: proto.String("Neg"),
				Input:  []string{"x"},
				Output: []string{"y"},
			}},
		},
	}
	data, err := proto.Marshal(m)
	if err != nil {
		log.Fatal(err)
	}
	var back onnxpb.ModelProto
	if err := proto.Unmarshal(data, &back); err != nil {
		log.Fatal(err)
	}
	n := back.GetGraph().GetNode()[0]
	fmt.Println(back.GetIrVersion(), back.GetOpsetImport()[0].GetVersion(), n.GetOpType(), n.GetInput(), n.GetOutput())
	// A getter on an absent message returns the zero value.
	fmt.Printf("%q %d\n", back.GetGraph().GetDocString(), len(back.GetGraph().GetInitializer()))
	// Output:
	// 10 21 Neg [x] [y]
	// "" 0
}
