package testenv

import (
	"bytes"
	"sync"
)

// LogBuffer is a bytes.Buffer that several goroutines may write to while
// another reads it: a logger's or a child process's output under test. Its
// zero value is empty and ready to use.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p; it never fails.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
