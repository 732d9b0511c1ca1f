// Package server serves the run files of one folder over HTTP, read-only,
// for "mlpviz serve": a list of the runs (JSON at /runs, a page at /) and
// each run file at /runs/NAME.mlpv with Range support, so that a reader on
// another machine (runfile.OpenURL) follows a run while it grows.
//
// It is safe by default: it serves nothing outside its folder and nothing
// but run files, it bounds header size, read times and the requests served
// at once, and with a token every request must carry it.
package server

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"time"
)

// Config is what a Server serves and to whom.
type Config struct {
	Dir        string    // the folder of run files
	Token      string    // when set, every request must carry it
	MaxClients int       // requests served at once; more are answered 503 (default 64)
	Log        io.Writer // one line per client; nil: none
}

// Server serves the run files of Config.Dir.
type Server struct {
	cfg     Config
	root    *os.Root // the folder, which no path or link may leave
	runs    *catalog
	growth  *growth
	slots   chan struct{} // one per request being served
	token   [sha256.Size]byte
	log     *log.Logger
	handler http.Handler
}

// New opens the folder to serve.
func New(cfg Config) (*Server, error) {
	st, err := os.Stat(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("cannot serve %s: %w", cfg.Dir, errors.Unwrap(err))
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("cannot serve %s: not a folder", cfg.Dir)
	}
	root, err := os.OpenRoot(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("cannot serve %s: %w", cfg.Dir, err)
	}
	if cfg.MaxClients <= 0 {
		cfg.MaxClients = 64
	}
	logTo := cfg.Log
	if logTo == nil {
		logTo = io.Discard
	}
	s := &Server{
		cfg: cfg, root: root, runs: newCatalog(cfg.Dir, root), growth: newGrowth(root),
		slots: make(chan struct{}, cfg.MaxClients),
		token: sha256.Sum256([]byte(cfg.Token)),
		log:   log.New(logTo, "mlpviz serve: ", log.LstdFlags),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.servePage)
	mux.HandleFunc("GET /runs", s.serveList)
	mux.HandleFunc("GET /runs/{name}", s.serveRun)
	s.handler = s.logged(s.limited(s.authorized(mux)))
	return s, nil
}

// Handler answers every request: logged, limited, then checked for the
// token.
func (s *Server) Handler() http.Handler { return s.handler }

// HTTPServer is an http.Server for Handler with the bounds a server open
// to a network needs: small headers, a client slow to send its request is
// dropped, and so is one that stops reading.
func (s *Server) HTTPServer() *http.Server {
	return &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second, // past it Go ends the request's context: well above maxWait
		WriteTimeout:      2 * time.Minute,  // a reader asks for a few blocks at a time
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    8 << 10,
		ConnContext:       withClient,
		ErrorLog:          s.log,
	}
}

// Close releases the folder and the runs kept open to follow them.
func (s *Server) Close() error {
	s.runs.close()
	return s.root.Close()
}
