// Package bolt implements core.Store and core.Queue, and every feature's store, on one
// embedded bbolt file.
//
// The pipeline's buckets, every key starting with the tenant id and a zero byte except where
// noted (records are binary, see records.go):
//
//	events     seq (8 bytes, big endian, global)      → the event, or its tombstone
//	eventids   tenant\0 id \0 source                  → seq and run ids (the dedup key)
//	idem       tenant\0 Idempotency-Key               → the first answer (JSON)
//	idem.times be64(first use) tenant\0 key           → empty: Idempotency-Keys by age
//	runs       tenant\0 run id (UUIDv7, time-ordered) → the run without its ledger
//	runqueue   tenant\0 lane\0 be64(due) run id       → empty
//	leases     tenant\0 run id                        → lease expiry (8 bytes, unix ns)
//	ledger     tenant\0 run id \0 step id             → the step's outcome and output
//	dlq        tenant\0 run id                        → empty
//	runs.late  be64(finished) tenant\0 run id         → empty: runs the pruner passed early
//	prune      the pruner's cursors and counters
//
// Concurrent writers share commits through a group commit (commit.go): the writes that arrive
// while one commit runs join the next; NoSync is never set. The Pruner deletes
// what is past retention in small transactions; Backup copies the file while it serves;
// Compact rewrites it offline; a damaged file is refused at Open with ErrDamaged.
package bolt
