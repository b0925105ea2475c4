// Package bolt implements core.Store and core.Queue on one embedded bbolt file.
//
// Buckets, every key starting with the tenant id and a zero byte except where noted:
//
//	events     seq (8 bytes, big endian, global)      → core.StoredEvent JSON
//	eventids   tenant\0 id \0 source                  → core.Accepted JSON (the dedup key)
//	idem       tenant\0 Idempotency-Key               → core.AcceptResult JSON
//	runs       tenant\0 run id (UUIDv7, time-ordered) → core.Run JSON without steps
//	queue      due (8 bytes, unix ns) tenant\0 run id → empty
//	leases     tenant\0 run id                        → lease expiry (8 bytes, unix ns)
//	ledger     tenant\0 run id \0 step id             → core.StepRecord JSON
//	dlq        tenant\0 run id                        → empty
//
// Concurrent writers share commits through DB.Batch; NoSync is never set.
package bolt
