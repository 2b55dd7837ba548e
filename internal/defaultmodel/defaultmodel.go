// Package defaultmodel embeds the model that `zerfoo generate` runs when no
// --model is given: a small Gemma 3 architecture decoder (6 layers, hidden
// 128, a 1024-token SentencePiece-style vocabulary) trained by Zerfoo itself
// on the English text of the Go distribution's documentation
// ($(go env GOROOT)/doc), quantized to Q8_0. docs/QUANTIZATION.md
// ("Built-in model") gives the commands that reproduce it.
package defaultmodel

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

//go:embed model.gguf
var model []byte

// Name is the file name Path writes the model under.
const Name = "zerfoo-godoc-tiny-q8_0.gguf"

// Bytes returns the GGUF file (shared; do not modify).
func Bytes() []byte { return model }

// Path returns the path of a file holding the model, for loaders that
// memory-map a file. The file is written once under the user's cache
// directory (the system temporary directory when there is none), in a
// folder named after the content hash, and reused while its bytes match.
func Path() (string, error) {
	sum := sha256.Sum256(model)
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	dir := filepath.Join(base, "zerfoo", hex.EncodeToString(sum[:8]))
	path := filepath.Join(dir, Name)
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, model) {
		return path, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("defaultmodel: %w", err)
	}
	tmp, err := os.CreateTemp(dir, Name+".*")
	if err != nil {
		return "", fmt.Errorf("defaultmodel: %w", err)
	}
	_, werr := tmp.Write(model)
	cerr := tmp.Close()
	if werr != nil || cerr != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("defaultmodel: write %s: %w", tmp.Name(), errors.Join(werr, cerr))
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("defaultmodel: %w", err)
	}
	return path, nil
}
