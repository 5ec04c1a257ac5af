package apigw

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/deepfoundai/jobs-api/internal/jobs"
)

// Default polling advice: how long a client should wait before asking again
// about a job that is not finished.
const (
	DefaultRetryQueued     = 2 * time.Second
	DefaultRetryProcessing = 5 * time.Second
)

// Polling is the Retry-After advice sent with jobs that are not finished.
// Zero fields take the defaults.
type Polling struct {
	Queued     time.Duration
	Processing time.Duration
}

// RetryAfter returns the Retry-After value, in whole seconds (at least 1),
// for a job in status st, and false for terminal jobs: they never change
// again, so there is nothing to poll for.
func (p Polling) RetryAfter(st jobs.Status) (string, bool) {
	var d time.Duration
	switch st {
	case jobs.Queued:
		d = p.Queued
		if d <= 0 {
			d = DefaultRetryQueued
		}
	case jobs.Processing:
		d = p.Processing
		if d <= 0 {
			d = DefaultRetryProcessing
		}
	default:
		return "", false
	}
	return strconv.Itoa(max(1, int((d+time.Second-1)/time.Second))), true
}

// etagVersion names the wire shape of JobResponse. Bump it when the shape
// changes, so that clients holding an old representation get the new one
// instead of a 304.
const etagVersion = "jobs-api/etag/v2"

// ETag returns the strong entity tag of a job's representation: a hash of
// its ID, creation time and version (every write bumps the version). The
// creation time tells apart a job recreated under an ID whose first job was
// deleted by TTL.
func ETag(j jobs.Job) string {
	sum := sha256.Sum256([]byte(etagVersion + "\x00" + j.ID + "\x00" + jobs.FormatTime(j.CreatedAt) + "\x00" + strconv.FormatInt(j.Version, 10)))
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}

// NotModified reports whether an If-None-Match header value (every value,
// if the header came more than once) matches etag. Comparison is weak, as
// RFC 9110 says for If-None-Match: W/"x" matches "x"; "*" matches any
// current representation.
func NotModified(values []string, etag string) bool {
	want := strings.TrimPrefix(etag, "W/")
	for _, v := range values {
		for v = strings.TrimSpace(v); v != ""; v = strings.TrimLeft(v, " \t,") {
			if v[0] == '*' {
				return true
			}
			v = strings.TrimPrefix(v, "W/")
			if v == "" || v[0] != '"' {
				return false // malformed: ignore the header rather than guess
			}
			end := strings.IndexByte(v[1:], '"')
			if end < 0 {
				return false
			}
			if v[:end+2] == want {
				return true
			}
			v = v[end+2:]
		}
	}
	return false
}

// headerValues returns every value of a request header, matched
// case-insensitively, from both headers and multiValueHeaders.
func headerValues(req *events.APIGatewayProxyRequest, name string) []string {
	var out []string
	for k, vs := range req.MultiValueHeaders {
		if strings.EqualFold(k, name) {
			out = append(out, vs...)
		}
	}
	if len(out) == 0 {
		if v := header(req, name); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// BatchETag returns the strong entity tag of a batch answer (GET
// /v1/jobs?ids=): a hash of which jobs it holds, in order, each with its
// ETag, and whether the caller sees owners (admins), so it changes whenever
// any job in it changes, appears or disappears.
func BatchETag(found []jobs.Job, admin bool) string {
	h := sha256.New()
	h.Write([]byte(etagVersion + "\x00batch\x00" + strconv.FormatBool(admin)))
	for _, j := range found {
		h.Write([]byte("\x00" + ETag(j)))
	}
	return `"` + hex.EncodeToString(h.Sum(nil)[:12]) + `"`
}

// BatchRetryAfter is the polling advice of a batch answer: the shortest
// Retry-After of its unfinished jobs, and false when every job in it is
// finished (or it holds none), as nothing in it will change.
func (p Polling) BatchRetryAfter(found []jobs.Job) (string, bool) {
	best, any := 0, false
	for _, j := range found {
		ra, ok := p.RetryAfter(j.Status)
		if !ok {
			continue
		}
		n, _ := strconv.Atoi(ra) // RetryAfter writes whole seconds
		if !any || n < best {
			best, any = n, true
		}
	}
	return strconv.Itoa(best), any
}

// respondJob renders j as caller sees it, with its polling headers: ETag,
// and Retry-After while it is not finished. A GET whose If-None-Match
// matches gets 304 with the same headers and no body.
func (h *Handler) respondJob(req *events.APIGatewayProxyRequest, status int, j jobs.Job, caller jobs.Caller, extra map[string]string) events.APIGatewayProxyResponse {
	hdr := map[string]string{"ETag": ETag(j)}
	if ra, ok := h.Polling.RetryAfter(j.Status); ok {
		hdr["Retry-After"] = ra
	}
	for k, v := range extra {
		hdr[k] = v
	}
	if req.HTTPMethod == http.MethodGet && status == http.StatusOK && NotModified(headerValues(req, "If-None-Match"), hdr["ETag"]) {
		return h.CORS.respond(req, http.StatusNotModified, nil, hdr)
	}
	return h.CORS.respond(req, status, JobView(j, caller), hdr)
}
