package core

import (
	"sync"
)

// Capacitor is a StepKind whose calls to one target share a bounded resource: the connector
// host's instances of one connector. The engine runs at most Capacity(target) steps of that
// kind and target at once; a run whose next step finds the lane full waits without holding a
// worker, so one slow vendor cannot take the workers every other vendor needs.
type Capacitor interface {
	// Capacity is how many calls to target may run at once; 0 means unbounded.
	Capacity(target string) int
}

// A lane is the steps of one kind and target (connector:sendgrid, generate). Runs wait for a
// lane per tenant, and tenants are served round robin, so neither a slow lane nor a busy
// tenant delays the others.
type lane struct {
	key      string
	capacity int // 0: unbounded
	inflight int
}

func (l *lane) full() bool { return l.capacity > 0 && l.inflight >= l.capacity }

// tenantQueue is one tenant's runs waiting, per lane.
type tenantQueue struct {
	id        string
	waiting   map[string][]*execution
	order     []string // lane keys with waiting runs, served round robin
	next      int
	executing int
}

// scheduler holds the runs this process has leased: waiting per (tenant, lane) or executing.
// Its methods are called with mu held unless noted.
type scheduler struct {
	mu      sync.Mutex
	lanes   map[string]*lane
	tenants map[string]*tenantQueue
	ring    []string // tenants with waiting runs
	next    int
	// executing counts steps running.
	executing int
}

func newScheduler() *scheduler {
	return &scheduler{lanes: map[string]*lane{}, tenants: map[string]*tenantQueue{}}
}

// push queues x for its next step's lane; it returns false when that lane's queue for the
// tenant is at limit, and then x is not queued.
func (s *scheduler) push(x *execution, l *lane, limit int) bool {
	t := s.tenants[x.run.Tenant]
	if t == nil {
		t = &tenantQueue{id: x.run.Tenant, waiting: map[string][]*execution{}}
		s.tenants[x.run.Tenant] = t
	}
	q := t.waiting[l.key]
	if limit > 0 && len(q) >= limit {
		return false
	}
	if len(q) == 0 {
		t.order = append(t.order, l.key)
		if len(t.order) == 1 && !s.inRing(t.id) {
			s.ring = append(s.ring, t.id)
		}
	}
	t.waiting[l.key] = append(q, x)
	return true
}

func (s *scheduler) inRing(id string) bool {
	for _, r := range s.ring {
		if r == id {
			return true
		}
	}
	return false
}

// pop takes the next run to start: tenants in turn, and within a tenant its lanes in turn,
// skipping full lanes and tenants at their limit. It returns nil when nothing can start.
func (s *scheduler) pop(tenantLimit int) (*execution, *lane) {
	for range len(s.ring) {
		if s.next >= len(s.ring) {
			s.next = 0
		}
		t := s.tenants[s.ring[s.next]]
		s.next++
		if tenantLimit > 0 && t.executing >= tenantLimit {
			continue
		}
		for range len(t.order) {
			if t.next >= len(t.order) {
				t.next = 0
			}
			key := t.order[t.next]
			l := s.lanes[key]
			if l.full() {
				t.next++
				continue
			}
			q := t.waiting[key]
			x := q[0]
			q[0] = nil
			q = q[1:]
			if len(q) == 0 {
				delete(t.waiting, key)
				t.order = append(t.order[:t.next], t.order[t.next+1:]...)
				if len(t.order) == 0 {
					s.dropFromRing(t.id)
				}
			} else {
				t.waiting[key] = q
				t.next++
			}
			l.inflight++
			t.executing++
			s.executing++
			return x, l
		}
	}
	return nil, nil
}

func (s *scheduler) dropFromRing(id string) {
	for i, r := range s.ring {
		if r == id {
			s.ring = append(s.ring[:i], s.ring[i+1:]...)
			if s.next > i {
				s.next--
			}
			return
		}
	}
}

// done ends a step that ran in lane l for tenant.
func (s *scheduler) done(tenant string, l *lane) {
	l.inflight--
	s.executing--
	if t := s.tenants[tenant]; t != nil {
		t.executing--
		if t.executing == 0 && len(t.order) == 0 {
			delete(s.tenants, tenant)
		}
	}
}

// waitingFor counts tenant's runs waiting for lane.
func (s *scheduler) waitingFor(tenant, lane string) int {
	if t := s.tenants[tenant]; t != nil {
		return len(t.waiting[lane])
	}
	return 0
}

// drainWaiting removes and returns every waiting run.
func (s *scheduler) drainWaiting() []*execution {
	var out []*execution
	for _, t := range s.tenants {
		for _, q := range t.waiting {
			out = append(out, q...)
		}
		t.waiting, t.order = map[string][]*execution{}, nil
	}
	s.ring = nil
	return out
}
