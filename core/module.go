package core

import "context"

// Module is a feature of the hub: content generation, outbound webhooks, inbound sources,
// the connector host, and every later one. A module owns its configuration (a Config with
// its defaults and Validate), is built by its constructor from that configuration and the
// dependencies it names, and contributes to the hub through optional interfaces, each one
// small:
//
//   - StepKindProvider: rule step kinds;
//   - Worker: background work started after the engine and stopped before the store closes;
//   - the HTTP kernel's RouteModule: operations;
//   - the metrics adapter's CollectorProvider: metrics.
//
// The lifecycle: New(config, dependencies) → contributions collected by the wiring → Start
// (workers) → serve → Stop (workers, in reverse order) → the store closes.
type Module interface {
	// Name identifies the module in logs and errors ("content", "webhooks").
	Name() string
}

// StepKindProvider is a Module that adds rule step kinds.
type StepKindProvider interface {
	StepKinds() []StepKind
}

// Worker is a Module with background work. Start returns once the work runs; Stop ends it,
// waiting for what is in flight until ctx ends.
type Worker interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
}

// Closer is a Module holding resources from its construction on (a compiled WASM runtime);
// Close releases them, after Stop when the module is also a Worker.
type Closer interface {
	Close(ctx context.Context) error
}
