package exec

func modelCases() []opCase { return nil }
