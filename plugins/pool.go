package plugins

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	wazero "github.com/samyfodil/wazy"

	"github.com/aquascene/aquahub/sdk/abi"
)

// version is one loaded module file: its manifest, compiled code and instance pool. A reload
// that replaces the file creates a new version; the old one retires once its calls finish.
type version struct {
	cat      *Catalog
	id       string
	file     string
	hash     string
	size     int64
	modTime  time.Time
	loadedAt time.Time
	manifest *abi.Manifest
	compiled wazero.CompiledModule
	// okCalls are the calls counters of successful calls by action, looked up once at load
	// rather than by label values on every call.
	okCalls map[string]prometheus.Counter
	// reuseInput: the module exports hub_reuse_input (ABI revision 1.1).
	reuseInput bool
	// signJWT: the module imports sign_jwt (ABI revision 1.3).
	signJWT bool

	idle chan *instance
	// slots bounds live instances: a token is held from acquire to release.
	slots chan struct{}

	inflight sync.WaitGroup
	retired  atomic.Bool
	live     atomic.Int64
	calls    atomic.Int64
	errors   atomic.Int64
}

func newVersion(c *Catalog) *version {
	return &version{
		cat:   c,
		idle:  make(chan *instance, c.cfg.PoolSize),
		slots: make(chan struct{}, c.cfg.PoolSize),
	}
}

// acquire returns an instance, waiting for a free slot; it creates one when none is idle.
func (v *version) acquire(ctx context.Context) (*instance, error) {
	// A free slot is taken without asking for ctx.Done, which makes the context allocate
	// its channel.
	select {
	case v.slots <- struct{}{}:
	default:
		select {
		case v.slots <- struct{}{}:
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for a free %s instance: %w", v.id, ctx.Err())
		}
	}
	select {
	case inst := <-v.idle:
		return inst, nil
	default:
	}
	inst, err := v.instantiate(ctx)
	if err != nil {
		<-v.slots
		return nil, err
	}
	return inst, nil
}

func (v *version) instantiate(ctx context.Context) (*instance, error) {
	inst, err := instantiate(ctx, v.cat.rt, v.compiled)
	if err != nil {
		if errors.Is(err, errMissingExport) {
			return nil, fmt.Errorf("%s: %w", v.file, err)
		}
		return nil, err
	}
	v.live.Add(1)
	v.cat.metrics.instances.WithLabelValues(v.id).Inc()
	return inst, nil
}

// release returns inst to the pool, or closes it when broken, worn out or retired.
func (v *version) release(inst *instance, broken string) {
	reason := broken
	if reason == "" {
		switch {
		case v.retired.Load():
			reason = "reload"
		case inst.calls >= v.cat.cfg.RecycleAfterCalls:
			reason = "recycled_calls"
		case inst.memoryPages() > uint32(v.cat.cfg.RecycleMemoryPages):
			reason = "recycled_memory"
		}
	}
	if reason != "" {
		v.discard(inst, reason)
	} else {
		inst.pending = nil
		v.idle <- inst
	}
	<-v.slots
}

func (v *version) discard(inst *instance, reason string) {
	inst.close()
	v.live.Add(-1)
	v.cat.metrics.discarded.WithLabelValues(v.id, reason).Inc()
}

// retire closes the version once the calls in flight have finished.
func (v *version) retire() {
	v.retired.Store(true)
	go func() {
		v.inflight.Wait()
		v.closeIdle()
		v.compiled.Close(context.Background())
		v.cat.forgetSeries(v)
	}()
}

func (v *version) closeIdle() {
	for {
		select {
		case inst := <-v.idle:
			v.discard(inst, "reload")
		default:
			return
		}
	}
}

// call runs one export round trip on a pooled instance: write req, call hub_invoke, read the
// result. ctx carries cs for the host functions (newCallDeadline).
func (v *version) call(ctx context.Context, cs *callState, req []byte) ([]byte, error) {
	inst, err := v.acquire(ctx)
	if err != nil {
		return nil, &callError{reason: "deadline", err: err}
	}
	cs.inst = inst
	inst.sleep.during(ctx)
	release := func(reason string) {
		inst.sleep.idle() // before the instance can serve another call
		v.release(inst, reason)
	}
	inst.out.reset()
	inst.calls++
	limit := uint32(v.cat.cfg.MemoryLimitPages)
	ptr, err := inst.write(ctx, req)
	if err != nil {
		ce := inst.classify(ctx, abi.ExportAlloc, err, limit)
		release(ce.reason)
		return nil, ce
	}
	stack := inst.stack[:] // the arguments in, the result out, without a slice per call
	stack[0], stack[1] = uint64(ptr), uint64(len(req))
	if err := inst.invoke.CallWithStack(ctx, stack); err != nil {
		ce := inst.classify(ctx, abi.ExportInvoke, err, limit)
		release(ce.reason)
		return nil, ce
	}
	out, err := inst.read(stack[0], int64(v.cat.cfg.MaxResponseBytes))
	release("")
	return out, err
}

// describeWith reads the manifest from inst and checks it under lim.
func describeWith(ctx context.Context, inst *instance, limit int64, lim abi.Limits, limitPages uint32) (*abi.Manifest, error) {
	inst.out.reset()
	inst.sleep.during(ctx)
	defer inst.sleep.idle()
	res, err := inst.describe.Call(ctx)
	if err != nil {
		return nil, inst.classify(ctx, abi.ExportDescribe, err, limitPages)
	}
	b, err := inst.read(res[0], limit)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", abi.ExportDescribe, err)
	}
	m, err := abi.DecodeManifestLimits(b, lim)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", abi.ExportDescribe, err)
	}
	return m, nil
}
