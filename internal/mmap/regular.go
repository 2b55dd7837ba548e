package mmap

import (
	"errors"
	"io/fs"
	"os"
)

// ErrNotRegular is wrapped by the error OpenRegular (and so Open) returns
// for a path that is not a regular file.
var ErrNotRegular = errors.New("not a regular file")

// NotRegularError reports a path that names a directory, named pipe,
// socket, device or other non-regular file. It unwraps to ErrNotRegular.
// Its message is "PATH: not a regular file (KIND)", without a package
// prefix, like *fs.PathError's, so that callers can prefix their own.
type NotRegularError struct {
	Path string
	Kind string // "directory", "named pipe", "socket", "device", "character device", "irregular file"
}

func (e *NotRegularError) Error() string { return e.Path + ": not a regular file (" + e.Kind + ")" }

// Unwrap returns ErrNotRegular.
func (e *NotRegularError) Unwrap() error { return ErrNotRegular }

// kind names the type of a non-regular file mode.
func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return "irregular file"
}

// OpenRegular opens the regular file at path (following symbolic links)
// for reading. Anything else — a directory, named pipe, socket or device —
// is refused with a *NotRegularError naming the path and what it is, and
// OpenRegular never blocks: it stats path before opening it, so a device
// is never opened at all, and opens with O_NONBLOCK where the platform has
// it, so that a named pipe put in the file's place between the stat and
// the open cannot hang open(2) waiting for a writer either; the opened
// descriptor is checked again and the flag cleared (it has no effect on
// regular files). Other errors are those of os.Stat and os.OpenFile.
//
// Every loader that reads a path named by a user or by a model file
// (GGUF, ONNX and its external data) opens it with OpenRegular.
func OpenRegular(path string) (*os.File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, &NotRegularError{Path: path, Kind: kind(st.Mode())}
	}
	f, err := os.OpenFile(path, os.O_RDONLY|nonblockFlag, 0)
	if err != nil {
		return nil, err
	}
	if st, err = f.Stat(); err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, &NotRegularError{Path: path, Kind: kind(st.Mode())}
	}
	if err := clearNonblock(f); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
