//go:build unix

package onnx

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/proto"

	"github.com/zerfoo/zerfoo/onnx/onnxpb"
)

// within runs f and fails the test if it has not returned after d: opening a
// named pipe must not wait for a writer.
func within(t *testing.T, d time.Duration, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		t.Fatalf("still blocked after %v", d)
		return nil
	}
}

// TestNotRegularFiles checks that a model path or an external data location
// naming a named pipe, a directory or a device is refused at once.
func TestNotRegularFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", filepath.Join(dir, "zero")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"pipe", "sub", "zero"} {
		t.Run("model "+name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			err := within(t, 5*time.Second, func() error { _, err := Load(path); return err })
			if err == nil || !strings.Contains(err.Error(), "not a regular file") || !strings.Contains(err.Error(), path) {
				t.Errorf("Load(%s): got %v, want a not-a-regular-file error naming the path", name, err)
			}
		})
		t.Run("external "+name, func(t *testing.T) {
			b := NewBuilder("ext", Opset{"", 21})
			b.AddInitializer(&onnxpb.TensorProto{Name: proto.String("w"), Dims: []int64{2}, DataType: proto.Int32(int32(Float32)),
				DataLocation: onnxpb.TensorProto_EXTERNAL.Enum(), ExternalData: []*onnxpb.StringStringEntryProto{
					{Key: proto.String("location"), Value: proto.String(name)},
					{Key: proto.String("length"), Value: proto.String("8")}}})
			b.Output("w", Float32, 2)
			data, err := Marshal(b.model)
			if err != nil {
				t.Fatal(err)
			}
			err = within(t, 5*time.Second, func() error { _, err := Parse(data, ReadOptions{Dir: dir}); return err })
			if err == nil || !strings.Contains(err.Error(), "not a regular file") || !strings.Contains(err.Error(), `tensor "w"`) {
				t.Errorf("external data in %s: got %v, want a not-a-regular-file error naming tensor w", name, err)
			}
		})
	}
}
