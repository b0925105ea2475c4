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
	// rooms holds, per tenant\0lane, the ingestions waiting for room in that lane, oldest
	// first; each run the lane starts wakes one.
	rooms map[string][]chan struct{}
}

func newScheduler() *scheduler {
	return &scheduler{lanes: map[string]*lane{}, tenants: map[string]*tenantQueue{}, rooms: map[string][]chan struct{}{}}
}

// awaitRoom registers a wait for room in tenant's queue for lane; the channel is closed when
// a run of that queue starts.
func (s *scheduler) awaitRoom(tenant, lane string) chan struct{} {
	ch := make(chan struct{})
	k := roomKey(tenant, lane)
	s.rooms[k] = append(s.rooms[k], ch)
	return ch
}

func roomKey(tenant, lane string) string { return tenant + "\x00" + lane }

// leaveRoom drops a wait that ended without being woken.
func (s *scheduler) leaveRoom(tenant, lane string, ch chan struct{}) {
	k := roomKey(tenant, lane)
	w := s.rooms[k]
	for i, c := range w {
		if c == ch {
			w = append(w[:i], w[i+1:]...)
			break
		}
	}
	if len(w) == 0 {
		delete(s.rooms, k)
	} else {
		s.rooms[k] = w
	}
}

// wakeRoom wakes the oldest wait for room in tenant's queue for lane.
func (s *scheduler) wakeRoom(tenant, lane string) {
	if len(s.rooms) == 0 {
		return
	}
	k := roomKey(tenant, lane)
	w := s.rooms[k]
	if len(w) == 0 {
		return
	}
	close(w[0])
	w[0] = nil
	if len(w) == 1 {
		delete(s.rooms, k)
	} else {
		s.rooms[k] = w[1:]
	}
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
			s.wakeRoom(t.id, key)
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
