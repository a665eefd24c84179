package events

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"

	"github.com/doorstep-dev/doorstep"
)

// URLPolicy says where webhooks may point. A webhook makes the server send
// requests where a tenant says (server-side request forgery): by default
// only to public addresses, checked when the connection is made (so that a
// name resolving to an internal address, or re-resolving to one later, is
// refused too), without following redirects.
type URLPolicy struct {
	// AllowHosts, when not empty, are the only hosts a webhook may name:
	// "hooks.example.com" exactly, or "*.example.com" for its subdomains.
	AllowHosts []string
	// AllowPrivate lets webhooks reach loopback, private, link-local and
	// other non-public addresses (tests; a private network you trust).
	AllowPrivate bool
}

// maxURLLen bounds a webhook URL.
const maxURLLen = 2048

// Check refuses a webhook URL the policy does not allow: not absolute
// http(s), with credentials, too long, a host not listed, or a literal
// non-public address. The error is an EINVALID naming field "url".
func (p URLPolicy) Check(raw string) error {
	bad := func(format string, args ...any) error {
		return doorstep.Errorf(doorstep.EINVALID, "url", format, args...)
	}
	if len(raw) > maxURLLen {
		return bad("url is longer than %d bytes", maxURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return bad("url is not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return bad("url must be http or https, not %q", u.Scheme)
	}
	if u.Host == "" || u.Hostname() == "" {
		return bad("url has no host")
	}
	if u.User != nil {
		return bad("url must not carry credentials (use the signature to authenticate deliveries)")
	}
	if u.Fragment != "" {
		return bad("url must not have a fragment")
	}
	host := strings.ToLower(u.Hostname())
	if !p.hostListed(host) {
		return bad("url's host %q is not among the allowed webhook hosts", host)
	}
	if ip, err := netip.ParseAddr(host); err == nil && !p.AllowPrivate && !public(ip) {
		return bad("url's address %s is not public", ip)
	}
	return nil
}

func (p URLPolicy) hostListed(host string) bool {
	if len(p.AllowHosts) == 0 {
		return true
	}
	for _, h := range p.AllowHosts {
		h = strings.ToLower(strings.TrimSpace(h))
		if suffix, ok := strings.CutPrefix(h, "*."); ok {
			if strings.HasSuffix(host, "."+suffix) {
				return true
			}
		} else if host == h {
			return true
		}
	}
	return false
}

// public reports whether ip is a globally routable unicast address.
func public(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsGlobalUnicast() && !ip.IsPrivate() && !ip.IsLoopback() && !ip.IsLinkLocalUnicast() &&
		!(ip.Is4() && ip.As4()[0] == 100 && ip.As4()[1]&0xc0 == 64) // 100.64/10, carrier-grade NAT
}

// errPrivate refuses a connection to a non-public address.
var errPrivate = errors.New("webhook address is not public (see -webhook-allow-private)")

// dialer returns the dial function of the delivery client: under the
// policy it refuses non-public addresses after resolution.
func (p URLPolicy) dialer() func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{}
	if !p.AllowPrivate {
		d.Control = func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("dial %s: %w", address, err)
			}
			if !public(ap.Addr()) {
				return errPrivate
			}
			return nil
		}
	}
	return d.DialContext
}
