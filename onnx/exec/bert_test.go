package exec

func bertCases() []opCase { return nil }
