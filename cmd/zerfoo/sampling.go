package main

import (
	"fmt"

	"github.com/alecthomas/kong"

	"github.com/zerfoo/zerfoo/generate"
)

// folderSampling returns s (the sampling flags' values) with each setting
// whose flag was not on the command line taken from the model's own
// configuration (generate.Model.DefaultSampling: a Hugging Face folder's
// generation_config.json, an onnxruntime-genai folder's search object, a
// GGUF's general.sampling.* keys). Precedence: flags given, then the
// model's configuration, then the flags' defaults. When the model changes
// a setting, a notice on stderr says to what.
func folderSampling(k *kong.Context, s *streams, m *generate.Model, flags generate.Sampling) generate.Sampling {
	given := map[string]bool{}
	if k != nil {
		for _, p := range k.Path {
			if p.Flag != nil {
				given[p.Flag.Name] = true
			}
		}
	}
	d := m.DefaultSampling(flags)
	keep := func(flag string, dst *float64, v float64) {
		if given[flag] {
			*dst = v
		}
	}
	keep("temperature", &d.Temperature, flags.Temperature)
	keep("top-p", &d.TopP, flags.TopP)
	keep("min-p", &d.MinP, flags.MinP)
	keep("repeat-penalty", &d.RepetitionPenalty, flags.RepetitionPenalty)
	if given["top-k"] {
		d.TopK = flags.TopK
	}
	if d.Temperature != flags.Temperature || d.TopK != flags.TopK || d.TopP != flags.TopP || d.MinP != flags.MinP ||
		d.RepetitionPenalty != flags.RepetitionPenalty {
		fmt.Fprintf(s.err, "sampling from the model's configuration: --temperature %g --top-k %d --top-p %g --min-p %g --repeat-penalty %g (flags override it)\n",
			d.Temperature, d.TopK, d.TopP, d.MinP, d.RepetitionPenalty)
	}
	return d
}
