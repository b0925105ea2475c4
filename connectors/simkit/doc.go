// Package simkit holds what every vendor simulator under connectors/<name>/sim shares: fault
// injection (latency, a 5xx ratio, 429 bursts, exact queued failures), request recording, and
// the /_sim/ control endpoints, which a simulator's Server gets by embedding a Frame. The
// vendor-specific behaviour (paths, auth, bodies) lives in each simulator; simkit never
// writes a vendor's error body itself but asks the simulator to.
//
// Standard library only, so that simulators stay cheap to start inside tests and `aquahub dev`.
package simkit
