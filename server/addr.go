package server

import (
	"fmt"
	"net"
)

// MinTokenLen is the shortest token accepted: 16 characters, such as
// "openssl rand -hex 16" gives twice over.
const MinTokenLen = 16

// CheckAddr refuses to listen beyond this machine without a token: an
// address that is not loopback (such as 0.0.0.0, or none: every interface)
// needs one. A token given must be long enough to be a secret.
func CheckAddr(addr, token string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--addr %q: want HOST:PORT, such as 127.0.0.1:6160", addr)
	}
	if token != "" && len(token) < MinTokenLen {
		return fmt.Errorf("the token has %d characters; give at least %d (openssl rand -hex 16 makes one)", len(token), MinTokenLen)
	}
	if token == "" && !loopback(host) {
		return fmt.Errorf("--addr %s is reachable from other machines: give --token T (every request must then carry it), or keep 127.0.0.1 and tunnel: ssh -L 6160:localhost:6160 SERVER", addr)
	}
	return nil
}

// loopback reports whether host names this machine only.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
