package strictjson_test

import (
	"errors"
	"testing"

	"github.com/deepfoundai/jobs-api/internal/strictjson"
)

func TestObject(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     map[string]string // nil: an error
		dup      string            // the repeated name, if the error is a duplicate
	}{
		{"members", `{"a":1,"b":{"c":[1,2]}}`, map[string]string{"a": "1", "b": `{"c":[1,2]}`}, ""},
		{"empty object", ` {} `, map[string]string{}, ""},
		{"names are exact", `{"jobId":"a","JobID":"b"}`, map[string]string{"jobId": `"a"`, "JobID": `"b"`}, ""},
		{"repeated name", `{"a":1,"a":2}`, nil, "a"},
		{"repeated nested object stays the caller's", `{"o":{"x":1,"x":2}}`, map[string]string{"o": `{"x":1,"x":2}`}, ""},
		{"repeated after escape", `{"a":1,"\u0061":2}`, nil, "a"},
		{"trailing bracket", `{"a":1}]`, nil, ""},
		{"trailing brace", `{"a":1}}`, nil, ""},
		{"second object", `{"a":1}{"b":2}`, nil, ""},
		{"trailing garbage", `{"a":1} x`, nil, ""},
		{"array", `[{"a":1}]`, nil, ""},
		{"null", `null`, nil, ""},
		{"string", `"a"`, nil, ""},
		{"empty", ``, nil, ""},
		{"unterminated", `{"a":1`, nil, ""},
		{"bad value", `{"a":tru}`, nil, ""},
		{"missing colon", `{"a" 1}`, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := strictjson.Object([]byte(tt.in))
			if tt.want == nil {
				var dup *strictjson.DuplicateError
				switch {
				case err == nil:
					t.Fatalf("Object(%s) = %v, want an error", tt.in, got)
				case tt.dup != "" && (!errors.As(err, &dup) || dup.Name != tt.dup):
					t.Fatalf("Object(%s) error = %v, want a duplicate %q", tt.in, err, tt.dup)
				case tt.dup == "" && !errors.Is(err, strictjson.ErrNotObject):
					t.Fatalf("Object(%s) error = %v, want ErrNotObject", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Object(%s): %v", tt.in, err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("Object(%s) = %d members, want %d", tt.in, len(got), len(tt.want))
			}
			for k, v := range tt.want {
				if string(got[k]) != v {
					t.Errorf("member %q = %s, want %s", k, got[k], v)
				}
			}
		})
	}
}

func FuzzObject(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"a":1,"a":2}`, `{"a":1}]`, `{}`, `[]`, `{"a":{"a":1}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := strictjson.Object(data)
		if err != nil {
			return
		}
		// Whatever is accepted is a valid object whose members are valid JSON.
		for name, v := range got {
			if len(v) == 0 {
				t.Fatalf("member %q has no value", name)
			}
		}
	})
}
