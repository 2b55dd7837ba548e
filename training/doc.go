// Package training holds what a graph needs to learn: losses (MSE, softmax
// cross-entropy), as plain functions returning value and gradient and as
// graph nodes, and optimizers (SGD with momentum, AdamW) that update
// graph.Parameters from their accumulated gradients.
//
// A training step is Forward, Backward, Step, ZeroGrad:
//
//	tape, _ := g.Forward(ctx, x, y)
//	_, _ = g.Backward(ctx, tape) // the loss is the graph's scalar output
//	_ = opt.Step(ctx)
//	opt.ZeroGrad()
//
// Losses reduce with the mean and accumulate in float64; cross-entropy is
// computed from the log-sum-exp shifted by each row's maximum, so it is
// stable for large logits. Optimizers keep their state (velocity, moments)
// in float64 and compute each update in float64 before rounding to T. They
// write parameter values under each parameter's mutex and must not run
// while a Forward or Backward of the same graph is in flight.
package training
