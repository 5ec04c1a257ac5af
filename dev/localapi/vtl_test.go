package localapi

import (
	"reflect"
	"strings"
	"testing"
)

// optionsTemplate is the OPTIONS response template of template.yaml after
// Fn::Sub, with two allowed origins.
const optionsTemplate = `#set($origin = $input.params().header.get("Origin"))
#if("$!origin" == "")
#set($origin = $input.params().header.get("origin"))
#end
#set($allowed = ",http://127.0.0.1:3001,https://admin.example,")
#if("$!origin" != "" && !$origin.contains(",") && $allowed.contains(",$origin,"))
#set($context.responseOverride.header.Access-Control-Allow-Origin = $origin)
#end
`

func TestVTLOptionsTemplate(t *testing.T) {
	t.Parallel()
	tpl, err := parseVTL(optionsTemplate)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		origin string
		want   map[string]string
	}{
		{"http://127.0.0.1:3001", map[string]string{"Access-Control-Allow-Origin": "http://127.0.0.1:3001"}},
		{"https://admin.example", map[string]string{"Access-Control-Allow-Origin": "https://admin.example"}},
		{"", nil},
		{"http://127.0.0.1:3002", nil},
		{"https://admin.example.evil", nil},
		{"http://127.0.0.1:3001,https://admin.example", nil}, // would match the list by substring
		{"HTTPS://ADMIN.EXAMPLE", nil},
		{"null", nil},
	}
	// HTTP/1.1 browsers send "Origin", HTTP/2 ones "origin"; a query
	// parameter named Origin must not count.
	for _, name := range []string{"Origin", "origin"} {
		for _, tt := range tests {
			env := &vtlEnv{input: vtlInput{header: map[string]string{}, query: map[string]string{"Origin": "https://admin.example"}}}
			if tt.origin != "" {
				env.input.header[name] = tt.origin
			}
			out, err := tpl.render(env)
			if err != nil {
				t.Fatalf("%s %q: %v", name, tt.origin, err)
			}
			if !reflect.DeepEqual(env.overrideHeaders, tt.want) {
				t.Errorf("%s %q: header overrides = %v, want %v", name, tt.origin, env.overrideHeaders, tt.want)
			}
			if out != "" {
				t.Errorf("%s %q: body = %q, want empty (directive lines leave nothing)", name, tt.origin, out)
			}
		}
	}
}

func TestVTLRender(t *testing.T) {
	t.Parallel()
	ctx := map[string]any{
		"requestId": "r-1",
		"error":     map[string]any{"responseType": "UNAUTHORIZED", "messageString": `"Unauthorized"`},
	}
	tests := []struct{ name, src, want string }{
		{"gateway response", `{"error":{"code":"$context.error.responseType","message":$context.error.messageString}}`,
			`{"error":{"code":"UNAUTHORIZED","message":"Unauthorized"}}`},
		{"quiet", `$context.requestId/$!nothing/$`, `r-1//$`},
		{"literal hash and dollar", `# $1 #1 a#b #elsewhere`, `# $1 #1 a#b #elsewhere`},
		{"nested if, directive lines leave nothing", "#set($n = \"2\")\n  #if($n == \"2\")\n#if(!$n.contains(\"x\") && $n != \"1\")\ntwo\n#end\n#end\nafter", "two\nafter"},
		{"if not alone keeps its line break", "#if(\"\" == \"\")a#end\nb", "a\nb"},
		{"interpolated strings", `#set($n = "2")#set($a = "x$n$!none$")$a`, "x2$"},
		{"params map", `$input.params().path.get("id")/$input.params().querystring.get("q")/$input.params().header.get("Origin")`, "7/x/o"},
		{"map get of an absent key is null", `#set($v = "kept")#set($v = $input.params().header.get("none"))$v/$!nothing`, "kept/"},
		{"header lookup is case-sensitive", `[$!input.params().header.get("origin")][$input.params().header.get("Origin")]`, "[][o]"},
	}
	for _, tt := range tests {
		tpl, err := parseVTL(tt.src)
		if err != nil {
			t.Errorf("%s: parse: %v", tt.name, err)
			continue
		}
		env := &vtlEnv{context: ctx, input: vtlInput{path: map[string]string{"id": "7"}, query: map[string]string{"q": "x"}, header: map[string]string{"Origin": "o"}}}
		if got, err := tpl.render(env); err != nil || got != tt.want {
			t.Errorf("%s: got %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
}

// TestVTLFailsLoudly: what the emulation does not implement is an error,
// never a silently different rendering.
func TestVTLFailsLoudly(t *testing.T) {
	t.Parallel()
	parseErrors := []struct{ src, want string }{
		{`#foreach($x in $list)$x#end`, "#foreach is not supported"},
		{`#if(true)x#else y#end`, "unexpected"},
		{`#if($a)x#{else}y#end`, "#{directive}"},
		{"a ## comment", "comments"},
		{`#if($a)x#elseif($b)y#end`, "#elseif is not supported"},
		{`#if($a || $b)x#end`, `want ")"`},
		{`#set($a = 1)`, "unexpected"},
		{`#set($a = 'x')`, "unexpected"},
		{`#if($a)x`, "without #end"},
		{`#end`, "without #if"},
		{`#set($a = )`, "unexpected"},
		{`#set($a = "x)`, "unterminated"},
		{`#set($a = "#if")`, "directives inside strings"},
		{`#set($a = "$m.get($k")`, `want ","`},
		{`#if($a == ) x #end`, "unexpected"},
	}
	for _, tt := range parseErrors {
		if _, err := parseVTL(tt.src); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parse %q: error = %v, want one containing %q", tt.src, err, tt.want)
		}
	}
	renderErrors := []struct{ src, want string }{
		{`$undefined`, "not defined"},
		{`$util.escapeJavaScript("x")`, "$util is not supported"},
		{`$input.json("$")`, "only $input.params()"},
		{`$input.params("Origin")`, "only $input.params()"},
		{`$input.params().header.keySet()`, "maps have only .get"},
		{`#set($s = "x")$s.length()`, "only .contains"},
		{`$context.identity.sourceIp`, "not defined"},
		{`#set($context.requestId = "x")`, "not supported"},
		{`#set($context.responseOverride.status = "418")`, "not supported"},
		{`#set($input = "x")`, "cannot be assigned"},
		{`#set($m = $context)$m`, "cannot render"},
	}
	for _, tt := range renderErrors {
		tpl, err := parseVTL(tt.src)
		if err != nil {
			t.Errorf("parse %q: %v", tt.src, err)
			continue
		}
		_, err = tpl.render(&vtlEnv{context: map[string]any{"requestId": "r"}, input: vtlInput{}})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("render %q: error = %v, want one containing %q", tt.src, err, tt.want)
		}
	}
}
