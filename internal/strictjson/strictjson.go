// Package strictjson reads JSON objects the way the Jobs API's documents
// promise: one object, each member name at most once, nothing after it.
//
// encoding/json alone lets the last of two equal names win and matches names
// case-insensitively when decoding into structs, so two readers of the same
// bytes (a validator and a decoder, or two services) can see different
// documents. No maintained library offers exactly this check over the
// standard decoder, and it is a few lines over json.Decoder's token stream.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// ErrNotObject is returned when the input is not exactly one JSON object
// (malformed JSON, another type, or any data after the object, whitespace
// aside).
var ErrNotObject = errors.New("not a single JSON object")

// DuplicateError is returned when a member name occurs twice.
type DuplicateError struct{ Name string }

func (e *DuplicateError) Error() string { return fmt.Sprintf("%q: repeated member", e.Name) }

// Object returns the members of the one JSON object in data by name, their
// values unparsed (but syntactically valid). Names are compared byte for
// byte. It returns ErrNotObject or a *DuplicateError; nothing else.
func Object(data []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, ErrNotObject
	}
	fields := map[string]json.RawMessage{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, ErrNotObject
		}
		name, ok := t.(string)
		if !ok {
			return nil, ErrNotObject
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, ErrNotObject
		}
		if _, dup := fields[name]; dup {
			return nil, &DuplicateError{Name: name}
		}
		fields[name] = v
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return nil, ErrNotObject
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, ErrNotObject
	}
	return fields, nil
}
