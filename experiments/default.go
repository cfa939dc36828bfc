package experiments

import _ "embed"

//go:embed default.toml
var defaultTOML []byte

// DefaultTOML returns the embedded default experiment, the one `mailsim
// run` runs without a spec.
func DefaultTOML() []byte { return append([]byte(nil), defaultTOML...) }

// DefaultSpec decodes the embedded default experiment.
func DefaultSpec() (Spec, error) { return Decode[Spec]("default.toml", defaultTOML) }
