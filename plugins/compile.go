package plugins

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/exec"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	wazero "github.com/samyfodil/wazy"

	"github.com/aquascene/aquahub/plugins/internal/wasmscan"
)

// CompilerCommand is the argument that makes a program run RunCompiler: `aquahub
// __compile-module …` is how the hub compiles a module in a child process. It is not a
// command for people, and help does not list it.
const CompilerCommand = "__compile-module"

// runtimeConfig is the runtime configuration of cfg. The host and the compiling child use
// the same one, so that the child's compiled code is what the host finds in the cache.
func runtimeConfig(cfg Config) wazero.RuntimeConfig {
	return wazero.NewRuntimeConfig().
		WithMemoryLimitPages(uint32(cfg.MemoryLimitPages)).
		WithTableLimitElements(maxTableElements)
}

// maxTableElements bounds a module's tables, which an instance allocates whole: a Go
// connector's function table has about 7000 entries.
const maxTableElements = 1 << 20

// scanLimits are the pre-compile limits of the settings.
func (c Config) scanLimits() wasmscan.Limits {
	return wasmscan.Limits{
		MaxFunctions: c.MaxFunctions, MaxFunctionLocals: c.MaxFunctionLocals,
		MaxTotalLocals: int64(c.MaxTotalLocals), MaxNesting: c.MaxNesting,
	}
}

// compile turns a module's bytes into compiled code: the pre-compile scan first, then, with
// Deps.CompileCommand, compilation in a child process bounded in memory and time that
// leaves the code in the compilation cache, and the host's own compilation, which then
// finds it there.
func (c *Catalog) compile(ctx context.Context, b []byte) (wazero.CompiledModule, error) {
	if _, err := wasmscan.Scan(b, c.cfg.scanLimits()); err != nil {
		var le *wasmscan.LimitError
		if errors.As(err, &le) {
			return nil, fmt.Errorf("before compiling: %w (connectors.%s)", err, scanSetting(le.What))
		}
		return nil, fmt.Errorf("not a valid WebAssembly module: %w", err)
	}
	if len(c.deps.CompileCommand) > 0 {
		if err := c.compileInChild(ctx, b); err != nil {
			return nil, err
		}
	}
	compiled, err := c.rt.CompileModule(ctx, b)
	if err != nil {
		return nil, fmt.Errorf("not a valid WebAssembly module: %w", err)
	}
	return compiled, nil
}

// scanSetting names the setting behind a pre-compile limit.
func scanSetting(what string) string {
	switch {
	case what == "functions":
		return "max_functions"
	case what == "locals":
		return "max_function_locals"
	case strings.HasPrefix(what, "locals of all"):
		return "max_total_locals"
	case what == "nested blocks":
		return "max_nesting"
	}
	return "limits"
}

// compileInChild runs the compiling child on b and explains how it failed.
func (c *Catalog) compileInChild(ctx context.Context, b []byte) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.CompileTimeout)
	defer cancel()
	args := append(append([]string(nil), c.deps.CompileCommand[1:]...),
		"-cache", c.cacheDirPath,
		"-memory-limit-pages", strconv.Itoa(c.cfg.MemoryLimitPages),
		"-max-memory", strconv.FormatInt(int64(c.cfg.CompileMemory), 10),
		"-max-cpu", strconv.Itoa(int(c.cfg.CompileTimeout/time.Second)+1),
	)
	cmd := exec.CommandContext(ctx, c.deps.CompileCommand[0], args...)
	cmd.Stdin = bytes.NewReader(b)
	stderr := &headBuffer{max: 4 << 10}
	cmd.Stdout, cmd.Stderr = io.Discard, stderr
	cmd.WaitDelay = time.Second
	start := time.Now()
	err := cmd.Run()
	if err == nil {
		return nil
	}
	text := strings.TrimSpace(string(stderr.buf))
	switch {
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("compiling took longer than %s (connectors.compile_timeout)", c.cfg.CompileTimeout)
	case ctx.Err() != nil:
		return fmt.Errorf("compiling: %w", ctx.Err())
	case strings.Contains(text, "out of memory") || strings.Contains(text, "cannot allocate memory") ||
		strings.Contains(text, "pthread_create failed"):
		return fmt.Errorf("compiling needed more than %s of memory (connectors.compile_memory)", byteSize(int64(c.cfg.CompileMemory)))
	case strings.Contains(text, compileFailed):
		return fmt.Errorf("not a valid WebAssembly module: %s", strings.TrimSpace(text[strings.Index(text, compileFailed)+len(compileFailed):]))
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) && !exit.Exited() {
		// Killed by a signal: the CPU limit (SIGKILL after SIGXCPU) or the kernel's OOM killer.
		// The compiler runs on several threads, so the CPU limit can end it before the wall
		// clock's timeout does; the CPU it used says which bound it met.
		if cpu := exit.UserTime() + exit.SystemTime(); cpu >= c.cfg.CompileTimeout*9/10 {
			return fmt.Errorf("compiling took longer than %s of CPU time (connectors.compile_timeout)", c.cfg.CompileTimeout)
		}
		return fmt.Errorf("compiling was stopped after %s (%s): over the time or memory bound (connectors.compile_timeout, connectors.compile_memory)", time.Since(start).Round(time.Millisecond), exit)
	}
	if text == "" {
		return fmt.Errorf("compiling in a child process: %w", err)
	}
	return fmt.Errorf("compiling in a child process: %w: %s", err, clip(text, 1024))
}

// headBuffer keeps the first max bytes written: where the Go runtime and the child put
// what went wrong, before any stack trace.
type headBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (h *headBuffer) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if room := h.max - len(h.buf); room > 0 {
		h.buf = append(h.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// compileFailed starts the child's report of a module that does not compile.
const compileFailed = "compile failed:"

// RunCompiler is the compiling child: it reads a module from stdin, compiles and validates
// it into the compilation cache named by its arguments, and returns the exit code (0 when
// the module compiled). Before reading, it limits its own address space and CPU time as
// its arguments say, so that a module built to exhaust a compiler ends this process, not
// the hub. The hub runs it as `aquahub __compile-module`; tests run their own binary.
func RunCompiler(args []string, stdin io.Reader, stderr io.Writer) int {
	fs := flag.NewFlagSet(CompilerCommand, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cacheDir := fs.String("cache", "", "compilation cache directory (empty: compile and discard)")
	pages := fs.Int("memory-limit-pages", DefaultConfig().MemoryLimitPages, "the host's memory_limit_pages")
	maxMemory := fs.Int64("max-memory", 0, "address space limit in bytes (0: none)")
	maxCPU := fs.Int("max-cpu", 0, "CPU time limit in seconds (0: none)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *maxMemory > 0 {
		// The collector works harder as the hard limit nears, rather than letting garbage
		// take the room.
		debug.SetMemoryLimit(*maxMemory * 3 / 4)
	}
	if err := limitProcess(*maxMemory, *maxCPU); err != nil {
		fmt.Fprintln(stderr, "limiting the compiling process:", err)
		return 2
	}
	b, err := io.ReadAll(stdin)
	if err != nil {
		fmt.Fprintln(stderr, "reading the module:", err)
		return 2
	}
	ctx := context.Background()
	rc := runtimeConfig(Config{MemoryLimitPages: *pages})
	if *cacheDir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(*cacheDir)
		if err != nil {
			fmt.Fprintln(stderr, "compilation cache:", err)
			return 2
		}
		rc = rc.WithCompilationCache(cache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, rc)
	defer rt.Close(ctx)
	if _, err := rt.CompileModule(ctx, b); err != nil {
		fmt.Fprintln(stderr, compileFailed, err)
		return 1
	}
	return 0
}

// byteSize writes n in the largest binary unit that divides it.
func byteSize(n int64) string {
	for _, u := range []struct {
		name string
		size int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.size && n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10) + " bytes"
}
