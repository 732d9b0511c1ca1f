package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/mlpviz/mlpviz/server"
)

// runServe serves the run files of a folder over HTTP, read-only, so that
// "mlpviz view http://…" on another machine follows a run while it trains.
func runServe(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve")
	addr := fs.String("addr", "127.0.0.1:6160", "`host:port` to listen on; an address other machines reach needs --token")
	token := fs.String("token", "", "`secret` every request must carry, as Authorization: Bearer or ?token= (default $MLPVIZ_TOKEN)")
	maxClients := fs.Int("max-clients", 64, "`requests` served at once; more are told to retry")
	dirs, err := parseFlags(fs, args, stdout)
	if err != nil {
		return err
	}
	dir := "runs"
	switch len(dirs) {
	case 0:
	case 1:
		dir = dirs[0]
	default:
		return usageError{fmt.Sprintf("serve takes one folder, got %d", len(dirs))}
	}
	if *token == "" {
		*token = os.Getenv("MLPVIZ_TOKEN")
	}
	if *maxClients < 1 {
		return usageError{fmt.Sprintf("--max-clients must be at least 1, got %d", *maxClients)}
	}
	if err := server.CheckAddr(*addr, *token); err != nil {
		return usageError{err.Error()}
	}
	srv, err := server.New(server.Config{Dir: dir, Token: *token, MaxClients: *maxClients, Log: stderr})
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", *addr, errors.Unwrap(err))
	}
	hs := srv.HTTPServer()
	note := "no token: only this machine can reach it"
	if *token != "" {
		note = "every request must carry the token"
	}
	fmt.Fprintf(stderr, "mlpviz: serving %s read-only at http://%s/ (%s); Ctrl-C stops\n", dir, ln.Addr(), note)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		// Readers tailing a run hold their connections: give requests in
		// flight a moment, then close.
		c, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if hs.Shutdown(c) != nil {
			hs.Close()
		}
	}()
	if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving %s: %w", dir, err)
	}
	fmt.Fprintln(stderr, "mlpviz: stopped serving", dir)
	return nil
}
