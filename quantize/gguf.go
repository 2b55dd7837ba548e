package quantize

import (
	"context"
	"fmt"
)

func ggufFile(ctx context.Context, in, out string, opts Options) (*Report, error) {
	return nil, fmt.Errorf("%w: GGUF type %s: not yet supported", ErrInput, opts.Type)
}
