package content

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aquascene/aquahub/core"
)

// Batch statuses.
const (
	BatchRunning   = "running"
	BatchCompleted = "completed"
	// BatchCompletedWithErrors means every item finished and at least one failed.
	BatchCompletedWithErrors = "completed_with_errors"
)

// Limits of one batch.
const (
	MaxBatchRequests       = 1000
	DefaultBatchConcurrent = 3
	MaxBatchConcurrent     = 64
)

// Batch is a named group of requests generated with bounded concurrency. It is stored with
// its items, so a restart resumes the items that had not finished.
type Batch struct {
	ID            string
	Name          string
	Status        string
	MaxConcurrent int
	Progress      Progress
	Results       []BatchItem
	CreatedAt     time.Time
	UpdatedAt     time.Time
	// CompletedAt is when the last item finished; zero while the batch runs.
	CompletedAt time.Time
}

// Progress counts a batch's items.
type Progress struct {
	Completed int
	Failed    int
	Total     int
	// Percent is (completed + failed) / total · 100.
	Percent float64
}

// BatchItem is one request of a batch and its outcome.
type BatchItem struct {
	Index        int
	ContentID    string
	Template     string
	Topic        string
	Status       string
	Title        string
	QualityScore float64
	WordCount    int
	ErrorType    string
	Error        string
}

func (b *Batch) recount() {
	p := Progress{Total: len(b.Results)}
	for _, it := range b.Results {
		switch it.Status {
		case StatusCompleted:
			p.Completed++
		case StatusFailed:
			p.Failed++
		}
	}
	if p.Total > 0 {
		p.Percent = round1(100 * float64(p.Completed+p.Failed) / float64(p.Total))
	}
	b.Progress = p
	if p.Completed+p.Failed == p.Total {
		b.Status = BatchCompleted
		if p.Failed > 0 {
			b.Status = BatchCompletedWithErrors
		}
	} else {
		b.Status = BatchRunning
	}
}

// BatchRequest asks for a batch.
type BatchRequest struct {
	Name string
	// MaxConcurrent bounds the batch's generations in flight (default 3, at most 64).
	MaxConcurrent int
	Requests      []Request
}

// CreateBatch validates every request, stores the batch and its items, and starts it in the
// background. Errors name the offending request (requests[3].topic).
func (s *Service) CreateBatch(ctx context.Context, tenant string, br BatchRequest) (Batch, error) {
	if err := s.checkBudget(ctx, tenant); err != nil {
		return Batch{}, err
	}
	if strings.TrimSpace(br.Name) == "" {
		return Batch{}, core.Invalid("name", "required")
	}
	if len(br.Name) > 200 {
		return Batch{}, core.Invalid("name", "longer than 200 characters")
	}
	if len(br.Requests) == 0 {
		return Batch{}, core.Invalid("requests", "needs at least one request")
	}
	if len(br.Requests) > MaxBatchRequests {
		return Batch{}, core.Invalid("requests", "at most %d requests (got %d)", MaxBatchRequests, len(br.Requests))
	}
	if br.MaxConcurrent == 0 {
		br.MaxConcurrent = DefaultBatchConcurrent
	}
	if br.MaxConcurrent < 1 || br.MaxConcurrent > MaxBatchConcurrent {
		return Batch{}, core.Invalid("max_concurrent", "must be 1 to %d (got %d)", MaxBatchConcurrent, br.MaxConcurrent)
	}
	for i := range br.Requests {
		p := fmt.Sprintf("requests[%d]", i)
		if err := br.Requests[i].Validate(p); err != nil {
			return Batch{}, err
		}
		if err := s.checkPartner(ctx, tenant, p, &br.Requests[i]); err != nil {
			return Batch{}, err
		}
		if _, err := s.Template(ctx, tenant, br.Requests[i].Template); err != nil {
			if errors.Is(err, core.ErrNotFound) {
				return Batch{}, core.Invalid(p+".template", "no template %q", br.Requests[i].Template)
			}
			return Batch{}, err
		}
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	b := Batch{ID: "batch-" + newUUID(), Name: br.Name, MaxConcurrent: br.MaxConcurrent, CreatedAt: now, UpdatedAt: now}
	items := make([]*Content, len(br.Requests))
	for i, r := range br.Requests {
		items[i] = &Content{
			ID: NewContentID(), BatchID: b.ID, Status: StatusPending, Request: r, Template: r.Template, RequestID: r.RequestID,
			CreatedAt: now, UpdatedAt: now, Findings: []Finding{}, Provider: s.gen.Provider.Name(),
		}
		b.Results = append(b.Results, BatchItem{Index: i, ContentID: items[i].ID, Template: r.Template, Topic: r.Topic, Status: StatusPending})
	}
	b.recount()
	if err := s.st.Update(ctx, func(tx Tx) error {
		for _, c := range items {
			if err := tx.PutContent(tenant, c); err != nil {
				return err
			}
		}
		if err := tx.PutBatch(tenant, &b); err != nil {
			return err
		}
		return tx.PutPending(Pending{Tenant: tenant, ID: b.ID, Kind: WorkBatch})
	}); err != nil {
		return Batch{}, err
	}
	s.startBatch(tenant, b.ID)
	return b, nil
}

// Batch returns a batch with its progress and results.
func (s *Service) Batch(ctx context.Context, tenant, id string) (Batch, error) {
	var b Batch
	err := s.st.View(ctx, func(tx ReadTx) error {
		var err error
		b, err = tx.Batch(tenant, id)
		return err
	})
	return b, err
}

// startBatch runs the unfinished items of a stored batch in the background, at most
// MaxConcurrent at once. It is a no-op if the batch already runs in this process.
func (s *Service) startBatch(tenant, id string) {
	key := tenant + "\x00" + id
	s.mu.Lock()
	if s.active[key] {
		s.mu.Unlock()
		return
	}
	s.active[key] = true
	s.mu.Unlock()
	s.spawn(func(ctx context.Context) {
		defer func() {
			s.mu.Lock()
			delete(s.active, key)
			s.mu.Unlock()
		}()
		if err := s.runBatch(ctx, tenant, id); err != nil && ctx.Err() == nil {
			s.log.Error("content batch", "tenant", tenant, "batch", id, "err", err)
		}
	})
}

func (s *Service) runBatch(ctx context.Context, tenant, id string) error {
	b, err := s.Batch(ctx, tenant, id)
	if err != nil {
		return err
	}
	sem := make(chan struct{}, max(b.MaxConcurrent, 1))
	var wg sync.WaitGroup
	for _, it := range b.Results {
		if it.Status == StatusCompleted || it.Status == StatusFailed {
			continue
		}
		c, err := s.Content(ctx, tenant, it.ContentID)
		if err != nil {
			return err
		}
		if c.Status == StatusCompleted || c.Status == StatusFailed {
			// Finished before a crash, but the batch record missed it.
			if _, err := s.updateBatch(ctx, tenant, id, func(b *Batch) { b.Results[it.Index] = itemFrom(it, &c) }); err != nil {
				return err
			}
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return ctx.Err()
		}
		wg.Add(1)
		go func(it BatchItem, c Content) {
			defer wg.Done()
			defer func() { <-sem }()
			out, _, err := s.runWith(ctx, tenant, &c, true, func(tx Tx, out *Content) error {
				now := s.now().UTC().Truncate(time.Millisecond)
				_, err := updateBatchTx(tx, tenant, id, func(b *Batch) {
					b.Results[it.Index] = itemFrom(it, out)
					b.UpdatedAt = now
					if b.Progress.Completed+b.Progress.Failed+1 >= b.Progress.Total {
						b.CompletedAt = now
					}
				})
				return err
			})
			if err != nil && out.Status != StatusFailed && ctx.Err() == nil {
				s.log.Error("content batch item", "batch", id, "content", c.ID, "err", err)
			}
		}(it, c)
	}
	wg.Wait()
	// A batch whose items were all finished before (a resume after the last write) still
	// needs its final status and its pending entry removed.
	_, err = s.updateBatch(ctx, tenant, id, func(*Batch) {})
	return err
}

// updateBatch applies fn to the stored batch in one write transaction.
func (s *Service) updateBatch(ctx context.Context, tenant, id string, fn func(b *Batch)) (Batch, error) {
	var out Batch
	err := s.st.Update(ctx, func(tx Tx) error {
		var err error
		out, err = updateBatchTx(tx, tenant, id, fn)
		return err
	})
	return out, err
}

// updateBatchTx applies fn to the stored batch and recounts it; a finished batch also loses
// its pending entry.
func updateBatchTx(tx Tx, tenant, id string, fn func(b *Batch)) (Batch, error) {
	b, err := tx.Batch(tenant, id)
	if err != nil {
		return b, err
	}
	fn(&b)
	b.recount()
	if err := tx.PutBatch(tenant, &b); err != nil {
		return b, err
	}
	if b.Status != BatchRunning {
		return b, tx.DeletePending(tenant, id)
	}
	return b, nil
}

func itemFrom(it BatchItem, c *Content) BatchItem {
	it.Status, it.Title, it.QualityScore, it.WordCount = c.Status, c.Title, c.QualityScore(), c.WordCount
	it.ErrorType, it.Error = c.ErrorType, c.ErrorMessage
	return it
}

// WaitBatch polls until the batch is no longer running or ctx ends; progress, when set, sees
// each change.
func (s *Service) WaitBatch(ctx context.Context, tenant, id string, progress func(Batch)) (Batch, error) {
	last := -1
	for {
		b, err := s.Batch(ctx, tenant, id)
		if err != nil {
			return b, err
		}
		if done := b.Progress.Completed + b.Progress.Failed; done != last {
			last = done
			if progress != nil {
				progress(b)
			}
		}
		if b.Status != BatchRunning {
			return b, nil
		}
		select {
		case <-ctx.Done():
			return b, ctx.Err()
		case <-s.bg.Done():
			return b, core.ErrClosed
		case <-afterPoll():
		}
	}
}

func afterPoll() <-chan time.Time { return time.After(50 * time.Millisecond) }
