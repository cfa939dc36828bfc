//go:build unix

package experiments

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSpecFIFORefused checks that a named pipe is refused at once, not
// opened (which would wait for a writer).
func TestSpecFIFORefused(t *testing.T) {
	p := filepath.Join(t.TempDir(), "spec.toml")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Skip("no named pipes here:", err)
	}
	done := make(chan error, 1)
	go func() { _, err := ReadSpecFile(p); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("got %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ReadSpecFile waited on a named pipe")
	}
}
