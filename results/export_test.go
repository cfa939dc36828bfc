package results

// SetStepHook makes the package call hook before every change it makes
// to the file system, for tests.
func SetStepHook(hook func()) { stepHook = hook }

// SetCurrentBuild makes CurrentBuild return b until restore is called.
var SetCurrentBuild = setCurrentBuild

// Fingerprint is fingerprint, for tests.
var Fingerprint = fingerprint
