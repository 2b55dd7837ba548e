//go:build !unix

package mmap

import (
	"errors"
	"os"
)

func mapRegion(*os.File, int) ([]byte, func([]byte) error, error) {
	return nil, nil, errors.New("mmap: not supported on this platform")
}
