// Package contracttest validates messages against the JSON Schemas in
// docs/schemas, the machine-readable contract with the video pipeline (the
// hand-off, the status event, the worker check), so tests hold the code to
// the documents and the documents to the code.
package contracttest

import (
	"bytes"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The schemas, by file name under docs/schemas.
const (
	Handoff       = "handoff.schema.json"
	StatusEvent   = "status-event.schema.json"
	CheckRequest  = "check-request.schema.json"
	CheckResponse = "check-response.schema.json"
)

var (
	mu       sync.Mutex
	compiled = map[string]*jsonschema.Schema{}
)

// dir is docs/schemas, found from this file so any package's test can use it.
func dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "docs", "schemas")
}

// Schema returns the compiled schema of the given file, failing t if it
// does not compile.
func Schema(t testing.TB, name string) *jsonschema.Schema {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if s, ok := compiled[name]; ok {
		return s
	}
	s, err := jsonschema.NewCompiler().Compile(filepath.Join(dir(), name))
	if err != nil {
		t.Fatalf("schema %s: %v", name, err)
	}
	compiled[name] = s
	return s
}

// Check returns why body does not satisfy the schema, or nil.
func Check(t testing.TB, name string, body []byte) error {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return err
	}
	return Schema(t, name).Validate(doc)
}

// Valid fails t unless body satisfies the schema.
func Valid(t testing.TB, name string, body []byte) {
	t.Helper()
	if err := Check(t, name, body); err != nil {
		t.Errorf("%s does not satisfy %s: %v", body, name, err)
	}
}
