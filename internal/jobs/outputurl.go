package jobs

import (
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// OutputURLs is the rule for the outputUrl the pipeline reports with
// COMPLETED: users' browsers fetch it, so it must be what a CDN URL can be.
type OutputURLs struct {
	// Hosts, when set, are the only host names allowed (the stack's
	// OutputUrlHosts), compared case-insensitively.
	Hosts []string
	// AllowLoopbackHTTP also admits http URLs on 127.0.0.1 and localhost:
	// only the local development server sets it, which serves the outputs
	// itself.
	AllowLoopbackHTTP bool
}

// Check reports whether raw may be a job's outputUrl: at most
// MaxOutputURLBytes of printable ASCII without the characters RFC 3986
// never allows unencoded (space, quotes, <, >, \, ^, `, {, |, }); an
// absolute https URL without userinfo, with a valid port if any, whose host
// is a public DNS name (no IP literal, no single-label, .localhost, .local,
// .internal or numeric-TLD name: nothing a metadata endpoint or a private
// network answers on); and one of Hosts when they are set. Else EINVALID.
func (p OutputURLs) Check(raw string) error {
	bad := Errorf(EINVALID, "outputUrl: an https URL of a public host name, at most %d bytes", MaxOutputURLBytes)
	if raw == "" || len(raw) > MaxOutputURLBytes {
		return bad
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c <= ' ' || c >= 0x7f || strings.IndexByte("\"'<>\\^`{|}", c) >= 0 {
			return bad
		}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || u.User != nil || u.Host == "" || strings.HasSuffix(u.Host, ":") {
		return bad
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return bad
		}
	}
	host := strings.ToLower(u.Hostname())
	if p.AllowLoopbackHTTP && (host == "127.0.0.1" || host == "localhost") && (u.Scheme == "http" || u.Scheme == "https") {
		return nil
	}
	if u.Scheme != "https" || !publicHostName(host) {
		return bad
	}
	if len(p.Hosts) > 0 && !slices.ContainsFunc(p.Hosts, func(h string) bool { return strings.EqualFold(h, host) }) {
		return Errorf(EINVALID, "outputUrl: host %.64q is not one of the stage's output hosts", host)
	}
	return nil
}

// publicHostName reports whether h is a DNS name that can only resolve
// through public DNS: two or more labels of letters, digits and inner
// hyphens, a TLD that is not numeric and not a reserved local one.
func publicHostName(h string) bool {
	if len(h) > 253 || net.ParseIP(h) != nil {
		return false
	}
	labels := strings.Split(h, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			if c := l[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	switch tld := labels[len(labels)-1]; {
	case strings.Trim(tld, "0123456789") == "", strings.HasPrefix(tld, "0x"):
		return false
	case tld == "localhost", tld == "local", tld == "internal", tld == "arpa", tld == "test", tld == "invalid":
		return false
	}
	return true
}
