//go:build !unix

package runfile

import "os"

// Without flock(2) a run file is not locked: two writers are not kept apart.
func lock(*os.File, string) error { return nil }
func unlock(*os.File)             {}
func locked(string) error         { return nil }
