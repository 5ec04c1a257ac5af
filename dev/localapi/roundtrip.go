package localapi

import (
	"encoding"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// The Lambda runtime hands a function its event, and API Gateway its
// response, through JSON. The gateway reproduces that with a JSON round
// trip, which costs more than the rest of the emulation together; it skips
// the round trip when it would give the same value back (jsonStable), and
// only then.

// viaJSON returns what a function (or API Gateway) would see of v after
// JSON: v itself when that is the same, else v encoded and decoded.
func viaJSON[T any](v T) (T, error) {
	if jsonStable(reflect.ValueOf(&v).Elem(), false) {
		return v, nil
	}
	var out T
	b, err := json.Marshal(v)
	if err == nil {
		err = json.Unmarshal(b, &out)
	}
	return out, err
}

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
	anyMap        = reflect.TypeFor[map[string]any]()
	anySlice      = reflect.TypeFor[[]any]()
	float64Type   = reflect.TypeFor[float64]()
	stringType    = reflect.TypeFor[string]()
)

// typeInfo is what jsonStable needs to know of a type, worked out once.
type typeInfo struct {
	custom bool // has its own JSON or text encoding
	fields []fieldInfo
}

type fieldInfo struct {
	index     int
	ignored   bool // unexported or json:"-": JSON leaves it out
	omitEmpty bool
	embedded  bool
}

var typeInfos sync.Map // reflect.Type → *typeInfo

func infoOf(t reflect.Type) *typeInfo {
	if ti, ok := typeInfos.Load(t); ok {
		return ti.(*typeInfo)
	}
	ti := &typeInfo{custom: t.Implements(jsonMarshaler) || t.Implements(textMarshaler) ||
		reflect.PointerTo(t).Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(textMarshaler)}
	if t.Kind() == reflect.Struct {
		for i := range t.NumField() {
			f := t.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			ti.fields = append(ti.fields, fieldInfo{index: i, ignored: !f.IsExported() || name == "-" && opts == "",
				omitEmpty: slices.Contains(strings.Split(opts, ","), "omitempty"), embedded: f.Anonymous})
		}
	}
	typeInfos.Store(t, ti)
	return ti
}

// jsonStable reports whether encoding v as JSON and decoding the result into
// a value of v's type gives v back (reflect.DeepEqual): every string and map
// key valid UTF-8 (JSON would replace bad bytes), no value with its own JSON
// or text encoding, no field JSON leaves out while set, floats finite, and
// interfaces (inIface: v is held by one) holding only what encoding/json
// decodes into one — nil, bool, float64, string, []any, map[string]any.
// Anything else is reported unstable, which only costs the round trip.
func jsonStable(v reflect.Value, inIface bool) bool {
	t := v.Type()
	if inIface {
		switch k := t.Kind(); {
		case k == reflect.String && t == stringType, k == reflect.Bool && t == reflect.TypeFor[bool](), t == float64Type:
		case t == anyMap, t == anySlice:
		default:
			return false
		}
	}
	switch t.Kind() {
	case reflect.String:
		return (t == stringType || !infoOf(t).custom) && utf8.ValidString(v.String())
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return !infoOf(t).custom
	case reflect.Float64:
		f := v.Float()
		return !infoOf(t).custom && f == f && f-f == 0 // not NaN, not ±Inf: JSON has neither
	case reflect.Interface:
		if v.IsNil() {
			return true
		}
		if ok, known := nativeStable(v.Interface(), true); known {
			return ok
		}
		return jsonStable(v.Elem(), true)
	case reflect.Pointer:
		return !infoOf(t).custom && (v.IsNil() || jsonStable(v.Elem(), false))
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 || t != anySlice && infoOf(t).custom {
			return false // []byte is base64: keep it simple
		}
		for i := range v.Len() {
			if !jsonStable(v.Index(i), false) {
				return false
			}
		}
		return true
	case reflect.Map:
		if t.Key() != stringType || t != anyMap && infoOf(t).custom {
			return false
		}
		if ok, known := nativeStable(v.Interface(), false); known {
			return ok
		}
		for it := v.MapRange(); it.Next(); {
			if !utf8.ValidString(it.Key().String()) || !jsonStable(it.Value(), false) {
				return false
			}
		}
		return true
	case reflect.Struct:
		ti := infoOf(t)
		if ti.custom {
			return false
		}
		for _, f := range ti.fields {
			fv := v.Field(f.index)
			switch {
			case f.embedded:
				return false
			case f.ignored:
				if !fv.IsZero() {
					return false
				}
			case f.omitEmpty && (fv.Kind() == reflect.Map || fv.Kind() == reflect.Slice) && !fv.IsNil() && fv.Len() == 0:
				return false // left out, so decoded as nil
			case !jsonStable(fv, false):
				return false
			}
		}
		return true
	}
	return false
}

// nativeStable is jsonStable without reflection for the values proxy events
// and responses are made of (known reports whether v was one of them). In
// an interface (inIface), maps and slices other than map[string]any and
// []any are not: JSON would give those back.
func nativeStable(v any, inIface bool) (ok, known bool) {
	switch v := v.(type) {
	case nil, bool:
		return true, true
	case string:
		return utf8.ValidString(v), true
	case float64:
		return v == v && v-v == 0, true
	case map[string]string:
		if inIface {
			return false, true
		}
		for k, s := range v {
			if !utf8.ValidString(k) || !utf8.ValidString(s) {
				return false, true
			}
		}
		return true, true
	case map[string][]string:
		if inIface {
			return false, true
		}
		for k, ss := range v {
			if !utf8.ValidString(k) {
				return false, true
			}
			for _, s := range ss {
				if !utf8.ValidString(s) {
					return false, true
				}
			}
		}
		return true, true
	case map[string]any:
		for k, x := range v {
			if !utf8.ValidString(k) {
				return false, true
			}
			if ok, known := nativeStable(x, true); !ok || !known {
				return false, true
			}
		}
		return true, true
	case []any:
		for _, x := range v {
			if ok, known := nativeStable(x, true); !ok || !known {
				return false, true
			}
		}
		return true, true
	}
	return false, false
}
