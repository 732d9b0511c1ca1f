package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
)

// client is one connection, so that it is logged once however many
// requests it makes.
type client struct {
	addr   string
	logged atomic.Bool
}

type clientKey struct{}

// withClient gives each connection's requests their client.
func withClient(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, clientKey{}, &client{addr: c.RemoteAddr().String()})
}

// logged writes one line per client: its first request and the answer.
func (s *Server) logged(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := r.Context().Value(clientKey{}).(*client)
		if c == nil { // served outside HTTPServer, as by httptest
			c = &client{addr: r.RemoteAddr}
		}
		if c.logged.Swap(true) {
			next.ServeHTTP(w, r)
			return
		}
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		// The path only: a ?token= stays out of the log.
		s.log.Printf("client %s: %s %s: %d", c.addr, r.Method, r.URL.Path, sw.status)
	})
}

// statusWriter notes the status of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// limited serves at most MaxClients requests at once; the others are told
// to come back, which a reader does with backoff.
func (s *Server) limited(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case s.slots <- struct{}{}:
			defer func() { <-s.slots }()
			next.ServeHTTP(w, r)
		default:
			w.Header().Set("Retry-After", "1")
			http.Error(w, "too many clients at once; try again", http.StatusServiceUnavailable)
		}
	})
}

// authorized lets through requests that carry the token, as
// "Authorization: Bearer T" or "?token=T", when there is one.
func (s *Server) authorized(next http.Handler) http.Handler {
	if s.cfg.Token == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		given, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			given = r.URL.Query().Get("token")
		}
		// Hashes are compared, so that the time taken does not even
		// depend on the length of the token given.
		h := sha256.Sum256([]byte(given))
		if subtle.ConstantTimeCompare(h[:], s.token[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="mlpviz"`)
			http.Error(w, "this server wants its token: Authorization: Bearer TOKEN, or ?token=TOKEN", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}
