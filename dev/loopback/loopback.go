// Package loopback is the dev kit's one rule for "only this machine": the
// local servers have no real authentication (the dev identity provider
// signs tokens for anyone who asks, the embedded engine takes any
// credentials), so they listen, and answer, on loopback names only.
package loopback

import (
	"fmt"
	"net"
	"strings"
)

// Host reports whether host — a name or an IP address, optionally in
// brackets, without a port — names the loopback interface: localhost (in
// any case), 127.0.0.0/8 or ::1.
func Host(host string) bool {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Listen listens on the TCP address addr ("127.0.0.1:0" picks a free port)
// and refuses any address whose host is not loopback.
func Listen(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("listen address %q: %w", addr, err)
	}
	if !Host(host) {
		return nil, fmt.Errorf("listen address %q: only loopback addresses (127.0.0.1, ::1, localhost) are allowed: the development servers have no real authentication", addr)
	}
	return net.Listen("tcp", addr)
}
