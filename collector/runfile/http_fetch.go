package runfile

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// requestTimeout bounds one request; a long read that it cuts goes on from
// where it stopped.
const requestTimeout = 30 * time.Second

// ErrUnauthorized is in the error of OpenURL when the server wants a token
// and none, or another, was given.
var ErrUnauthorized = errors.New("unauthorized")

// authError is a 401: the server's token is missing or wrong.
type authError struct{ sent bool }

func (e *authError) Error() string {
	if e.sent {
		return "the server refused the token (401 Unauthorized)"
	}
	return "the server wants a token (401 Unauthorized)"
}

func (e *authError) Is(t error) bool { return t == ErrUnauthorized }

// fetch asks for the bytes [from, to) and hands them to sink in order as
// they arrive (sink must copy them); the server sends fewer when the file
// ends sooner, and may wait for them up to wait when it has none. It returns the file's size as the server gave it. Failures
// that retrying may mend are ErrUnreachable; those it cannot are not.
func (s *httpSource) fetch(from, to int64, wait time.Duration, sink func(off int64, b []byte)) (int64, error) {
	ctx, cancel := context.WithTimeout(s.ctx, requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", from, to-1))
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	if wait > 0 { // a server that knows RFC 7240 holds a request for bytes not there yet
		req.Header.Set("Prefer", fmt.Sprintf("wait=%d", int(wait.Seconds())))
	}
	resp, err := s.client.Do(req)
	if err != nil {
		if s.ctx.Err() != nil {
			return 0, context.Canceled
		}
		return 0, &unreachableError{cause: netCause(err)}
	}
	defer func() {
		// Read to the end, so that the connection serves the next request.
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
	}()
	if err := s.sameFile(resp.Header.Get(FileIDHeader)); err != nil {
		return 0, err
	}
	switch resp.StatusCode {
	case http.StatusPartialContent:
		start, end, size, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != from || end < start {
			return 0, fmt.Errorf("the server answered bytes %d-%d with Content-Range %q", from, to-1, resp.Header.Get("Content-Range"))
		}
		return size, s.stream(resp.Body, from, end+1, sink)
	case http.StatusOK: // a server that ignores Range sends the whole file
		size := resp.ContentLength
		if size < 0 {
			return 0, errors.New("the server does not say how long the file is")
		}
		if from >= size {
			return size, nil
		}
		if _, err := io.CopyN(io.Discard, resp.Body, from); err != nil {
			return 0, s.cut(err, 0)
		}
		return size, s.stream(resp.Body, from, min(to, size), sink)
	case http.StatusRequestedRangeNotSatisfiable: // nothing from `from` on
		if _, _, size, ok := parseContentRange(resp.Header.Get("Content-Range")); ok {
			return size, nil
		}
		return 0, fmt.Errorf("the server refused bytes %d-%d without saying the file's size", from, to-1)
	}
	return 0, statusError(resp, s.token != "")
}

// stream hands the body, the bytes [from, to), to sink.
func (s *httpSource) stream(body io.Reader, from, to int64, sink func(off int64, b []byte)) error {
	buf := make([]byte, 64<<10)
	for off := from; off < to; {
		n, err := body.Read(buf[:min(int64(len(buf)), to-off)])
		if n > 0 {
			sink(off, buf[:n])
			off += int64(n)
		}
		if err != nil && off < to {
			return s.cut(err, off)
		}
	}
	return nil
}

// cut is the error of a body that ended at off before its end.
func (s *httpSource) cut(err error, off int64) error {
	if s.ctx.Err() != nil {
		return context.Canceled
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &unreachableError{cause: fmt.Sprintf("the response was cut short at byte %d", off)}
	}
	return &unreachableError{cause: fmt.Sprintf("the response broke off at byte %d: %s", off, netCause(err))}
}

// sameFile checks that a response came from the file the first one did.
func (s *httpSource) sameFile(id string) error {
	if id == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.id {
	case "":
		s.id = id
	case id:
	default:
		s.swapped = true
		return ErrReplaced
	}
	return nil
}

// netCause is what went wrong with a request, without the URL (and so
// without a token in its query).
func netCause(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Sprintf("no answer within %v", requestTimeout)
	}
	// "connection refused" says it; the addresses around it add nothing.
	var se *os.SyscallError
	if errors.As(err, &se) {
		return se.Err.Error()
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "the connection closed"
	}
	return err.Error()
}

// statusError is the error for an answer that is not the file: a refused
// token, a missing file, a busy server (which retrying may mend). It
// quotes the first line of the server's explanation.
func statusError(resp *http.Response, sentToken bool) error {
	what := resp.Status
	line, _ := bufio.NewReader(io.LimitReader(resp.Body, 300)).ReadString('\n')
	if line = strings.TrimSpace(strings.ToValidUTF8(line, "")); line != "" {
		what += ": " + line
	}
	switch c := resp.StatusCode; {
	case c == http.StatusUnauthorized:
		return &authError{sent: sentToken}
	case c == http.StatusNotFound:
		return fmt.Errorf("no such run on the server (%s)", what)
	case c == http.StatusTooManyRequests || c >= 500:
		return &unreachableError{cause: "the server is busy or failing: " + what}
	}
	return fmt.Errorf("the server refused it (%s)", what)
}

// parseContentRange reads "bytes FIRST-LAST/SIZE", or "bytes */SIZE"
// (then first and last are -1).
func parseContentRange(v string) (first, last, size int64, ok bool) {
	rest, found := strings.CutPrefix(v, "bytes ")
	if !found {
		return 0, 0, 0, false
	}
	span, total, found := strings.Cut(rest, "/")
	size, err := strconv.ParseInt(total, 10, 64)
	if !found || err != nil || size < 0 {
		return 0, 0, 0, false
	}
	if span == "*" {
		return -1, -1, size, true
	}
	a, b, found := strings.Cut(span, "-")
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	if !found || err1 != nil || err2 != nil || first < 0 || last >= size {
		return 0, 0, 0, false
	}
	return first, last, size, true
}
