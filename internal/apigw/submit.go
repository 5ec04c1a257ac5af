package apigw

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/internal/strictjson"
)

// MaxSubmitBytes is the largest submit body accepted (413 above it).
const MaxSubmitBytes = 16 << 10

// SubmitRequest is the documented body of POST /v1/jobs. Unknown fields are
// rejected, so a typo is an error rather than a silently ignored option.
type SubmitRequest struct {
	Prompt  string         `json:"prompt"`
	Options *SubmitOptions `json:"options,omitempty"`
}

// SubmitOptions are the optional generation settings.
type SubmitOptions struct {
	DurationSeconds *int   `json:"durationSeconds,omitempty"`
	AspectRatio     string `json:"aspectRatio,omitempty"`
	Resolution      string `json:"resolution,omitempty"`
}

// serverOwned are job fields only the service sets; a client that sends one
// is told so, rather than having it ignored.
var serverOwned = map[string]bool{
	"jobId": true, "id": true, "status": true, "progress": true, "outputUrl": true,
	"error": true, "createdAt": true, "updatedAt": true, "startedAt": true,
	"completedAt": true, "ownerId": true, "version": true, "expiresAt": true,
	"cancelRequested": true, "deadline": true,
}

// DecodeSubmit validates a submit request's media type, size and JSON shape.
// 415 unless Content-Type is application/json (charset utf-8 if given); 413
// over MaxSubmitBytes; 400 naming the field for anything malformed, unknown
// or server-owned. Field values are checked by jobs.Spec.Normalize.
func DecodeSubmit(req *events.APIGatewayProxyRequest) (jobs.Spec, error) {
	mt, params, err := mime.ParseMediaType(header(req, "Content-Type"))
	if err != nil || mt != "application/json" || (params["charset"] != "" && !strings.EqualFold(params["charset"], "utf-8")) {
		return jobs.Spec{}, jobs.Errorf(jobs.EUNSUPPORTED, "Content-Type must be application/json.")
	}
	body := []byte(req.Body)
	if req.IsBase64Encoded {
		if base64.StdEncoding.DecodedLen(len(body)) > MaxSubmitBytes+2 {
			return jobs.Spec{}, tooLarge()
		}
		if body, err = base64.StdEncoding.DecodeString(req.Body); err != nil {
			return jobs.Spec{}, jobs.Errorf(jobs.EINVALID, "body: not valid base64")
		}
	}
	if len(body) > MaxSubmitBytes {
		return jobs.Spec{}, tooLarge()
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return jobs.Spec{}, jobs.Errorf(jobs.EINVALID, "body: required, a JSON object")
	}

	fields, err := strictjson.Object(body)
	if err != nil {
		return jobs.Spec{}, strictError("", err)
	}
	if err := checkNames("", fields, submitFields); err != nil {
		return jobs.Spec{}, err
	}
	if raw, ok := fields["options"]; ok && string(raw) != "null" {
		opts, err := strictjson.Object(raw)
		if err != nil {
			return jobs.Spec{}, strictError("options", err)
		}
		if err := checkNames("options.", opts, optionFields); err != nil {
			return jobs.Spec{}, err
		}
	}

	var in SubmitRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return jobs.Spec{}, decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return jobs.Spec{}, jobs.Errorf(jobs.EINVALID, "body: a single JSON object")
	}
	spec := jobs.Spec{Prompt: in.Prompt}
	if in.Options != nil {
		if d := in.Options.DurationSeconds; d != nil {
			if *d < jobs.MinDurationSeconds { // 0 would otherwise read as "use the default"
				return jobs.Spec{}, jobs.Errorf(jobs.EINVALID, "options.durationSeconds: an integer from %d to %d", jobs.MinDurationSeconds, jobs.MaxDurationSeconds)
			}
			spec.DurationSeconds = *d
		}
		spec.AspectRatio = in.Options.AspectRatio
		spec.Resolution = in.Options.Resolution
	}
	return spec, nil
}

var (
	submitFields = map[string]bool{"prompt": true, "options": true}
	optionFields = map[string]bool{"durationSeconds": true, "aspectRatio": true, "resolution": true}
)

// checkNames rejects server-owned and unknown names, matched exactly:
// encoding/json alone would accept "PROMPT" for "prompt".
func checkNames(prefix string, fields map[string]json.RawMessage, known map[string]bool) error {
	for name := range fields {
		switch {
		case prefix == "" && serverOwned[name]:
			return jobs.Errorf(jobs.EINVALID, "%s: set by the server; remove it from the request", name)
		case !known[name]:
			return jobs.Errorf(jobs.EINVALID, "%s%s: unknown field", prefix, jobs.Clip(name, maxEchoedName))
		}
	}
	return nil
}

// strictError renders a strictjson error for the object at path ("" for
// the body itself).
func strictError(path string, err error) error {
	var dup *strictjson.DuplicateError
	if errors.As(err, &dup) {
		if path != "" {
			path += "."
		}
		return jobs.Errorf(jobs.EINVALID, "%s%s: repeated field", path, jobs.Clip(dup.Name, maxEchoedName))
	}
	if path == "" {
		return jobs.Errorf(jobs.EINVALID, "body: a single JSON object")
	}
	return jobs.Errorf(jobs.EINVALID, "%s: must be a JSON object", path)
}

func tooLarge() error {
	return jobs.Errorf(jobs.ETOOLARGE, "body: at most %d bytes", MaxSubmitBytes)
}

// decodeError names the field at fault where encoding/json says which.
// Unknown names never get here: checkNames rejects them first.
func decodeError(err error) error {
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
		return jobs.Errorf(jobs.EINVALID, "body: must be a JSON object")
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return jobs.Errorf(jobs.EINVALID, "%s: must be a JSON %s", typeErr.Field, jsonKind(typeErr.Type.Kind().String()))
	case errors.As(err, &typeErr):
		return jobs.Errorf(jobs.EINVALID, "body: must be a JSON object")
	}
	return jobs.Errorf(jobs.EINVALID, "body: not valid JSON")
}

// maxEchoedName bounds how much of a client's field name an error message
// repeats: enough to spot a typo, never the body echoed back.
const maxEchoedName = 64

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "int", "int64":
		return "integer"
	case "ptr", "struct", "map":
		return "object"
	}
	return goKind
}

// idempotencyKey returns the Idempotency-Key header: printable ASCII, at most
// jobs.MaxIdempotencyKeyLen bytes.
func idempotencyKey(req *events.APIGatewayProxyRequest) (string, error) {
	k := header(req, "Idempotency-Key")
	if len(k) > jobs.MaxIdempotencyKeyLen {
		return "", jobs.Errorf(jobs.EINVALID, "Idempotency-Key: at most %d characters", jobs.MaxIdempotencyKeyLen)
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return "", jobs.Errorf(jobs.EINVALID, "Idempotency-Key: printable ASCII without spaces")
		}
	}
	return k, nil
}

// maxCancelAfterLen bounds the Cancel-After header read.
const maxCancelAfterLen = 32

// cancelAfter reads the optional Cancel-After header: the submitter's limit
// on the whole job, a duration such as "90s", "5m" or "1h30m" (units h, m,
// s) from jobs.MinCancelAfter to jobs.MaxCancelAfter; 0 when absent. Past
// it the job is cancelled (see jobs.Limits).
func cancelAfter(req *events.APIGatewayProxyRequest) (time.Duration, error) {
	v := header(req, "Cancel-After")
	if v == "" {
		return 0, nil
	}
	bad := jobs.Errorf(jobs.EINVALID, "Cancel-After: a duration such as 90s, 5m or 1h30m, from %s to %s", jobs.MinCancelAfter, jobs.MaxCancelAfter)
	if len(v) > maxCancelAfterLen || strings.ContainsAny(v, "nuµ") { // no ns, us, µs, ms
		return 0, bad
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < jobs.MinCancelAfter || d > jobs.MaxCancelAfter {
		return 0, bad
	}
	return d, nil
}
