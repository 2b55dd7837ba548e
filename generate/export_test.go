package generate

import "github.com/zerfoo/zerfoo/models/gemma3"

// SetBatcherHook sets a function run before each step's Forward.
func SetBatcherHook(b *Batcher, f func([]gemma3.Seq)) { b.hook = f }

// StopTokens returns the token ids that end m's generations.
func StopTokens(m *Model) []int32 { return m.stops }
