package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/deepfoundai/jobs-api/test/testenv"
)

// functionTimeout is AWS_LAMBDA_FUNCTION_TIMEOUT, in seconds, of every
// emulated function unless a test sets another: the deployed functions'.
const functionTimeout = 10

// function is one Lambda function running under the emulator.
type function struct {
	*testenv.Function
}

// baseEnv is the environment every emulated function gets: what a Lambda
// sandbox provides, plus GOCOVERDIR when coverage is collected. The emulator
// passes its whole environment on to the bootstrap, so this is also what the
// function sees; nothing of the test's own environment leaks in.
func baseEnv(name string) map[string]string {
	env := testenv.LambdaEnv(name, 128, functionTimeout*time.Second)
	env["COGNITO_ISSUER"] = userPool
	env["COGNITO_APP_CLIENT_IDS"] = appClient
	if coverDir != "" {
		env["GOCOVERDIR"] = coverDir
	}
	return env
}

// config is how name's bootstrap runs under the emulator with env: only the
// emulator is killed on stop, so that the bootstrap exits by itself and
// writes its coverage counters.
func config(name, bootstrap string, env map[string]string) testenv.FunctionConfig {
	return testenv.FunctionConfig{
		Name: name, RIE: rieBin, Bootstrap: bootstrap, Env: testenv.EnvList(env),
		InvokeTimeout: 2 * functionTimeout * time.Second,
	}
}

// startFunction runs bootstrap under a new emulator on free loopback ports
// and returns when the emulator listens on them. env is added to baseEnv; an
// empty value removes a variable. The emulator and the function are stopped
// when the test ends, and their output is logged if it failed.
func startFunction(t *testing.T, name, bootstrap string, env map[string]string) *function {
	t.Helper()
	full := baseEnv(name)
	for k, v := range env {
		if v == "" {
			delete(full, k)
		} else {
			full[k] = v
		}
	}
	f, err := testenv.StartFunction(context.Background(), config(name, bootstrap, full))
	if err != nil {
		t.Fatalf("start %s under aws-lambda-rie: %v", name, err)
	}
	t.Cleanup(func() {
		if err := f.Stop(t.Logf); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("--- output of %s (aws-lambda-rie and bootstrap) ---\n%s", f.Name, f.Out.String())
		}
	})
	return &function{f}
}

// invokeRaw posts payload to the function's invoke endpoint and returns the
// emulator's HTTP status and body.
func (f *function) invokeRaw(t *testing.T, payload any) (status int, body []byte, elapsed time.Duration) {
	t.Helper()
	b, err := json.Marshal(payload)
	if err != nil {
		t.Fatalf("encode event: %v", err)
	}
	r, err := f.Invoke(context.Background(), b)
	if err != nil {
		t.Fatalf("invoke %s: %v", f.Name, err)
	}
	return r.Status, r.Body, r.Elapsed
}

// invoke sends an API Gateway proxy event and returns the function's
// response; anything but a successful invocation fails the test.
func (f *function) invoke(t *testing.T, ev map[string]any) (apiResponse, time.Duration) {
	t.Helper()
	status, body, elapsed := f.invokeRaw(t, ev)
	if status != http.StatusOK {
		t.Fatalf("invoke %s: emulator answered HTTP %d: %s", f.Name, status, body)
	}
	if bytes.HasPrefix(body, []byte("Task timed out")) {
		t.Fatalf("invoke %s: the function timed out after %v: %s", f.Name, elapsed.Round(time.Millisecond), body)
	}
	var r events.APIGatewayProxyResponse
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil || r.StatusCode == 0 {
		t.Fatalf("invoke %s: not an API Gateway proxy response (%v): %s", f.Name, err, body)
	}
	return apiResponse{r}, elapsed
}
