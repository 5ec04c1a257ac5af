package localapi

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// viaFullJSON is the round trip viaJSON may skip.
func viaFullJSON[T any](v T) (T, error) {
	var out T
	b, err := json.Marshal(v)
	if err == nil {
		err = json.Unmarshal(b, &out)
	}
	return out, err
}

// rtEvent is a proxy event as the gateway builds it, with s and f placed
// wherever a client or a handler could put them.
func rtEvent(s string, f float64) events.APIGatewayProxyRequest {
	return events.APIGatewayProxyRequest{
		Resource: "/v1/jobs/{id}", Path: "/v1/jobs/" + s, HTTPMethod: "GET",
		Headers:               map[string]string{"Authorization": "Bearer x", "X-Client": s, s: "v"},
		MultiValueHeaders:     map[string][]string{"X-Client": {s, "b"}, s: {"v"}},
		QueryStringParameters: map[string]string{"q": s}, MultiValueQueryStringParameters: map[string][]string{"q": {s}},
		PathParameters: map[string]string{"id": s},
		RequestContext: events.APIGatewayProxyRequestContext{
			Stage: "local", RequestID: "r", RequestTimeEpoch: 1750680000123,
			Identity:   events.APIGatewayRequestIdentity{SourceIP: "127.0.0.1", UserAgent: s},
			Authorizer: map[string]any{"claims": map[string]any{"sub": "alice", "cognito:groups": "[admin " + s + "]", "n": f, "list": []any{s, f, true, nil}}},
		},
		Body: s,
	}
}

// TestViaJSON: viaJSON gives exactly what a JSON round trip gives, and
// skips the round trip for the events and responses the local API
// usually carries (else the shortcut would silently stop paying off).
func TestViaJSON(t *testing.T) {
	t.Parallel()
	ev := rtEvent("job_0123", 1)
	resp := events.APIGatewayProxyResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "application/json", "ETag": `"v1"`},
		MultiValueHeaders: map[string][]string{"Vary": {"Origin"}}, Body: `{"jobId":"job_0123","status":"QUEUED"}`}
	if !jsonStable(reflect.ValueOf(ev), false) || !jsonStable(reflect.ValueOf(resp), false) {
		t.Fatal("a typical event or response is not recognised as unchanged by JSON: every request pays the round trip")
	}
	type withOmit struct {
		M map[string]string `json:"m,omitempty"`
		S []string          `json:"s,omitempty"`
	}
	type withUnexported struct {
		A string
		n int
	}
	type withTime struct{ T time.Time }
	type withSkipped struct {
		A string `json:"-"`
	}
	tests := []struct {
		name   string
		check  func() (stable bool, same bool, detail string)
		stable bool
	}{
		{"typical event", rtCase(ev), true},
		{"typical response", rtCase(resp), true},
		{"nil maps", rtCase(events.APIGatewayProxyRequest{}), true},
		{"invalid UTF-8 in a header", rtCase(rtEvent("caf\xe9", 1)), false},
		{"invalid UTF-8 in a body", rtCase(events.APIGatewayProxyResponse{Body: "\xff"}), false},
		{"int in an interface", rtCase(map[string]any{"n": 1}), false},
		{"float32", rtCase(float32(1.5)), false},
		{"NaN", rtCase(rtEvent("x", math.NaN())), false},
		{"infinity", rtCase(rtEvent("x", math.Inf(1))), false},
		{"omitempty, nil", rtCase(withOmit{}), true},
		{"omitempty, set", rtCase(withOmit{M: map[string]string{"a": "b"}, S: []string{"c"}}), true},
		{"empty map left out", rtCase(withOmit{M: map[string]string{}}), false},
		{"empty slice left out", rtCase(withOmit{S: []string{}}), false},
		{"unexported field zero", rtCase(withUnexported{A: "a"}), true},
		{"unexported field set", rtCase(withUnexported{n: 1}), false},
		{"json:\"-\" field set", rtCase(withSkipped{A: "a"}), false},
		{"time", rtCase(withTime{}), false},
		{"[]any of natives", rtCase([]any{"a", 1.5, true, nil, map[string]any{"k": []any{}}}), true},
		{"[]string in an interface", rtCase(map[string]any{"g": []string{"admin"}}), false},
		{"map[string]string in an interface", rtCase(map[string]any{"h": map[string]string{"a": "b"}}), false},
		{"map[string]string as any", rtCase[any](map[string]string{"a": "b"}), false},
		{"map[string]any as any", rtCase[any](map[string]any{"a": "b"}), true},
		{"named string in an interface", rtCase[any](fieldInfo{}), false},
		{"bytes", rtCase([]byte("x")), false},
	}
	for _, tt := range tests {
		stable, same, detail := tt.check()
		if stable != tt.stable {
			t.Errorf("%s: jsonStable = %v, want %v", tt.name, stable, tt.stable)
		}
		if !same {
			t.Errorf("%s: %s", tt.name, detail)
		}
	}
}

// rtCase checks v: whether viaJSON skips the round trip, and whether it
// gives what the round trip gives.
func rtCase[T any](v T) func() (bool, bool, string) {
	return func() (bool, bool, string) {
		stable := jsonStable(reflect.ValueOf(&v).Elem(), false)
		got, err := viaJSON(v)
		want, werr := viaFullJSON(v)
		same := (err == nil) == (werr == nil) && (err != nil || reflect.DeepEqual(got, want))
		return stable, same, fmt.Sprintf("viaJSON = %#v, %v; the round trip gives %#v, %v", got, err, want, werr)
	}
}

// FuzzViaJSON: for any string and number a client or handler could put in
// an event, viaJSON is the JSON round trip.
func FuzzViaJSON(f *testing.F) {
	for _, s := range []string{"", "job_0123", "caf\xe9", "\xff", "\u2028", "<&>", "\x00", "a\"b\\c", "😀", "\xed\xa0\x80"} {
		f.Add(s, 1.0)
	}
	f.Add("x", math.MaxFloat64)
	f.Add("x", 1e-320)
	f.Add("x", math.Copysign(0, -1))
	f.Fuzz(func(t *testing.T, s string, n float64) {
		for _, check := range []func() (bool, bool, string){
			rtCase(rtEvent(s, n)), rtCase(events.APIGatewayProxyResponse{StatusCode: 200, Headers: map[string]string{s: s}, Body: s}),
		} {
			if _, same, detail := check(); !same {
				t.Fatal(detail)
			}
		}
	})
}
