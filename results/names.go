package results

// ValidID reports whether id is usable as a run ID, and so as the name of
// a file or folder inside a result set: letters, digits, '.', '_' and '-',
// starting with a letter or a digit, so that it can name nothing outside
// the folder it is joined to ("..", "/", "\" and absolute paths are
// refused). Experiment names follow the same rule, since they name the
// default result-set folder.
func ValidID(id string) error { return validID(id) }
