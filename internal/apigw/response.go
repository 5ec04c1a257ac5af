package apigw

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/deepfoundai/jobs-api/internal/jobs"
)

// statusOf is the one table from error codes to HTTP statuses.
var statusOf = map[jobs.Code]int{
	jobs.EINVALID:       http.StatusBadRequest,
	jobs.EUNAUTHORIZED:  http.StatusUnauthorized,
	jobs.ENOTFOUND:      http.StatusNotFound,
	jobs.ECONFLICT:      http.StatusConflict,
	jobs.ETOOLARGE:      http.StatusRequestEntityTooLarge,
	jobs.EUNSUPPORTED:   http.StatusUnsupportedMediaType,
	jobs.EUNPROCESSABLE: http.StatusUnprocessableEntity,
	jobs.EUNAVAILABLE:   http.StatusServiceUnavailable,
	jobs.EINTERNAL:      http.StatusInternalServerError,
}

// HTTPStatus returns the HTTP status for err's code.
func HTTPStatus(err error) int {
	if s, ok := statusOf[jobs.ErrorCode(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// RetryAfterUnavailable is the Retry-After, in seconds, of every 503.
const RetryAfterUnavailable = "2"

// ErrorBody is the JSON body of every error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is a machine-readable code and a message for people.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// CORS is a stage's cross-origin policy.
type CORS struct {
	allowed map[string]bool
}

// ExposedHeaders are the response headers browser code may read.
const ExposedHeaders = "ETag, Idempotent-Replayed, Location, Retry-After"

// NewCORS allows the comma-separated origins. Matching is exact: scheme,
// host and port, byte for byte, as browsers send them.
func NewCORS(origins string) CORS {
	c := CORS{allowed: map[string]bool{}}
	for _, o := range strings.Split(origins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			c.allowed[o] = true
		}
	}
	return c
}

// Allowed reports whether origin may read responses.
func (c CORS) Allowed(origin string) bool { return c.allowed[origin] }

// CacheControl is every response's Cache-Control: job data is per user
// (private), must be revalidated (no-cache, the ETag makes that cheap) and
// must not be written to disk by a browser or a proxy (no-store).
const CacheControl = "private, no-cache, no-store"

// headers returns the headers every response carries: JSON, no sniffing, no
// shared caching, Vary: Origin always, and Allow-Origin only for an allowed
// origin.
func (c CORS) headers(origin string) map[string]string {
	h := map[string]string{
		"Content-Type":           "application/json",
		"Cache-Control":          CacheControl,
		"X-Content-Type-Options": "nosniff",
		"Vary":                   "Origin",
	}
	if c.Allowed(origin) {
		h["Access-Control-Allow-Origin"] = origin
		h["Access-Control-Expose-Headers"] = ExposedHeaders
	}
	return h
}

// respond is the one place responses are made.
func (c CORS) respond(req *events.APIGatewayProxyRequest, status int, body any, extra map[string]string) events.APIGatewayProxyResponse {
	h := c.headers(header(req, "Origin"))
	for k, v := range extra {
		h[k] = v
	}
	resp := events.APIGatewayProxyResponse{StatusCode: status, Headers: h}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil { // only our own wire types reach here; they always marshal
			b = []byte(`{"error":{"code":"internal_error","message":"Internal error."}}`)
			resp.StatusCode = http.StatusInternalServerError
		}
		resp.Body = string(b)
	} else {
		delete(h, "Content-Type")
	}
	return resp
}

// respondError writes err as an ErrorBody with its mapped status. Messages of
// internal errors are replaced by a generic one.
func (c CORS) respondError(req *events.APIGatewayProxyRequest, err error) events.APIGatewayProxyResponse {
	status := HTTPStatus(err)
	var extra map[string]string
	if status == http.StatusServiceUnavailable {
		extra = map[string]string{"Retry-After": RetryAfterUnavailable}
	}
	return c.respond(req, status, ErrorBody{Error: ErrorDetail{Code: string(jobs.ErrorCode(err)), Message: jobs.ErrorMessage(err)}}, extra)
}

// header returns a request header's value, its name matched
// case-insensitively: REST APIs pass header names as the client spelled
// them. Names differing only in case are one header sent twice; of those the
// name spelled as given wins, else the first in byte order, so the answer
// never depends on map iteration order. headers is read before
// multiValueHeaders (API Gateway fills both; tests and direct invocations may
// send either).
func header(req *events.APIGatewayProxyRequest, name string) string {
	if v, ok := lookup(req.Headers, name); ok {
		return v
	}
	if vs, ok := lookup(req.MultiValueHeaders, name); ok && len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// lookup finds name in m as header describes.
func lookup[V any](m map[string]V, name string) (V, bool) {
	if v, ok := m[name]; ok {
		return v, true
	}
	var (
		best  string
		found bool
		v     V
	)
	for k, kv := range m {
		if strings.EqualFold(k, name) && (!found || k < best) {
			best, found, v = k, true, kv
		}
	}
	return v, found
}
