package server

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientIP returns the client's address: x-real-ip, else the first
// x-forwarded-for entry, else the peer — the headers only when the peer is
// a trusted proxy, and only when they hold a valid address.
func clientIP(r *http.Request, trusted []netip.Prefix) string {
	peer := peerAddr(r)
	if !peer.IsValid() {
		return "0.0.0.0"
	}
	if isTrusted(peer, trusted) {
		if ip, ok := parseIP(r.Header.Get("X-Real-Ip")); ok {
			return ip.String()
		}
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			first, _, _ := strings.Cut(xff, ",")
			if ip, ok := parseIP(first); ok {
				return ip.String()
			}
		}
	}
	return peer.String()
}

// parseIP reads an address, also in the host:port and [v6]:port forms
// some proxies put in forwarding headers.
func parseIP(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	ip, err := netip.ParseAddr(s)
	if err != nil {
		ap, perr := netip.ParseAddrPort(s)
		if perr != nil {
			if ip, err = netip.ParseAddr(strings.Trim(s, "[]")); err != nil {
				return netip.Addr{}, false
			}
		} else {
			ip = ap.Addr()
		}
	}
	return ip.Unmap().WithZone(""), true
}

// peerAddr is the address of the TCP peer.
func peerAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, _ := parseIP(host)
	return ip
}

func isTrusted(ip netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
