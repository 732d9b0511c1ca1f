package dataset

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mlpviz/mlpviz/catalog"
)

// DefaultDir returns where datasets are cached when Options.Dir is empty:
// os.UserCacheDir()/mlpviz/data, or ./data when the system has no cache
// directory, so repeated runs reuse downloads.
func DefaultDir() string {
	if dir, err := os.UserCacheDir(); err == nil && dir != "" {
		return filepath.Join(dir, "mlpviz", "data")
	}
	return "data"
}

// stallTimeout aborts a download that receives no bytes for this long; the
// whole transfer has no deadline because CIFAR-10 is 170 MB.
const stallTimeout = 60 * time.Second

// defaultClient bounds the connection phases but not the body, which
// stallTimeout watches instead.
func defaultClient() *http.Client {
	tr, ok := http.DefaultTransport.(*http.Transport)
	if ok {
		tr = tr.Clone()
	} else {
		tr = &http.Transport{Proxy: http.ProxyFromEnvironment}
	}
	tr.DialContext = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = 15 * time.Second
	tr.ResponseHeaderTimeout = 60 * time.Second
	return &http.Client{Transport: tr}
}

// resolver finds a verified local path for every file of one dataset.
type resolver struct {
	name    string
	spec    *catalog.Dataset
	dir     string // <cache>/<name>
	opt     Options
	mirrors []string
	client  *http.Client
	// deadHosts remembers mirrors whose connection failed, so an offline
	// machine does not wait for every file on every mirror.
	deadHosts map[string]error

	offlineDir    string // GoMNIST data folder, once looked up
	offlineLooked bool
}

// missing is a file that could not be obtained.
type missing struct {
	file   string
	badSum string // md5 of the corrupt cached copy; "" when there was none
	err    error
}

// resolve returns file name -> path of a copy whose md5 matches.
func (r *resolver) resolve(ctx context.Context) (map[string]string, error) {
	paths := map[string]string{}
	var failed []missing
	for _, file := range r.spec.FileNames() {
		want := r.checksum(file)
		cached := filepath.Join(r.dir, file)
		got, present, err := cachedSum(cached)
		if err != nil {
			return nil, fmt.Errorf("dataset %s: %w", r.name, err)
		}
		badSum := ""
		if present {
			if got == want {
				paths[file] = cached
				continue
			}
			badSum = got
			r.progressf("%s: %s has md5 %s, want %s; fetching a fresh copy\n", r.name, cached, got, want)
		}
		if p := r.offlineCopy(ctx, file, want); p != "" {
			paths[file] = p
			continue
		}
		if err := r.download(ctx, file, want); err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("dataset %s: download %s: %w", r.name, file, ctx.Err())
			}
			var de *dirError
			if errors.As(err, &de) {
				return nil, fmt.Errorf("dataset %s: %w", r.name, err)
			}
			failed = append(failed, missing{file: file, badSum: badSum, err: err})
			continue
		}
		paths[file] = cached
	}
	if len(failed) > 0 {
		return nil, r.unavailable(failed)
	}
	return paths, nil
}

// MissingError reports dataset files that could be neither found in the
// cache nor downloaded, with all a user needs to fetch them by hand.
type MissingError struct {
	Dataset string
	Dir     string   // the folder the files belong in: <cache>/<dataset>
	Files   []string // every file that is missing or corrupt
	Corrupt []string // "cached PATH has md5 X, want Y", one per corrupt copy
	Mirrors []string
	Offline bool  // downloads were off
	Err     error // why the download failed, when it was tried
}

// Reason is why the files could not be fetched, in a few words.
func (e *MissingError) Reason() string {
	if e.Offline {
		return "downloads are off"
	}
	var ae attemptsError
	if errors.As(e.Err, &ae) && len(ae) > 0 {
		return "the download failed: " + ae[0].Error() // the first mirror's reason is enough
	}
	return "the download failed: " + e.Err.Error()
}

func (e *MissingError) Error() string {
	what := "missing " + strings.Join(e.Files, ", ")
	if len(e.Corrupt) > 0 {
		what = strings.Join(e.Corrupt, "; ")
	}
	return fmt.Sprintf("dataset %s: %s in %s, and %s; get %s from %s",
		e.Dataset, what, e.Dir, e.Reason(), pronoun(len(e.Files)), strings.Join(e.Mirrors, " or "))
}

func (e *MissingError) Unwrap() error { return e.Err }

// unavailable builds the error for files that could be neither found nor
// downloaded.
func (r *resolver) unavailable(failed []missing) error {
	e := &MissingError{Dataset: r.name, Dir: r.dir, Mirrors: r.mirrors, Offline: r.opt.Offline, Err: failed[0].err}
	for _, m := range failed {
		e.Files = append(e.Files, m.file)
		if m.badSum != "" {
			e.Corrupt = append(e.Corrupt, fmt.Sprintf("cached %s has md5 %s, want %s",
				filepath.Join(r.dir, m.file), m.badSum, r.checksum(m.file)))
		}
	}
	return e
}

// dirError reports a cache directory that cannot be written; trying other
// mirrors would not help.
type dirError struct {
	dir string
	err error
}

func (e *dirError) Error() string {
	return fmt.Sprintf("cache directory %s is not writable: %v", e.dir, e.err)
}

func (e *dirError) Unwrap() error { return e.err }

// attemptsError lists why each mirror failed, on one line.
type attemptsError []error

func (e attemptsError) Error() string {
	msgs := make([]string, len(e))
	for i, err := range e {
		msgs[i] = err.Error()
	}
	return strings.Join(msgs, "; ")
}

func (e attemptsError) Unwrap() []error { return e }

// download fetches file from each mirror in turn into the cache directory,
// keeping it only if its md5 matches want.
func (r *resolver) download(ctx context.Context, file, want string) error {
	if r.opt.Offline {
		return errOffline
	}
	if err := r.ensureDir(); err != nil {
		return err
	}
	if len(r.mirrors) == 0 {
		return errors.New("no mirrors configured")
	}
	var errs attemptsError
	for _, base := range r.mirrors {
		if err, dead := r.deadHosts[base]; dead {
			errs = append(errs, fmt.Errorf("skipped %s after earlier failure: %w", base, err))
			continue
		}
		url := base
		if !strings.HasSuffix(url, "/") {
			url += "/"
		}
		url += file
		err := r.fetch(ctx, url, file, want)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var de *dirError
		if errors.As(err, &de) {
			return err
		}
		var ce *connError
		if errors.As(err, &ce) {
			r.deadHosts[base] = ce.err
		}
		errs = append(errs, err)
		r.progressf("%s: %v\n", r.name, err)
	}
	return errs
}

var errOffline = errors.New("downloads are off")

// connError marks a failure to reach a mirror at all.
type connError struct{ err error }

func (e *connError) Error() string { return e.err.Error() }
func (e *connError) Unwrap() error { return e.err }

// ensureDir creates the cache directory on first need, so loading from an
// already complete read-only cache works.
func (r *resolver) ensureDir() error {
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		return &dirError{dir: r.dir, err: err}
	}
	return nil
}

// fetch downloads url to <file>.part, checks its md5 and renames it into
// place, so an interrupted or bad transfer never looks like a cached file.
func (r *resolver) fetch(ctx context.Context, url, file, want string) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	watchdog := time.AfterFunc(stallTimeout, func() { cancel(errStalled) })
	defer watchdog.Stop()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	client := r.opt.Client
	if client == nil {
		if r.client == nil {
			r.client = defaultClient()
		}
		client = r.client
	}
	resp, err := client.Do(req)
	if err != nil {
		return &connError{err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}

	final := filepath.Join(r.dir, file)
	part := final + ".part"
	f, err := os.Create(part)
	if err != nil {
		return &dirError{dir: r.dir, err: err}
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(part)
		}
	}()

	h := md5.New()
	pw := &progressWriter{w: r.opt.Progress, label: r.name + ": " + file, total: resp.ContentLength}
	pw.start(url)
	body := &watchReader{r: resp.Body, watchdog: watchdog}
	if _, err := io.Copy(io.MultiWriter(f, h, pw), body); err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return &dirError{dir: r.dir, err: err}
		}
		if errors.Is(context.Cause(ctx), errStalled) {
			err = errStalled
		}
		return fmt.Errorf("GET %s: %w", url, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("GET %s: checksum mismatch: md5 %s, want %s", url, got, want)
	}
	if err := f.Sync(); err != nil {
		return &dirError{dir: r.dir, err: err}
	}
	if err := f.Close(); err != nil {
		return &dirError{dir: r.dir, err: err}
	}
	if err := os.Rename(part, final); err != nil {
		return &dirError{dir: r.dir, err: err}
	}
	ok = true
	pw.finish()
	return nil
}

// errStalled is the cause given to a download's context by its watchdog.
var errStalled = fmt.Errorf("no data received for %v", stallTimeout)

// watchReader postpones the stall watchdog whenever bytes arrive.
type watchReader struct {
	r        io.Reader
	watchdog *time.Timer
}

func (w *watchReader) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	if n > 0 {
		w.watchdog.Reset(stallTimeout)
	}
	return n, err
}

// progressWriter counts bytes and prints a line every quarter of the file
// (or every 16 MiB when the size is unknown), so logs stay short.
type progressWriter struct {
	w     io.Writer
	label string
	total int64
	done  int64
	next  int64
}

const unknownSizeStep = 16 << 20

func (p *progressWriter) start(url string) {
	if p.w == nil {
		return
	}
	size := "unknown size"
	if p.total > 0 {
		size = mb(p.total)
		p.next = p.total / 4
	} else {
		p.next = unknownSizeStep
	}
	fmt.Fprintf(p.w, "%s: downloading %s (%s)\n", p.label, url, size)
}

func (p *progressWriter) Write(b []byte) (int, error) {
	p.done += int64(len(b))
	if p.w == nil || p.done < p.next {
		return len(b), nil
	}
	if p.total > 0 {
		if p.done < p.total {
			fmt.Fprintf(p.w, "%s: %s / %s (%d%%)\n", p.label, mb(p.done), mb(p.total), p.done*100/p.total)
		}
		for p.next <= p.done {
			p.next += p.total / 4
			if p.total/4 == 0 {
				p.next = p.total + 1
			}
		}
	} else {
		fmt.Fprintf(p.w, "%s: %s\n", p.label, mb(p.done))
		p.next = p.done + unknownSizeStep
	}
	return len(b), nil
}

func (p *progressWriter) finish() {
	if p.w == nil {
		return
	}
	if p.total > 0 {
		fmt.Fprintf(p.w, "%s: %s / %s (100%%), checksum ok\n", p.label, mb(p.done), mb(p.total))
	} else {
		fmt.Fprintf(p.w, "%s: %s, checksum ok\n", p.label, mb(p.done))
	}
}

func mb(n int64) string {
	if n < 1e6 {
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}

func (r *resolver) progressf(format string, args ...any) {
	if r.opt.Progress != nil {
		fmt.Fprintf(r.opt.Progress, format, args...)
	}
}

// cachedSum returns the md5 of the file at path, with present false when it
// cannot be opened: whatever the reason, it is then fetched afresh, and a
// broken cache directory is reported when the download tries to write.
func cachedSum(path string) (sum string, present bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", false, nil
	}
	defer f.Close()
	sum, err = md5Reader(path, f)
	return sum, err == nil, err
}

// md5File returns the hex md5 of the file at path.
func md5File(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	return md5Reader(path, f)
}

func md5Reader(path string, f io.Reader) (string, error) {
	h := md5.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func pronoun(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}
