package model

// OverloadError is the error of a run stopped because a station (the NFS
// server or a backend's CPUs) could not keep up with its load: its queue
// grew past any steady state, so its latencies would grow without bound.
type OverloadError struct {
	// Station names the overloaded station: "the NFS server", "backend 3".
	Station string
	msg     string
}

// Error describes the overload and what to change.
func (e *OverloadError) Error() string { return e.msg }
