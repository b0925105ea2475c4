// Package core holds aquahub's domain types and its engine: events, runs, steps, the retry
// policy, the effect ledger and the dead-letter queue. It imports only the standard library;
// storage, HTTP, rule compilation and plugin hosting live in packages that depend on it.
//
// The flow of one event: Engine.Ingest validates the events, asks the Rules which rules match,
// and hands events plus matched rule ids to Store.Accept, which writes the event, its
// deduplication key and one queued Run per rule in a single durable transaction. Workers lease
// runs from the Queue and execute their steps in order through StepExecutors. Every finished
// step is recorded in the effect ledger before the run moves on, so a crash, retry or replay
// resumes at the first unfinished step and never repeats a side effect that already succeeded.
package core
