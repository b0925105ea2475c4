// Package logtest collects what a logger writes, for tests that read a component's log.
package logtest

import (
	"bytes"
	"sync"
)

// Buffer is a bytes.Buffer that loggers on several goroutines may write to while a test
// reads it.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
