package localapi

// This file implements the part of the Velocity Template Language (VTL) that
// API Gateway mapping templates in template.yaml use, and nothing more:
//
//	text with $references, ${formal} and $!quiet references
//	#set($var = expr)   #set($context.responseOverride.header.Name = expr)
//	#set($context.responseOverride.status = expr)
//	#if(expr) ... #elseif(expr) ... #else ... #end
//	## line comments, #* block comments *#, #[[ unparsed ]]#
//	expressions: "interpolated $strings", 'literal strings', numbers, true,
//	false, null, $refs, ==, !=, &&, ||, !, and, or, not, parentheses
//	methods: $string.contains(x), $input.params('name'), $input.params()
//	(a map of path, querystring and header maps), $map.get(key)
//
// Header names are as the client sent them (lower case over HTTP/2) and
// lookups are case-sensitive: API Gateway documents no case folding for
// $input.params, so the emulation takes the strict reading, and a template
// that works here works whichever way API Gateway behaves. A #set whose value
// is null leaves the variable as it was (Velocity 1.7's default).
//
// Anything else (#foreach, #macro, $util, $input.json, other methods,
// undefined references) is an error, at load time where it can be seen then
// and at render time otherwise, so a template the emulation does not
// understand fails loudly instead of rendering something API Gateway would
// not.

import (
	"fmt"
	"strconv"
	"strings"
)

type vtlTemplate struct {
	src   string
	nodes []vtlNode
}

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
		conds  []vtlExpr
		bodies [][]vtlNode // one per cond, plus a final else body if len(bodies) > len(conds)
	}
)

// vtlRef is $root.seg.seg(args)...
type vtlRef struct {
	root string
	segs []vtlSeg
	pos  int
}

type vtlSeg struct {
	name string
	call bool
	args []vtlExpr
}

type vtlExpr interface{}

type (
	vtlLit   struct{ v any }
	vtlStr   []vtlNode // interpolated "string"
	vtlRefEx struct{ ref vtlRef }
	vtlNot   struct{ x vtlExpr }
	vtlBin   struct {
		op   string
		l, r vtlExpr
	}
)

// parseVTL parses a mapping template.
func parseVTL(src string) (*vtlTemplate, error) {
	p := &vtlParser{src: src}
	nodes, stop, err := p.nodes(false)
	if err != nil {
		return nil, err
	}
	if stop != "" {
		return nil, p.errorf("#%s without #if", stop)
	}
	return &vtlTemplate{src: src, nodes: nodes}, nil
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

// nodes parses until EOF or, inside #if, until #elseif/#else/#end, which it
// returns as stop (the position is after the directive name).
func (p *vtlParser) nodes(inIf bool) (out []vtlNode, stop string, err error) {
	var text strings.Builder
	flush := func() {
		if text.Len() > 0 {
			out = append(out, vtlText(text.String()))
			text.Reset()
		}
	}
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch {
		case p.peek("##"):
			end := strings.IndexByte(p.src[p.pos:], '\n')
			if end < 0 {
				p.pos = len(p.src)
			} else {
				p.pos += end + 1
			}
		case p.peek("#*"):
			end := strings.Index(p.src[p.pos+2:], "*#")
			if end < 0 {
				return nil, "", p.errorf("unterminated #* comment")
			}
			p.pos += 2 + end + 2
		case p.peek("#[["):
			end := strings.Index(p.src[p.pos+3:], "]]#")
			if end < 0 {
				return nil, "", p.errorf("unterminated #[[ block")
			}
			text.WriteString(p.src[p.pos+3 : p.pos+3+end])
			p.pos += 3 + end + 3
		case c == '#':
			start := p.pos
			name, ok := p.directiveName()
			if !ok || !vtlDirectives[name] { // Velocity leaves unknown #words as text
				text.WriteByte('#')
				p.pos = start + 1
				continue
			}
			// A directive alone on its line takes its line with it.
			alone := lineStartsBlank(p.src, start)
			if alone {
				trimTrailingBlanks(&text)
			}
			flush()
			switch name {
			case "set":
				n, err := p.set()
				if err != nil {
					return nil, "", err
				}
				out = append(out, n)
				if alone {
					p.eatRestOfLine()
				}
			case "if": // its #end takes care of its line
				n, err := p.ifBlock()
				if err != nil {
					return nil, "", err
				}
				out = append(out, n)
			case "elseif", "else", "end":
				if !inIf {
					return nil, "", p.errorf("#%s without #if", name)
				}
				if name != "elseif" && alone {
					p.eatRestOfLine()
				}
				return out, name, nil
			default:
				p.pos = start
				return nil, "", p.errorf("#%s is not supported by the local API Gateway emulation", name)
			}
		case c == '$':
			start := p.pos
			ref, quiet, ok, err := p.reference(true)
			if err != nil {
				return nil, "", err
			}
			if !ok {
				text.WriteByte('$')
				p.pos = start + 1
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
	return out, "", nil
}

// vtlDirectives are Velocity's directive names; the emulation implements
// set, if, elseif, else and end.
var vtlDirectives = map[string]bool{
	"set": true, "if": true, "elseif": true, "else": true, "end": true,
	"foreach": true, "macro": true, "parse": true, "include": true, "define": true,
	"evaluate": true, "break": true, "stop": true,
}

func lineStartsBlank(src string, at int) bool {
	for i := at - 1; i >= 0 && src[i] != '\n'; i-- {
		if src[i] != ' ' && src[i] != '\t' {
			return false
		}
	}
	return true
}

func trimTrailingBlanks(b *strings.Builder) {
	s := b.String()
	t := strings.TrimRight(s, " \t")
	if len(t) != len(s) {
		b.Reset()
		b.WriteString(t)
	}
}

// eatRestOfLine consumes blanks and one newline if nothing else follows the
// directive on its line.
func (p *vtlParser) eatRestOfLine() {
	i := p.pos
	for i < len(p.src) && (p.src[i] == ' ' || p.src[i] == '\t' || p.src[i] == '\r') {
		i++
	}
	if i == len(p.src) {
		p.pos = i
	} else if p.src[i] == '\n' {
		p.pos = i + 1
	}
}

// directiveName reads #name or #{name} and reports whether one was there.
func (p *vtlParser) directiveName() (string, bool) {
	i := p.pos + 1
	braced := i < len(p.src) && p.src[i] == '{'
	if braced {
		i++
	}
	j := i
	for j < len(p.src) && isLetter(p.src[j]) {
		j++
	}
	if j == i {
		return "", false
	}
	name := p.src[i:j]
	if braced {
		if j >= len(p.src) || p.src[j] != '}' {
			return "", false
		}
		j++
	}
	p.pos = j
	return name, true
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isIdent(c byte) bool { return isLetter(c) || c >= '0' && c <= '9' || c == '_' || c == '-' }

// reference parses $name.seg.method(args), ${...} or $!... at p.pos.
// inText: a reference that is not well-formed is literal text (ok false);
// in expressions it is an error.
func (p *vtlParser) reference(inText bool) (ref vtlRef, quiet, ok bool, err error) {
	start := p.pos
	i := p.pos + 1
	if i < len(p.src) && p.src[i] == '!' {
		quiet = true
		i++
	}
	formal := i < len(p.src) && p.src[i] == '{'
	if formal {
		i++
	}
	if i >= len(p.src) || !isLetter(p.src[i]) {
		if inText {
			return ref, false, false, nil
		}
		return ref, false, false, p.errorf("bad reference")
	}
	j := i
	for j < len(p.src) && isIdent(p.src[j]) {
		j++
	}
	ref = vtlRef{root: p.src[i:j], pos: start}
	p.pos = j
	for {
		if p.pos+1 < len(p.src) && p.src[p.pos] == '.' && isLetter(p.src[p.pos+1]) {
			k := p.pos + 1
			for k < len(p.src) && isIdent(p.src[k]) {
				k++
			}
			seg := vtlSeg{name: p.src[p.pos+1 : k]}
			p.pos = k
			if p.peek("(") {
				p.pos++
				seg.call = true
				for {
					p.skipSpace()
					if p.peek(")") {
						p.pos++
						break
					}
					if len(seg.args) > 0 {
						if !p.peek(",") {
							return ref, false, false, p.errorf("want , or ) in the arguments of %s", seg.name)
						}
						p.pos++
					}
					a, err := p.expr()
					if err != nil {
						return ref, false, false, err
					}
					seg.args = append(seg.args, a)
				}
			}
			ref.segs = append(ref.segs, seg)
			continue
		}
		break
	}
	if formal {
		if !p.peek("}") {
			return ref, false, false, p.errorf("unterminated ${ reference")
		}
		p.pos++
	}
	return ref, quiet, true, nil
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
	if err := p.expect(")"); err != nil {
		return nil, err
	}
	return vtlSet{target: target, expr: x}, nil
}

func (p *vtlParser) ifBlock() (vtlNode, error) {
	var n vtlIf
	cond, err := p.condition()
	if err != nil {
		return nil, err
	}
	for {
		n.conds = append(n.conds, cond)
		body, stop, err := p.nodes(true)
		if err != nil {
			return nil, err
		}
		n.bodies = append(n.bodies, body)
		switch stop {
		case "end":
			return n, nil
		case "else":
			body, stop, err := p.nodes(true)
			if err != nil {
				return nil, err
			}
			if stop != "end" {
				return nil, p.errorf("want #end after #else, got #%s", stop)
			}
			n.bodies = append(n.bodies, body)
			return n, nil
		case "elseif":
			if cond, err = p.condition(); err != nil {
				return nil, err
			}
		default:
			return nil, p.errorf("#if without #end")
		}
	}
}

func (p *vtlParser) condition() (vtlExpr, error) {
	if err := p.expect("("); err != nil {
		return nil, err
	}
	x, err := p.expr()
	if err != nil {
		return nil, err
	}
	if err := p.expect(")"); err != nil {
		return nil, err
	}
	// #if(...) followed by a line break: the break belongs to the directive.
	p.eatRestOfLine()
	return x, nil
}

func (p *vtlParser) expr() (vtlExpr, error) { return p.binary(0) }

var vtlLevels = [][]string{{"||", "or"}, {"&&", "and"}, {"==", "!=", "eq", "ne"}}

func (p *vtlParser) binary(level int) (vtlExpr, error) {
	if level == len(vtlLevels) {
		return p.unary()
	}
	l, err := p.binary(level + 1)
	if err != nil {
		return nil, err
	}
	for {
		p.skipSpace()
		op := ""
		for _, o := range vtlLevels[level] {
			if p.peek(o) && (!isLetter(o[0]) || p.pos+len(o) < len(p.src) && !isIdent(p.src[p.pos+len(o)])) {
				op = o
				break
			}
		}
		if op == "" {
			return l, nil
		}
		p.pos += len(op)
		r, err := p.binary(level + 1)
		if err != nil {
			return nil, err
		}
		switch op {
		case "or":
			op = "||"
		case "and":
			op = "&&"
		case "eq":
			op = "=="
		case "ne":
			op = "!="
		}
		l = vtlBin{op: op, l: l, r: r}
		if level == 2 { // comparisons do not chain
			return l, nil
		}
	}
}

func (p *vtlParser) unary() (vtlExpr, error) {
	p.skipSpace()
	switch {
	case p.peek("!") && !p.peek("!="):
		p.pos++
		x, err := p.unary()
		return vtlNot{x: x}, err
	case p.peek("not ") || p.peek("not("):
		p.pos += 3
		x, err := p.unary()
		return vtlNot{x: x}, err
	}
	return p.primary()
}

func (p *vtlParser) primary() (vtlExpr, error) {
	p.skipSpace()
	if p.pos >= len(p.src) {
		return nil, p.errorf("unexpected end of template in an expression")
	}
	c := p.src[p.pos]
	switch {
	case c == '(':
		p.pos++
		x, err := p.expr()
		if err != nil {
			return nil, err
		}
		return x, p.expect(")")
	case c == '\'':
		end := strings.IndexByte(p.src[p.pos+1:], '\'')
		if end < 0 {
			return nil, p.errorf("unterminated string")
		}
		s := p.src[p.pos+1 : p.pos+1+end]
		p.pos += end + 2
		return vtlLit{v: s}, nil
	case c == '"':
		end := strings.IndexByte(p.src[p.pos+1:], '"')
		if end < 0 {
			return nil, p.errorf("unterminated string")
		}
		inner := p.src[p.pos+1 : p.pos+1+end]
		sub := &vtlParser{src: inner}
		nodes, stop, err := sub.stringNodes()
		if err != nil || stop != "" {
			return nil, p.errorf("in string %q: %v", inner, err)
		}
		p.pos += end + 2
		return vtlStr(nodes), nil
	case c == '$':
		ref, _, _, err := p.reference(false)
		return vtlRefEx{ref: ref}, err
	case c == '-' || c >= '0' && c <= '9':
		j := p.pos + 1
		for j < len(p.src) && (p.src[j] >= '0' && p.src[j] <= '9' || p.src[j] == '.') {
			j++
		}
		f, err := strconv.ParseFloat(p.src[p.pos:j], 64)
		if err != nil {
			return nil, p.errorf("bad number %q", p.src[p.pos:j])
		}
		p.pos = j
		return vtlLit{v: f}, nil
	}
	for word, v := range map[string]any{"true": true, "false": false, "null": nil} {
		if p.peek(word) && (p.pos+len(word) == len(p.src) || !isIdent(p.src[p.pos+len(word)])) {
			p.pos += len(word)
			return vtlLit{v: v}, nil
		}
	}
	return nil, p.errorf("unexpected %q in an expression", p.src[p.pos:min(p.pos+12, len(p.src))])
}

// stringNodes parses the inside of a double-quoted string: text and
// references only.
func (p *vtlParser) stringNodes() ([]vtlNode, string, error) {
	var out []vtlNode
	for p.pos < len(p.src) {
		if p.src[p.pos] == '$' {
			start := p.pos
			ref, quiet, ok, err := p.reference(true)
			if err != nil {
				return nil, "", err
			}
			if ok {
				out = append(out, vtlRefNode{ref: ref, quiet: quiet})
				continue
			}
			p.pos = start + 1
			out = append(out, vtlText("$"))
			continue
		}
		if p.src[p.pos] == '#' && len(p.src) > p.pos+1 && isLetter(p.src[p.pos+1]) {
			return nil, "", fmt.Errorf("directives inside strings are not supported")
		}
		next := strings.IndexByte(p.src[p.pos+1:], '$')
		if next < 0 {
			next = len(p.src) - p.pos - 1
		}
		out = append(out, vtlText(p.src[p.pos:p.pos+1+next]))
		p.pos += 1 + next
	}
	return out, "", nil
}

// ---------------------------------------------------------------- evaluation

// vtlInput answers $input.params('name'): a path, query string or header
// parameter, in that order, as API Gateway looks them up ("" if none); and
// $input.params(): all of them by kind.
type vtlInput struct {
	path, query, header map[string]string
}

func (in vtlInput) param(name string) string {
	for _, m := range []map[string]string{in.path, in.query, in.header} {
		if v, ok := m[name]; ok {
			return v
		}
	}
	return ""
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
	// Set by #set($context.responseOverride...).
	overrideHeaders map[string]string
	overrideStatus  int
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
			if err != nil || v == nil && n.quiet {
				if n.quiet {
					continue
				}
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
			if _, literal := n.expr.(vtlLit); v == nil && !literal {
				// Velocity 1.7: a reference or method that yields null
				// leaves the left-hand side unchanged.
				continue
			}
			if err := env.assign(n.target, v); err != nil {
				return err
			}
		case vtlIf:
			taken := false
			for i, c := range n.conds {
				v, err := env.eval(c)
				if err != nil {
					return err
				}
				if vtlTruthy(v) {
					if err := env.run(n.bodies[i], b); err != nil {
						return err
					}
					taken = true
					break
				}
			}
			if !taken && len(n.bodies) > len(n.conds) {
				if err := env.run(n.bodies[len(n.conds)], b); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (env *vtlEnv) assign(target vtlRef, v any) error {
	if len(target.segs) == 0 {
		if target.root == "input" || target.root == "context" || target.root == "util" {
			return fmt.Errorf("VTL: $%s cannot be assigned", target.root)
		}
		env.vars[target.root] = v
		return nil
	}
	path := make([]string, len(target.segs))
	for i, s := range target.segs {
		if s.call {
			return fmt.Errorf("VTL: cannot assign to a method call")
		}
		path[i] = s.name
	}
	if target.root == "context" && len(path) == 3 && path[0] == "responseOverride" && path[1] == "header" {
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
	if target.root == "context" && len(path) == 2 && path[0] == "responseOverride" && path[1] == "status" {
		s, err := vtlString(v)
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 100 || n > 599 {
			return fmt.Errorf("$context.responseOverride.status: %q is not an HTTP status", s)
		}
		env.overrideStatus = n
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
		args := make([]any, len(s.args))
		for i, a := range s.args {
			v, err := env.eval(a)
			if err != nil {
				return nil, err
			}
			args[i] = v
		}
		switch c := cur.(type) {
		case vtlInput:
			if !s.call || s.name != "params" || len(args) > 1 {
				return nil, fmt.Errorf("VTL: %s is not supported (only $input.params('name') and $input.params())", name)
			}
			if len(args) == 0 {
				cur = c.params()
				continue
			}
			key, err := vtlString(args[0])
			if err != nil {
				return nil, err
			}
			cur = c.param(key)
		case map[string]any:
			if s.call && s.name == "get" && len(args) == 1 {
				key, err := vtlString(args[0])
				if err != nil {
					return nil, err
				}
				cur = c[key] // null when absent, as Java's Map.get
				continue
			}
			if s.call {
				return nil, fmt.Errorf("VTL: %s() is not supported (maps have only .get(key))", name)
			}
			v, ok := c[s.name]
			if !ok {
				return nil, fmt.Errorf("VTL: %s is not defined", name)
			}
			cur = v
		case string:
			if !s.call || s.name != "contains" || len(args) != 1 {
				return nil, fmt.Errorf("VTL: %s is not supported (strings have only .contains(x))", name)
			}
			sub, err := vtlString(args[0])
			if err != nil {
				return nil, err
			}
			cur = strings.Contains(c, sub)
		default:
			return nil, fmt.Errorf("VTL: %s: no such property or method on %T", name, cur)
		}
	}
	return cur, nil
}

func (env *vtlEnv) eval(x vtlExpr) (any, error) {
	switch x := x.(type) {
	case vtlLit:
		return x.v, nil
	case vtlStr:
		var b strings.Builder
		if err := env.run(x, &b); err != nil {
			return nil, err
		}
		return b.String(), nil
	case vtlRefEx:
		return env.resolve(x.ref)
	case vtlNot:
		v, err := env.eval(x.x)
		return !vtlTruthy(v), err
	case vtlBin:
		l, err := env.eval(x.l)
		if err != nil {
			return nil, err
		}
		switch x.op {
		case "&&":
			if !vtlTruthy(l) {
				return false, nil
			}
			r, err := env.eval(x.r)
			return vtlTruthy(r), err
		case "||":
			if vtlTruthy(l) {
				return true, nil
			}
			r, err := env.eval(x.r)
			return vtlTruthy(r), err
		}
		r, err := env.eval(x.r)
		if err != nil {
			return nil, err
		}
		eq := vtlEqual(l, r)
		if x.op == "!=" {
			return !eq, nil
		}
		return eq, nil
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

// vtlEqual compares like Velocity: same-kind values directly, others by
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
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	case int:
		return strconv.Itoa(v), nil
	case nil:
		return "", fmt.Errorf("null")
	}
	return "", fmt.Errorf("cannot render a %T", v)
}
