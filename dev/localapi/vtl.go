package localapi

// This file implements the part of the Velocity Template Language (VTL) that
// the mapping templates in template.yaml use (the OPTIONS mocks' origin echo
// and the gateway responses' error body), and nothing more:
//
//	text with $references and $!quiet references
//	#set($var = expr)   #set($context.responseOverride.header.Name = expr)
//	#if(expr) ... #end
//	expressions: "interpolated $strings", $refs, ==, !=, &&, !
//	methods: $string.contains(x), $map.get(key), and $input.params(): a map
//	of path, querystring and header maps
//
// Header names are as the client sent them (lower case over HTTP/2) and
// lookups are case-sensitive: API Gateway documents no case folding, so the
// emulation takes the strict reading, and a template that works here works
// whichever way API Gateway behaves. A #set whose value is null leaves the
// variable as it was (Velocity 1.7's default).
//
// Anything else (#else, #foreach, #{set}, comments, ||, literals other
// than strings, $util, other methods, undefined references) is an error, at
// load time where it can be seen then and at render time otherwise, so a
// template the emulation does not understand fails loudly instead of
// rendering something API Gateway would not. Written by hand for that
// reason: a general Velocity engine would render what API Gateway's dialect
// may treat otherwise, and the subset the template needs is small.

import (
	"fmt"
	"strconv"
	"strings"
)

type vtlTemplate struct{ nodes []vtlNode }

type vtlNode interface{}

type (
	vtlText    string
	vtlRefNode struct {
		ref   vtlRef
		quiet bool
	}
	vtlSet struct {
		target vtlRef
		expr   vtlExpr
	}
	vtlIf struct {
		cond vtlExpr
		body []vtlNode
	}
)

// vtlRef is $root.seg.seg(args)...
type vtlRef struct {
	root string
	segs []vtlSeg
}

type vtlSeg struct {
	name string
	call bool
	args []vtlExpr
}

type vtlExpr interface{}

type (
	vtlStr   []vtlNode // interpolated "string"
	vtlRefEx struct{ ref vtlRef }
	vtlNot   struct{ x vtlExpr }
	vtlBin   struct {
		op   string // "&&", "==" or "!="
		l, r vtlExpr
	}
)

// parseVTL parses a mapping template.
func parseVTL(src string) (*vtlTemplate, error) {
	p := &vtlParser{src: src}
	nodes, end, err := p.nodes()
	if err != nil {
		return nil, err
	}
	if end {
		return nil, p.errorf("#end without #if")
	}
	return &vtlTemplate{nodes: nodes}, nil
}

type vtlParser struct {
	src string
	pos int
}

func (p *vtlParser) errorf(format string, args ...any) error {
	line := 1 + strings.Count(p.src[:min(p.pos, len(p.src))], "\n")
	return fmt.Errorf("VTL line %d: %s", line, fmt.Sprintf(format, args...))
}

func (p *vtlParser) peek(s string) bool { return strings.HasPrefix(p.src[p.pos:], s) }

// nodes parses until EOF or an #end, reporting which (the position is then
// after the #end).
func (p *vtlParser) nodes() (out []vtlNode, end bool, err error) {
	var text strings.Builder
	flush := func() {
		if text.Len() > 0 {
			out = append(out, vtlText(text.String()))
			text.Reset()
		}
	}
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case '#':
			start := p.pos
			if p.peek("#{") || p.peek("##") || p.peek("#*") || p.peek("#[[") {
				return nil, false, p.errorf("%s (#{directive}, comments) is not supported by the local API Gateway emulation", p.src[p.pos:min(p.pos+3, len(p.src))])
			}
			name := p.word(p.pos + 1)
			if !vtlDirectives[name] { // Velocity leaves unknown #words as text
				text.WriteByte('#')
				p.pos++
				continue
			}
			p.pos += 1 + len(name)
			// A directive alone on its line takes its line with it.
			alone := lineStartsBlank(p.src, start)
			if alone {
				s := strings.TrimRight(text.String(), " \t")
				text.Reset()
				text.WriteString(s)
			}
			flush()
			switch name {
			case "set":
				n, err := p.set()
				if err != nil {
					return nil, false, err
				}
				out = append(out, n)
				if alone {
					p.eatRestOfLine()
				}
			case "if": // its #end takes care of its line
				n, err := p.ifBlock()
				if err != nil {
					return nil, false, err
				}
				out = append(out, n)
			case "end":
				if alone {
					p.eatRestOfLine()
				}
				return out, true, nil
			default:
				p.pos = start
				return nil, false, p.errorf("#%s is not supported by the local API Gateway emulation", name)
			}
		case '$':
			ref, quiet, ok, err := p.reference(true)
			if err != nil {
				return nil, false, err
			}
			if !ok {
				text.WriteByte('$')
				p.pos++
				continue
			}
			flush()
			out = append(out, vtlRefNode{ref: ref, quiet: quiet})
		default:
			next := strings.IndexAny(p.src[p.pos:], "#$")
			if next < 0 {
				next = len(p.src) - p.pos
			}
			text.WriteString(p.src[p.pos : p.pos+next])
			p.pos += next
		}
	}
	flush()
	return out, false, nil
}

// vtlDirectives are Velocity's directive names; the emulation implements
// set, if and end.
var vtlDirectives = map[string]bool{
	"set": true, "if": true, "elseif": true, "else": true, "end": true,
	"foreach": true, "macro": true, "parse": true, "include": true, "define": true,
	"evaluate": true, "break": true, "stop": true,
}

func lineStartsBlank(src string, at int) bool {
	i := strings.LastIndexByte(src[:at], '\n')
	return strings.Trim(src[i+1:at], " \t") == ""
}

// eatRestOfLine consumes blanks and one newline if nothing else follows the
// directive on its line.
func (p *vtlParser) eatRestOfLine() {
	rest := strings.TrimLeft(p.src[p.pos:], " \t\r")
	if rest == "" || rest[0] == '\n' {
		p.pos = len(p.src) - len(strings.TrimPrefix(rest, "\n"))
	}
}

// word returns the letters at src[i:].
func (p *vtlParser) word(i int) string {
	j := i
	for j < len(p.src) && isLetter(p.src[j]) {
		j++
	}
	return p.src[i:j]
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isIdent(c byte) bool { return isLetter(c) || c >= '0' && c <= '9' || c == '_' || c == '-' }

// reference parses $name.seg.method(args) or $!... at p.pos. inText: a
// reference that is not well-formed is literal text (ok false); in
// expressions it is an error.
func (p *vtlParser) reference(inText bool) (ref vtlRef, quiet, ok bool, err error) {
	i := p.pos + 1
	if i < len(p.src) && p.src[i] == '!' {
		quiet = true
		i++
	}
	if i >= len(p.src) || !isLetter(p.src[i]) {
		if inText {
			return ref, false, false, nil
		}
		return ref, false, false, p.errorf("bad reference")
	}
	p.pos = i
	ref.root = p.ident()
	for p.pos+1 < len(p.src) && p.src[p.pos] == '.' && isLetter(p.src[p.pos+1]) {
		p.pos++
		seg := vtlSeg{name: p.ident()}
		if p.peek("(") {
			p.pos++
			seg.call = true
			for p.skipSpace(); !p.peek(")"); p.skipSpace() {
				if len(seg.args) > 0 {
					if err := p.expect(","); err != nil {
						return ref, false, false, err
					}
				}
				a, err := p.expr()
				if err != nil {
					return ref, false, false, err
				}
				seg.args = append(seg.args, a)
			}
			p.pos++
		}
		ref.segs = append(ref.segs, seg)
	}
	return ref, quiet, true, nil
}

func (p *vtlParser) ident() string {
	j := p.pos
	for j < len(p.src) && isIdent(p.src[j]) {
		j++
	}
	s := p.src[p.pos:j]
	p.pos = j
	return s
}

func (p *vtlParser) skipSpace() {
	for p.pos < len(p.src) && strings.IndexByte(" \t\r\n", p.src[p.pos]) >= 0 {
		p.pos++
	}
}

func (p *vtlParser) expect(s string) error {
	p.skipSpace()
	if !p.peek(s) {
		return p.errorf("want %q", s)
	}
	p.pos += len(s)
	return nil
}

func (p *vtlParser) set() (vtlNode, error) {
	if err := p.expect("("); err != nil {
		return nil, err
	}
	p.skipSpace()
	if !p.peek("$") {
		return nil, p.errorf("#set: want a $reference")
	}
	target, _, _, err := p.reference(false)
	if err != nil {
		return nil, err
	}
	if err := p.expect("="); err != nil {
		return nil, err
	}
	x, err := p.expr()
	if err != nil {
		return nil, err
	}
	return vtlSet{target: target, expr: x}, p.expect(")")
}

func (p *vtlParser) ifBlock() (vtlNode, error) {
	if err := p.expect("("); err != nil {
		return nil, err
	}
	cond, err := p.expr()
	if err != nil {
		return nil, err
	}
	if err := p.expect(")"); err != nil {
		return nil, err
	}
	// #if(...) followed by a line break: the break belongs to the directive.
	p.eatRestOfLine()
	body, end, err := p.nodes()
	if err != nil {
		return nil, err
	}
	if !end {
		return nil, p.errorf("#if without #end")
	}
	return vtlIf{cond: cond, body: body}, nil
}

// expr parses comparisons joined by &&.
func (p *vtlParser) expr() (vtlExpr, error) {
	l, err := p.comparison()
	for err == nil {
		if p.skipSpace(); !p.peek("&&") {
			return l, nil
		}
		p.pos += 2
		var r vtlExpr
		r, err = p.comparison()
		l = vtlBin{op: "&&", l: l, r: r}
	}
	return nil, err
}

func (p *vtlParser) comparison() (vtlExpr, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	for _, op := range []string{"==", "!="} {
		if p.peek(op) {
			p.pos += 2
			r, err := p.unary()
			return vtlBin{op: op, l: l, r: r}, err
		}
	}
	return l, nil
}

func (p *vtlParser) unary() (vtlExpr, error) {
	p.skipSpace()
	switch {
	case p.peek("!"):
		p.pos++
		x, err := p.unary()
		return vtlNot{x: x}, err
	case p.peek("$"):
		ref, _, _, err := p.reference(false)
		return vtlRefEx{ref: ref}, err
	case p.peek(`"`):
		end := strings.IndexByte(p.src[p.pos+1:], '"')
		if end < 0 {
			return nil, p.errorf("unterminated string")
		}
		inner := p.src[p.pos+1 : p.pos+1+end]
		p.pos += end + 2
		return stringNodes(inner)
	}
	return nil, p.errorf("unexpected %q in an expression", p.src[p.pos:min(p.pos+12, len(p.src))])
}

// stringNodes parses the inside of a double-quoted string: text and
// references only.
func stringNodes(s string) (vtlStr, error) {
	p := &vtlParser{src: s}
	var out vtlStr
	for p.pos < len(s) {
		if s[p.pos] == '$' {
			ref, quiet, ok, err := p.reference(true)
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, vtlRefNode{ref: ref, quiet: quiet})
				continue
			}
		}
		if s[p.pos] == '#' && isLetter(s[min(p.pos+1, len(s)-1)]) {
			return nil, fmt.Errorf("VTL: directives inside strings are not supported: %q", s)
		}
		next := strings.IndexAny(s[p.pos+1:], "$#")
		if next < 0 {
			next = len(s) - p.pos - 1
		}
		out = append(out, vtlText(s[p.pos:p.pos+1+next]))
		p.pos += 1 + next
	}
	return out, nil
}

// ---------------------------------------------------------------- evaluation

// vtlInput answers $input.params(): the request's path, query string and
// header parameters by kind.
type vtlInput struct {
	path, query, header map[string]string
}

func (in vtlInput) params() map[string]any {
	conv := func(m map[string]string) map[string]any {
		out := make(map[string]any, len(m))
		for k, v := range m {
			out[k] = v
		}
		return out
	}
	return map[string]any{"path": conv(in.path), "querystring": conv(in.query), "header": conv(in.header)}
}

// vtlEnv is what a template sees and what it sets.
type vtlEnv struct {
	input   vtlInput
	context map[string]any // nested maps of strings
	vars    map[string]any
	// Set by #set($context.responseOverride.header.Name = ...).
	overrideHeaders map[string]string
}

func (t *vtlTemplate) render(env *vtlEnv) (string, error) {
	if env.vars == nil {
		env.vars = map[string]any{}
	}
	var b strings.Builder
	if err := env.run(t.nodes, &b); err != nil {
		return "", err
	}
	return b.String(), nil
}

func (env *vtlEnv) run(nodes []vtlNode, b *strings.Builder) error {
	for _, n := range nodes {
		switch n := n.(type) {
		case vtlText:
			b.WriteString(string(n))
		case vtlRefNode:
			v, err := env.resolve(n.ref)
			if n.quiet && (err != nil || v == nil) {
				continue
			}
			if err != nil {
				return err
			}
			s, err := vtlString(v)
			if err != nil {
				return fmt.Errorf("$%s: %w", n.ref.root, err)
			}
			b.WriteString(s)
		case vtlSet:
			v, err := env.eval(n.expr)
			if err != nil {
				return err
			}
			if v == nil {
				// Velocity 1.7: a reference or method that yields null
				// leaves the left-hand side unchanged.
				continue
			}
			if err := env.assign(n.target, v); err != nil {
				return err
			}
		case vtlIf:
			v, err := env.eval(n.cond)
			if err != nil {
				return err
			}
			if vtlTruthy(v) {
				if err := env.run(n.body, b); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (env *vtlEnv) assign(target vtlRef, v any) error {
	var path []string
	for _, s := range target.segs {
		if s.call {
			return fmt.Errorf("VTL: cannot assign to a method call")
		}
		path = append(path, s.name)
	}
	switch {
	case len(path) == 0 && (target.root == "input" || target.root == "context" || target.root == "util"):
		return fmt.Errorf("VTL: $%s cannot be assigned", target.root)
	case len(path) == 0:
		env.vars[target.root] = v
		return nil
	case target.root == "context" && len(path) == 3 && path[0] == "responseOverride" && path[1] == "header":
		s, err := vtlString(v)
		if err != nil {
			return fmt.Errorf("$context.responseOverride.header.%s: %w", path[2], err)
		}
		if env.overrideHeaders == nil {
			env.overrideHeaders = map[string]string{}
		}
		env.overrideHeaders[path[2]] = s
		return nil
	}
	return fmt.Errorf("VTL: assigning $%s.%s is not supported", target.root, strings.Join(path, "."))
}

func (env *vtlEnv) resolve(ref vtlRef) (any, error) {
	var cur any
	switch ref.root {
	case "input":
		cur = env.input
	case "context":
		cur = env.context
	case "util", "stageVariables":
		return nil, fmt.Errorf("VTL: $%s is not supported by the local API Gateway emulation", ref.root)
	default:
		v, ok := env.vars[ref.root]
		if !ok {
			return nil, fmt.Errorf("VTL: $%s is not defined", ref.root)
		}
		cur = v
	}
	name := "$" + ref.root
	for _, s := range ref.segs {
		name += "." + s.name
		args := make([]string, len(s.args))
		for i, a := range s.args {
			v, err := env.eval(a)
			if err == nil {
				args[i], err = vtlString(v)
			}
			if err != nil {
				return nil, err
			}
		}
		switch c := cur.(type) {
		case vtlInput:
			if !s.call || s.name != "params" || len(args) > 0 {
				return nil, fmt.Errorf("VTL: %s is not supported (only $input.params())", name)
			}
			cur = c.params()
		case map[string]any:
			switch {
			case s.call && s.name == "get" && len(args) == 1:
				cur = c[args[0]] // null when absent, as Java's Map.get
			case s.call:
				return nil, fmt.Errorf("VTL: %s() is not supported (maps have only .get(key))", name)
			default:
				v, ok := c[s.name]
				if !ok {
					return nil, fmt.Errorf("VTL: %s is not defined", name)
				}
				cur = v
			}
		case string:
			if !s.call || s.name != "contains" || len(args) != 1 {
				return nil, fmt.Errorf("VTL: %s is not supported (strings have only .contains(x))", name)
			}
			cur = strings.Contains(c, args[0])
		default:
			return nil, fmt.Errorf("VTL: %s: no such property or method on %T", name, cur)
		}
	}
	return cur, nil
}

func (env *vtlEnv) eval(x vtlExpr) (any, error) {
	switch x := x.(type) {
	case vtlStr:
		var b strings.Builder
		err := env.run(x, &b)
		return b.String(), err
	case vtlRefEx:
		return env.resolve(x.ref)
	case vtlNot:
		v, err := env.eval(x.x)
		return !vtlTruthy(v), err
	case vtlBin:
		l, err := env.eval(x.l)
		if err != nil || x.op == "&&" && !vtlTruthy(l) {
			return false, err
		}
		r, err := env.eval(x.r)
		switch x.op {
		case "&&":
			return vtlTruthy(r), err
		case "==":
			return vtlEqual(l, r), err
		}
		return !vtlEqual(l, r), err
	}
	return nil, fmt.Errorf("VTL: unknown expression %T", x)
}

// vtlTruthy is Velocity 1.7's: false and null are false, anything else true.
func vtlTruthy(v any) bool {
	if b, ok := v.(bool); ok {
		return b
	}
	return v != nil
}

// vtlEqual compares like Velocity: null only equals null, other values by
// their text.
func vtlEqual(a, b any) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	sa, err1 := vtlString(a)
	sb, err2 := vtlString(b)
	return err1 == nil && err2 == nil && sa == sb
}

func vtlString(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case bool:
		return strconv.FormatBool(v), nil
	case nil:
		return "", fmt.Errorf("null")
	}
	return "", fmt.Errorf("cannot render a %T", v)
}
