package results

// SetStepHook makes the package call hook at every step of every change
// it makes to the file system, failing the step when hook returns an
// error; for tests.
func SetStepHook(hook func() error) { stepHook = hook }

// SetCurrentBuild makes CurrentBuild return b until restore is called.
var SetCurrentBuild = setCurrentBuild

// Fingerprint is fingerprint, for tests.
var Fingerprint = fingerprint

// ReadLimited is readLimited, for tests.
var ReadLimited = readLimited
