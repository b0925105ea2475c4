package bolt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aquascene/aquahub/core"
)

// The pipeline's records on disk. They are private: the domain types in core may change
// shape without changing the file, and a change of these is a change of FormatVersion.
//
// Since format version 4 they are binary (see recordWriter): a tag byte, then the fields as
// varints and length-prefixed strings, with nothing the key already says (the tenant and id
// of a run, the step id of a ledger entry, the sequence number of an event, the id and source
// of a dedup key). Versions 2 and 3 wrote JSON objects; a record that starts with '{' is one of those
// and is still read, so the rewrite at upgrade can go in small transactions (migrateRecords).

// Record tags: the first byte of every binary record.
const (
	tagBinary    = 0x01 // a live record in format version 4's layout
	tagTombstone = 0x02 // an event whose body is pruned while its dedup key is kept
	tagJSON      = '{'  // a format version 2 or 3 record
)

// encodeEvent stores an event under its sequence number: the tenant, the time it was
// received and the CloudEvent's attributes, with data as the client sent it (no re-encoding,
// so no escaping of <, > and & inflates it).
func encodeEvent(e *core.Event) ([]byte, error) {
	var ext []byte
	if len(e.Extensions) > 0 {
		var err error
		if ext, err = json.Marshal(e.Extensions); err != nil {
			return nil, fmt.Errorf("encoding extensions: %w", err)
		}
	}
	w := recordWriter{b: make([]byte, 0, 64+len(e.ID)+len(e.Source)+len(e.Type)+len(e.Data)+len(ext))}
	w.byte(tagBinary)
	w.str(e.Tenant)
	w.time(e.ReceivedAt, time.Time{})
	w.str(e.ID)
	w.str(e.Source)
	w.str(e.Type)
	w.str(e.SpecVersion)
	w.str(e.Subject)
	if e.Time == nil {
		w.byte(0)
	} else {
		w.byte(1)
		_, off := e.Time.Zone()
		w.int(int64(off))
		w.time(*e.Time, time.Time{})
	}
	w.str(e.DataContentType)
	w.str(e.DataSchema)
	w.bytes(ext)
	if len(e.Data) == 0 {
		return w.b, nil
	}
	// Data is JSON (DecodeEvent makes it so); what a client indented is stored compact.
	// Compact leaves the buffer unchanged when it fails.
	buf := bytes.NewBuffer(w.b)
	if err := json.Compact(buf, e.Data); err != nil {
		buf.Write(e.Data)
	}
	return buf.Bytes(), nil
}

// encodeTombstone is what is left of a pruned event until its dedup key expires: enough to
// find that key again.
func encodeTombstone(e *core.Event) []byte {
	w := recordWriter{}
	w.byte(tagTombstone)
	w.str(e.Tenant)
	w.time(e.ReceivedAt, time.Time{})
	w.str(e.ID)
	w.str(e.Source)
	return w.b
}

// decodeEvent reads the event stored at k. live is false for a tombstone, whose event has
// only its tenant, id, source, sequence number and receipt time.
func decodeEvent(k, v []byte) (ev core.Event, live bool, err error) {
	seq, ok := readBE64(k)
	if !ok {
		return ev, false, fmt.Errorf("decoding stored event: key %x is not a sequence number", k)
	}
	if len(v) > 0 && v[0] == tagJSON {
		ev, err = decodeEventV2(v)
		return ev, err == nil, err
	}
	r := recordReader{b: v}
	tag := r.byte()
	if tag != tagBinary && tag != tagTombstone {
		return ev, false, fmt.Errorf("decoding stored event #%d: unknown record tag %#x", seq, tag)
	}
	ev.Seq = seq
	ev.Tenant = r.str()
	ev.ReceivedAt = r.time(time.Time{})
	ev.ID = r.str()
	ev.Source = r.str()
	if tag == tagTombstone {
		return ev, false, r.done(fmt.Sprintf("event #%d", seq))
	}
	ev.Type = r.str()
	ev.SpecVersion = r.str()
	ev.Subject = r.str()
	if r.byte() == 1 {
		off := int(r.int())
		t := r.time(time.Time{})
		if off != 0 {
			t = t.In(time.FixedZone("", off))
		}
		ev.Time = &t
	}
	ev.DataContentType = r.str()
	ev.DataSchema = r.str()
	if ext := r.bytes(); len(ext) > 0 && r.err == nil {
		if err := json.Unmarshal(ext, &ev.Extensions); err != nil {
			return ev, false, fmt.Errorf("decoding stored event #%d: extensions: %w", seq, err)
		}
	}
	if data := r.rest(); len(data) > 0 {
		ev.Data = json.RawMessage(bytes.Clone(data))
	}
	return ev, true, r.done(fmt.Sprintf("event #%d", seq))
}

// eventAttributes reads the id, source and type of the event stored as v, without its
// data; a tombstone has no type.
func eventAttributes(k, v []byte) (id, source, typ string, err error) {
	if len(v) > 0 && v[0] == tagBinary {
		r := recordReader{b: v[1:]}
		r.bytes() // tenant
		r.uint()  // received
		id, source, typ = r.str(), r.str(), r.str()
		return id, source, typ, r.err
	}
	ev, _, err := decodeEvent(k, v)
	return ev.ID, ev.Source, ev.Type, err
}

// eventV2 is format version 2's event record: the CloudEvent as JSON plus the hub's
// attributes.
type eventV2 struct {
	Event      json.RawMessage `json:"event"`
	Tenant     string          `json:"tenant"`
	Seq        uint64          `json:"seq"`
	ReceivedAt time.Time       `json:"received_at"`
}

func decodeEventV2(b []byte) (core.Event, error) {
	var r eventV2
	if err := json.Unmarshal(b, &r); err != nil {
		return core.Event{}, fmt.Errorf("decoding stored event: %w", err)
	}
	ev, err := core.DecodeEvent(r.Event)
	if err != nil {
		return core.Event{}, fmt.Errorf("decoding stored event: %w", err)
	}
	ev.Tenant, ev.Seq, ev.ReceivedAt = r.Tenant, r.Seq, r.ReceivedAt.UTC()
	return ev, nil
}

// acceptedRecord is the deduplication record of an event, naming the runs it started; a
// list of them is an Idempotency-Key's first answer.
type acceptedRecord struct {
	ID        string   `json:"id"`
	Source    string   `json:"source"`
	Seq       uint64   `json:"seq"`
	Runs      []string `json:"runs,omitempty"`
	Duplicate bool     `json:"duplicate,omitempty"`
}

type acceptResultRecord struct {
	Events []acceptedRecord `json:"events"`
}

func toAcceptedRecord(a core.Accepted) acceptedRecord {
	return acceptedRecord{ID: a.ID, Source: a.Source, Seq: a.Seq, Runs: a.Runs, Duplicate: a.Duplicate}
}

func (r acceptedRecord) accepted() core.Accepted {
	return core.Accepted{ID: r.ID, Source: r.Source, Seq: r.Seq, Runs: r.Runs, Duplicate: r.Duplicate}
}

// encodeDedup is an event's dedup record, under tenant\0id\0source: its sequence number and
// runs.
func encodeDedup(a core.Accepted) []byte {
	w := recordWriter{}
	w.byte(tagBinary)
	w.uint(a.Seq)
	w.uint(uint64(len(a.Runs)))
	for _, id := range a.Runs {
		w.runID(id)
	}
	return w.b
}

// decodeDedup reads the dedup record at k (tenant\0id\0source).
func decodeDedup(k, v []byte) (acceptedRecord, error) {
	if len(v) > 0 && v[0] == tagJSON {
		var rec acceptedRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return rec, fmt.Errorf("decoding dedup record %q: %w", k, err)
		}
		return rec, nil
	}
	_, rest, _ := splitKey(k)
	id, source, _ := splitKey([]byte(rest))
	rec := acceptedRecord{ID: id, Source: source}
	r := recordReader{b: v}
	if tag := r.byte(); tag != tagBinary {
		return rec, fmt.Errorf("decoding dedup record %q: unknown record tag %#x", k, tag)
	}
	rec.Seq = r.uint()
	n := r.count()
	for range n {
		rec.Runs = append(rec.Runs, r.runID())
	}
	return rec, r.done(fmt.Sprintf("dedup record %q", k))
}

// Run statuses and step statuses are stored as their index in these lists (plus one); a
// status not listed is stored as its name after a zero.
var (
	runStatuses  = []string{string(core.RunQueued), string(core.RunRunning), string(core.RunRetrying), string(core.RunSucceeded), string(core.RunDead)}
	stepStatuses = []string{string(core.StepSucceeded), string(core.StepSkipped), string(core.StepFailed)}
)

// encodeRun stores a run without its ledger under tenant\0id. The triggering event's id,
// source and type are not stored: the event is kept as long as the run (see Pruner), and
// readRun takes them from it. Times after CreatedAt are stored as the difference from it,
// which is short; a finished run has no lane.
func encodeRun(r *core.Run) []byte {
	w := recordWriter{b: make([]byte, 0, 64+len(r.RuleID)+len(r.Lane)+len(r.LastError))}
	w.byte(tagBinary)
	w.str(r.RuleID)
	w.enum(runStatuses, string(r.Status))
	w.uint(r.EventSeq)
	w.uint(uint64(max(r.Attempts, 0)))
	if r.Status == core.RunSucceeded {
		w.str("")
	} else {
		w.str(r.Lane)
	}
	w.str(r.LastError)
	w.str(r.ErrorClass)
	w.time(r.CreatedAt, time.Time{})
	w.time(r.UpdatedAt, r.CreatedAt)
	w.time(r.NextAt, r.CreatedAt)
	w.time(r.FinishedAt, r.CreatedAt)
	return w.b
}

// decodeRun reads the run at k (tenant\0id), without its event's id, source and type
// (readRun adds them).
func decodeRun(k, v []byte) (core.Run, error) {
	if len(v) > 0 && v[0] == tagJSON {
		return decodeRunV2(k, v)
	}
	tenant, id, _ := splitKey(k)
	run := core.Run{ID: id, Tenant: tenant}
	r := recordReader{b: v}
	if tag := r.byte(); tag != tagBinary {
		return run, fmt.Errorf("decoding run %q: unknown record tag %#x", id, tag)
	}
	run.RuleID = r.str()
	run.Status = core.RunStatus(r.enum(runStatuses))
	run.EventSeq = r.uint()
	run.Attempts = int(r.uint())
	run.Lane = r.str()
	run.LastError = r.str()
	run.ErrorClass = r.str()
	run.CreatedAt = r.time(time.Time{})
	run.UpdatedAt = r.time(run.CreatedAt)
	run.NextAt = r.time(run.CreatedAt)
	run.FinishedAt = r.time(run.CreatedAt)
	return run, r.done(fmt.Sprintf("run %q", id))
}

// runV2 is format version 2's run record.
type runV2 struct {
	ID          string    `json:"id"`
	Tenant      string    `json:"tenant"`
	RuleID      string    `json:"rule"`
	Status      string    `json:"status"`
	EventSeq    uint64    `json:"event_seq"`
	EventID     string    `json:"event_id"`
	EventSource string    `json:"event_source"`
	EventType   string    `json:"event_type"`
	Attempts    int       `json:"attempts"`
	Lane        string    `json:"lane,omitempty"`
	NextAt      time.Time `json:"next_attempt_at,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	ErrorClass  string    `json:"error_class,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	FinishedAt  time.Time `json:"finished_at,omitzero"`
}

func decodeRunV2(k, v []byte) (core.Run, error) {
	var r runV2
	if err := json.Unmarshal(v, &r); err != nil {
		return core.Run{}, fmt.Errorf("decoding run %q: %w", k, err)
	}
	return core.Run{
		ID: r.ID, Tenant: r.Tenant, RuleID: r.RuleID, Status: core.RunStatus(r.Status),
		EventSeq: r.EventSeq, EventID: r.EventID, EventSource: r.EventSource, EventType: r.EventType,
		Attempts: r.Attempts, Lane: r.Lane, NextAt: utc(r.NextAt), LastError: r.LastError, ErrorClass: r.ErrorClass,
		CreatedAt: utc(r.CreatedAt), UpdatedAt: utc(r.UpdatedAt), FinishedAt: utc(r.FinishedAt),
	}, nil
}

// encodeStep stores a ledger entry under tenant\0run id\0step id; the output follows the
// other fields as the step produced it.
func encodeStep(s *core.StepRecord) []byte {
	w := recordWriter{b: make([]byte, 0, 48+len(s.Kind)+len(s.Error)+len(s.Output))}
	w.byte(tagBinary)
	w.str(s.Kind)
	w.enum(stepStatuses, string(s.Status))
	w.uint(uint64(max(s.Attempts, 0)))
	w.str(s.Error)
	w.str(s.ErrorClass)
	w.time(s.StartedAt, time.Time{})
	w.time(s.FinishedAt, s.StartedAt)
	// DurationMS is measured on the monotonic clock in microseconds; it is kept as such
	// rather than derived from the wall-clock times.
	w.int(int64(s.DurationMS*1000 + 0.5))
	w.b = append(w.b, s.Output...)
	return w.b
}

// decodeStep reads the ledger entry at k (tenant\0run id\0step id).
func decodeStep(k, v []byte) (core.StepRecord, error) {
	if len(v) > 0 && v[0] == tagJSON {
		return decodeStepV2(k, v)
	}
	stepID := ""
	if i := bytes.LastIndexByte(k, 0); i >= 0 {
		stepID = string(k[i+1:])
	}
	s := core.StepRecord{StepID: stepID}
	r := recordReader{b: v}
	if tag := r.byte(); tag != tagBinary {
		return s, fmt.Errorf("decoding ledger entry %q: unknown record tag %#x", k, tag)
	}
	s.Kind = r.str()
	s.Status = core.StepStatus(r.enum(stepStatuses))
	s.Attempts = int(r.uint())
	s.Error = r.str()
	s.ErrorClass = r.str()
	s.StartedAt = r.time(time.Time{})
	s.FinishedAt = r.time(s.StartedAt)
	s.DurationMS = float64(r.int()) / 1000
	if out := r.rest(); len(out) > 0 {
		s.Output = json.RawMessage(bytes.Clone(out))
	}
	return s, r.done(fmt.Sprintf("ledger entry %q", k))
}

// stepV2 is format version 2's ledger entry.
type stepV2 struct {
	StepID     string          `json:"id"`
	Kind       string          `json:"kind"`
	Status     string          `json:"status"`
	Attempts   int             `json:"attempts"`
	Output     json.RawMessage `json:"output,omitempty"`
	Error      string          `json:"error,omitempty"`
	ErrorClass string          `json:"error_class,omitempty"`
	StartedAt  time.Time       `json:"started_at"`
	FinishedAt time.Time       `json:"finished_at"`
	DurationMS float64         `json:"duration_ms"`
}

func decodeStepV2(k, v []byte) (core.StepRecord, error) {
	var r stepV2
	if err := json.Unmarshal(v, &r); err != nil {
		return core.StepRecord{}, fmt.Errorf("decoding ledger entry %q: %w", k, err)
	}
	return core.StepRecord{
		StepID: r.StepID, Kind: r.Kind, Status: core.StepStatus(r.Status), Attempts: r.Attempts, Output: r.Output,
		Error: r.Error, ErrorClass: r.ErrorClass, StartedAt: utc(r.StartedAt), FinishedAt: utc(r.FinishedAt), DurationMS: r.DurationMS,
	}, nil
}

// utc returns t in UTC, keeping the zero time zero; binary records decode times in UTC, so
// version 2's records do too.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}
