package experiments

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// Interrupts returns two contexts derived from parent for a [Runner]: stop,
// cancelled by the first SIGINT or SIGTERM, to pass to [Runner.Run] so that
// no new run starts; and abandon, cancelled by the second, to set as
// [Runner.RunContext] so that runs in progress give up. Until release is
// called the signals no longer end the process; release restores them.
func Interrupts(parent context.Context) (stop, abandon context.Context, release func()) {
	stop, cancelStop := context.WithCancel(parent)
	abandon, cancelAbandon := context.WithCancel(parent)
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		for n := 0; ; n++ {
			select {
			case <-ch:
				if n == 0 {
					cancelStop()
				} else {
					cancelAbandon()
				}
			case <-done:
				return
			}
		}
	}()
	release = func() {
		signal.Stop(ch)
		close(done)
		cancelStop()
		cancelAbandon()
	}
	return stop, abandon, release
}
