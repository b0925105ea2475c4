package plugins

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	wazero "github.com/samyfodil/wazy"
	"github.com/samyfodil/wazy/api"
	"github.com/samyfodil/wazy/sys"

	"github.com/aquascene/aquahub/sdk/abi"
)

// instance is one initialised module. It is used by one goroutine at a time (taken from a
// pool); api.Function.Call is not safe for concurrent use.
type instance struct {
	mod      api.Module
	alloc    api.Function
	describe api.Function
	invoke   api.Function
	out      *tailBuffer
	calls    int
	// reuseInput is set when the module exports hub_reuse_input: input (inputCap bytes at
	// inputPtr, from the last hub_alloc) may be written again for every hub_invoke.
	reuseInput bool
	inputPtr   uint32
	inputCap   uint32
	// allocs counts hub_alloc calls (tests check that reuse saves them).
	allocs int
	// pending is the result of the last http_request or kv_get, waiting for take_result.
	pending []byte
	// sleep is how the guest sleeps (WASI poll_oneoff on a clock).
	sleep *sleeper
	// stack holds hub_invoke's two arguments and then its result (CallWithStack).
	stack [2]uint64
}

// sleeper puts a guest to sleep for real, until the call's context ends: without it the
// runtime returns from every sleep at once and a Go guest's scheduler spins a host core for
// as long as it meant to wait.
type sleeper struct {
	done atomic.Pointer[context.Context]
}

// during makes sleeps end when ctx does.
func (s *sleeper) during(ctx context.Context) { s.done.Store(&ctx) }

// idle is the state between calls: no context to end a sleep.
func (s *sleeper) idle() { s.done.Store(nil) }

// nanosleep implements sys.Nanosleep.
func (s *sleeper) nanosleep(ns int64) {
	if ns <= 0 {
		return
	}
	var done <-chan struct{}
	if ctx := s.done.Load(); ctx != nil {
		done = (*ctx).Done()
		if (*ctx).Err() != nil {
			return
		}
	}
	t := time.NewTimer(time.Duration(ns))
	defer t.Stop()
	select {
	case <-t.C:
	case <-done:
	}
}

// tailBuffer keeps the last max bytes written: the guest's stdout and stderr.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) reset() {
	t.mu.Lock()
	t.buf = t.buf[:0]
	t.mu.Unlock()
}

// guestSays quotes what a guest wrote, so that its words (new lines, terminal escapes, a
// forged "fatal error:" line) cannot pass for the host's in an error or a log.
func guestSays(text string) string { return "guest stderr: " + strconv.Quote(text) }

// crashText returns what best explains a crash: from the last "panic:" or "fatal error:"
// line on (the Go runtime's report), else the last lines, at most 1 KiB. It is the guest's
// text: report it through guestSays.
func (t *tailBuffer) crashText() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buf
	i := max(bytes.LastIndex(b, []byte("panic: ")), bytes.LastIndex(b, []byte("fatal error: ")))
	if i >= 0 {
		b = b[i:]
	}
	const limit = 1024
	if len(b) > limit {
		if i >= 0 {
			b = b[:limit]
		} else {
			b = b[len(b)-limit:]
		}
	}
	return strings.TrimSpace(string(b))
}

var errMissingExport = errors.New("missing export")

// instantiate creates and initialises an instance of compiled. The context bounds
// _initialize.
func instantiate(ctx context.Context, rt wazero.Runtime, compiled wazero.CompiledModule) (*instance, error) {
	out := &tailBuffer{max: 16 << 10}
	sleep := &sleeper{}
	sleep.during(ctx)
	defer sleep.idle()
	cfg := wazero.NewModuleConfig().
		WithNanosleep(sleep.nanosleep).
		WithName("").
		WithStartFunctions(abi.ExportInitialize).
		WithStdout(out).
		WithStderr(out).
		WithSysWalltime().
		WithSysNanotime().
		WithRandSource(rand.Reader)
	// No WithFS, WithEnv or WithArgs: the guest sees no files, no environment and no args.
	mod, err := rt.InstantiateModule(guestMemory(ctx), compiled, cfg)
	if err != nil {
		if text := out.crashText(); text != "" {
			return nil, fmt.Errorf("initialising: %w: %s", err, guestSays(text))
		}
		return nil, fmt.Errorf("initialising: %w", err)
	}
	inst := &instance{
		mod:      mod,
		alloc:    mod.ExportedFunction(abi.ExportAlloc),
		describe: mod.ExportedFunction(abi.ExportDescribe),
		invoke:   mod.ExportedFunction(abi.ExportInvoke),
		out:      out,
		sleep:    sleep,
	}
	_, inst.reuseInput = compiled.ExportedFunctions()[abi.ExportReuseInput]
	if inst.alloc == nil || inst.describe == nil || inst.invoke == nil {
		mod.Close(context.Background())
		return nil, errMissingExport
	}
	return inst, nil
}

func (i *instance) close() { i.mod.Close(context.Background()) }

// memoryPages returns the instance's current linear memory size in pages.
func (i *instance) memoryPages() uint32 {
	if m := i.mod.Memory(); m != nil {
		return m.Size() / 65536
	}
	return 0
}

// callError describes a failed export call. broken means the instance must be discarded.
type callError struct {
	reason string // deadline, trap
	err    error
}

func (e *callError) Error() string { return e.err.Error() }

// classify turns an export call's error into a callError, reading the guest's output.
func (i *instance) classify(ctx context.Context, export string, err error, limitPages uint32) *callError {
	var exit *sys.ExitError
	if ctx.Err() != nil || (errors.As(err, &exit) && (exit.ExitCode() == sys.ExitCodeDeadlineExceeded || exit.ExitCode() == sys.ExitCodeContextCanceled)) {
		cause := "deadline exceeded"
		if errors.Is(ctx.Err(), context.Canceled) {
			cause = "canceled"
		}
		return &callError{reason: "deadline", err: fmt.Errorf("%s: %s", export, cause)}
	}
	text := i.out.crashText()
	// The guest's word alone does not make an out-of-memory failure: its memory must also
	// have grown to half the limit or more.
	pages := i.memoryPages()
	if strings.Contains(text, "out of memory") && (limitPages == 0 || pages >= limitPages/2) {
		return &callError{reason: "oom", err: fmt.Errorf("%s: out of memory (%d of %d pages in use): %s", export, pages, limitPages, guestSays(text))}
	}
	if text == "" {
		return &callError{reason: "trap", err: fmt.Errorf("%s: %v", export, err)}
	}
	return &callError{reason: "trap", err: fmt.Errorf("%s: %v: %s", export, err, guestSays(text))}
}

// read copies a packed range out of guest memory, refusing more than limit bytes.
func (i *instance) read(packed uint64, limit int64) ([]byte, error) {
	ptr, n := abi.Unpack(packed)
	if int64(n) > limit {
		return nil, &tooLargeError{size: int64(n), limit: limit}
	}
	b, ok := i.mod.Memory().Read(ptr, n)
	if !ok {
		return nil, fmt.Errorf("result range %d+%d is outside guest memory", ptr, n)
	}
	return bytes.Clone(b), nil
}

type tooLargeError struct{ size, limit int64 }

func (e *tooLargeError) Error() string {
	return fmt.Sprintf("connector response of %d bytes exceeds the %d byte limit (connectors.max_response_bytes); it was cut off", e.size, e.limit)
}

// minInputBuffer is the smallest buffer asked of a guest that reuses its input buffer, so
// that growing inputs do not cost an hub_alloc each.
const minInputBuffer = 4 << 10

// write copies b into guest memory and returns its pointer: into the buffer of an earlier
// hub_alloc when the guest allows reuse and b fits, else into a fresh hub_alloc buffer.
func (i *instance) write(ctx context.Context, b []byte) (uint32, error) {
	mem := i.mod.Memory()
	if i.reuseInput && i.inputCap > 0 && len(b) <= int(i.inputCap) {
		if !mem.Write(i.inputPtr, b) {
			return 0, fmt.Errorf("hub_alloc returned %d, outside guest memory", i.inputPtr)
		}
		return i.inputPtr, nil
	}
	size := uint32(len(b))
	if i.reuseInput {
		size = max(size, minInputBuffer)
		if n := uint64(len(b)); n > minInputBuffer && n+n/2 <= maxHostArgBytes {
			size = uint32(n + n/2) // room to grow without an hub_alloc per call
		}
	}
	i.allocs++
	res, err := i.alloc.Call(ctx, uint64(size))
	if err != nil {
		return 0, err
	}
	ptr := uint32(res[0])
	// The whole buffer must lie in memory, not only the bytes written now.
	if end := uint64(ptr) + uint64(size); end > uint64(mem.Size()) || !mem.Write(ptr, b) {
		i.inputCap = 0
		return 0, fmt.Errorf("hub_alloc returned %d, outside guest memory", ptr)
	}
	if i.reuseInput {
		i.inputPtr, i.inputCap = ptr, size
	}
	return ptr, nil
}
