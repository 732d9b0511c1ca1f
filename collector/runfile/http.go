package runfile

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// URLOptions are the settings of OpenURL; the zero value serves.
type URLOptions struct {
	// Token is sent as "Authorization: Bearer" to a server started with
	// --token; a token=… in the URL's query takes precedence.
	Token string
	// Patience is how long a read of bytes the file already has keeps
	// retrying through a server that does not answer before it fails with
	// ErrUnreachable (default 30 s). Looking for new passes (Refresh)
	// never waits: it reports the outage and the next look retries.
	Patience time.Duration
	// CacheBytes bounds the memory of the blocks kept (default 64 MiB).
	CacheBytes int64
}

// ErrUnreachable is in the errors of a Reader over HTTP while its server
// does not answer: the run is not damaged, and looking again later (Refresh)
// goes on where it stopped.
var ErrUnreachable = errors.New("the server does not answer")

// unreachableError is a failure that retrying may mend: a refused or
// dropped connection, a response cut short, a busy server.
type unreachableError struct{ cause string }

func (e *unreachableError) Error() string   { return ErrUnreachable.Error() + " (" + e.cause + ")" }
func (e *unreachableError) Is(t error) bool { return t == ErrUnreachable }

// FileIDHeader names the file a response came from (mlpviz serve sends
// its device and inode), so that a reader notices when another run is put
// at the URL it follows.
const FileIDHeader = "Mlpv-File-Id"

// IsURL reports whether name is an http:// or https:// URL rather than a
// path.
func IsURL(name string) bool {
	l := strings.ToLower(name)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}

// OpenURL opens a run file served over HTTP (mlpviz serve, or any server
// that honours Range requests) as Open opens a local one: Refresh follows
// it while it grows. Bytes are fetched in aligned blocks and cached, so
// that no pass is downloaded twice while the cache holds it. The Reader's
// name is the URL without its token.
func OpenURL(rawURL string, opt URLOptions) (*Reader, error) {
	s, err := newHTTPSource(rawURL, opt)
	if err != nil {
		return nil, err
	}
	if err := s.probe(); err != nil {
		s.Close()
		return nil, fmt.Errorf("%s: %w", s.url, err)
	}
	return newReader(s, s.url)
}

// httpSource reads a run file from a server with Range requests. Reads of
// bytes the file already has (ReadAt) fetch what the cache lacks and wait
// through outages; the tail (size) is fetched by a goroutine started on the
// first Refresh, so that following a run never waits on the network.
type httpSource struct {
	url      string // without the token: it also names the run in messages
	token    string
	client   *http.Client
	cache    *blockCache
	patience time.Duration
	ctx      context.Context // cancelled by Close, ending requests in flight
	cancel   context.CancelFunc

	mu       sync.Mutex
	id       string // the file the first response came from
	swapped  bool   // a later response came from another file
	have     int64  // the file has at least this many bytes
	told     int64  // the size last reported to the Reader
	opened   bool   // size has answered once (for Open)
	shrunk   int64  // -1, or a size the server gave below have
	down     error  // the last failure, nil while the server answers
	failures int    // failures in a row, for the backoff
	retryAt  time.Time
	perm     error // a failure that retrying cannot mend
	kick     chan struct{}
	done     chan struct{} // closed when the tail goroutine returns; nil before it starts
}

func newHTTPSource(rawURL string, opt URLOptions) (*httpSource, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		shown, _, _ := strings.Cut(rawURL, "?") // the query may hold a token
		return nil, fmt.Errorf("%q is not an http:// URL of a run file", shown)
	}
	token := opt.Token
	q := u.Query()
	if t := q.Get("token"); t != "" {
		token = t
	}
	q.Del("token")
	u.RawQuery = q.Encode()
	u.User = nil
	u.Fragment = ""
	ctx, cancel := context.WithCancel(context.Background())
	s := &httpSource{
		url: u.String(), token: token,
		cache: newBlockCache(orDefault(opt.CacheBytes, 64<<20)), patience: orDefault(opt.Patience, 30*time.Second),
		ctx: ctx, cancel: cancel, shrunk: -1, kick: make(chan struct{}, 1),
	}
	s.client = &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ResponseHeaderTimeout: 10 * time.Second,
		IdleConnTimeout:       30 * time.Second,
		MaxIdleConnsPerHost:   2,
	}}
	return s, nil
}

// orDefault is v, or def when v is zero or negative.
func orDefault[T int64 | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// probe makes the first request: it learns the file's size and fetches its
// first block, which holds the header. It does not retry: a server that
// does not answer, or refuses the token, is reported at once.
func (s *httpSource) probe() error {
	size, err := s.fetch(0, blockSize, 0, func(off int64, b []byte) { s.cache.put(off, b) })
	if err != nil && !(errors.Is(err, ErrUnreachable) && size > 0) { // cut short: reads fetch the rest
		return err
	}
	s.have = size
	return nil
}

// size reports how much of the file the Reader may read: what the server
// had at the last look. It does not wait: it asks the tail goroutine to
// look again, and reports an outage only when no new bytes arrived
// meanwhile.
func (s *httpSource) size() (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.perm != nil:
		return 0, s.perm
	case s.shrunk >= 0:
		return s.shrunk, nil
	case !s.opened:
		s.opened, s.told = true, s.have
		return s.have, nil
	}
	if s.done == nil {
		s.done = make(chan struct{})
		go s.tail()
	}
	select {
	case s.kick <- struct{}{}:
	default: // a look is already asked for
	}
	if s.have > s.told || s.down == nil {
		s.told = s.have
		return s.have, nil
	}
	return s.told, s.down
}

// maxAhead is how far past what the Reader has scanned the tail is
// fetched, at most, in one look: a fraction of the cache, so that what was
// fetched is still there when the scan reads it.
func (s *httpSource) maxAhead() int64 { return s.cache.limit / 4 }

// tailWait is how long the tail asks the server to hold its request until
// new bytes come (mlpviz serve does): a viewer then asks once per new pass,
// not ten times a second, and gets it as soon as it is written.
const tailWait = 5 * time.Second

// tailGap spaces the tail's requests while passes come faster than a
// viewer shows them (its delay is 200 ms at the least), so that many
// viewers of a fast run cost its server a few requests a second each.
const tailGap = 250 * time.Millisecond

// tail fetches the bytes appended to the file whenever size asks, until
// Close. Bytes arrive into the cache and extend have as they come, so a
// response cut mid-record leaves a record cut short at the end: the Reader
// waits for the rest as it does on a local file being written.
func (s *httpSource) tail() {
	defer close(s.done)
	var last time.Time // when the last request went
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.kick:
		}
		s.mu.Lock()
		from, limit, backingOff := s.have, s.told+s.maxAhead(), time.Now().Before(s.retryAt)
		wait := tailWait
		if s.down != nil {
			wait = 0 // the first answer after an outage should come at once
		}
		s.mu.Unlock()
		if backingOff || from >= limit || time.Since(last) < tailGap {
			continue // backing off, far enough ahead of the Reader, or asked a moment ago
		}
		last = time.Now()
		size, err := s.fetch(s.cache.resume(from), limit, wait, func(off int64, b []byte) {
			s.cache.put(off, b)
			s.mu.Lock()
			if end := off + int64(len(b)); off <= s.have && end > s.have {
				s.have = end
			}
			s.mu.Unlock()
		})
		s.mu.Lock()
		if err == nil && size < s.have {
			s.shrunk = size
		}
		if errors.Is(err, ErrUnreachable) && s.have > from {
			err, last = nil, time.Time{} // cut short after some bytes: the next look fetches the rest
		}
		s.mu.Unlock()
		s.note(err)
	}
}

// note records how a request ended, for the backoff and for size.
func (s *httpSource) note(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case err == nil:
		s.down, s.failures = nil, 0
	case errors.Is(err, ErrUnreachable):
		s.down = err
		s.failures++
		s.retryAt = time.Now().Add(backoff(s.failures))
	case errors.Is(err, context.Canceled):
	default:
		s.perm = err
	}
}

// backoff is the wait before the next try after n failures in a row:
// doubling from 100 ms up to 5 s.
func backoff(n int) time.Duration {
	return min(100*time.Millisecond<<min(n-1, 6), 5*time.Second)
}

// ReadAt reads bytes the file has: from the cache, fetching the blocks it
// lacks. Through an outage it retries with backoff for up to the patience
// since the last byte arrived.
func (s *httpSource) ReadAt(p []byte, off int64) (int, error) {
	done := 0
	deadline := time.Now().Add(s.patience)
	for {
		if done += s.cache.read(p[done:], off+int64(done)); done == len(p) {
			return done, nil
		}
		s.mu.Lock()
		perm, wait := s.perm, time.Until(s.retryAt)
		s.mu.Unlock()
		if perm != nil {
			return done, perm
		}
		if wait > 0 {
			select {
			case <-time.After(wait):
			case <-s.ctx.Done():
				return done, fmt.Errorf("%s is closed", s.url)
			}
		}
		next := off + int64(done)
		// Whole blocks, so that the next read finds them cached; bytes
		// before next count as progress too, filling the cache up to it.
		end := (off + int64(len(p)) + blockSize - 1) / blockSize * blockSize
		arrived := false
		_, err := s.fetch(s.cache.resume(next), end, 0, func(at int64, b []byte) {
			arrived = true
			s.cache.put(at, b)
			if at <= next && at+int64(len(b)) > next {
				k := copy(p[done:], b[next-at:])
				done += k
				next += int64(k)
			}
		})
		if arrived && errors.Is(err, ErrUnreachable) {
			err = nil // cut short after some bytes: go on from there at once
		}
		s.note(err)
		switch {
		case err == nil && !arrived:
			return done, fmt.Errorf("the file on the server ends before byte %d", off+int64(len(p)))
		case err == nil:
			deadline = time.Now().Add(s.patience)
		case !errors.Is(err, ErrUnreachable):
			return done, err
		case time.Now().After(deadline):
			return done, err
		}
	}
}

func (s *httpSource) replaced() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.swapped
}

// Close ends the tail goroutine and any request in flight.
func (s *httpSource) Close() error {
	s.cancel()
	s.mu.Lock()
	done := s.done
	s.mu.Unlock()
	if done != nil {
		<-done
	}
	s.client.CloseIdleConnections()
	return nil
}
