package probe

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// Report is what a probe run writes: the kernel the clients ran on and the
// measurements.
type Report struct {
	// Kernel is the kernel release (uname -r) of the clients.
	Kernel string `json:"kernel"`
	// Measurements are [Run]'s, in order.
	Measurements []Measurement `json:"measurements"`
}

// KernelRelease returns the running kernel's release, or "" if it cannot
// be read.
func KernelRelease() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// Write writes r as indented JSON.
func (r Report) Write(w io.Writer) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// ReadReport reads a [Report], or a bare JSON array of measurements.
func ReadReport(rd io.Reader) (Report, error) {
	b, err := io.ReadAll(rd)
	if err != nil {
		return Report{}, err
	}
	var r Report
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '[' {
		err = json.Unmarshal(t, &r.Measurements)
	} else {
		err = json.Unmarshal(t, &r)
	}
	if err != nil {
		return Report{}, fmt.Errorf("probe: reading a report: %w", err)
	}
	return r, nil
}
