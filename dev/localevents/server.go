// Package localevents emulates, for `make run` and the tests, the AWS
// AppSync Events API that template.yaml deploys (JobEventsApi): its
// WebSocket protocol (subprotocols aws-appsync-event-ws and
// header-<base64url auth>, connection_init answered by connection_ack with
// connectionTimeoutMs or, for bad auth, connection_error; ka keep-alives,
// subscribe/subscribe_success/subscribe_error, data with the event as a JSON
// string, unsubscribe/unsubscribe_success, publish/publish_success/
// publish_error), Cognito user pool auth with the dev pool's ID tokens in
// the documented header shape {Authorization, host} (on the connection and
// on each subscribe), the jobs namespace's onSubscribe rule (MaySubscribe),
// and publishing with IAM (SigV4) auth over HTTP (POST /event) and over the
// WebSocket. The WebSocket framing is
// github.com/coder/websocket; the protocol on top of it is written here,
// since no library emulates AppSync.
package localevents

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/coder/websocket"

	"github.com/deepfoundai/jobs-api/internal/appsync"
	"github.com/deepfoundai/jobs-api/internal/jobs"
)

// Subprotocol is the Events API's WebSocket subprotocol.
const Subprotocol = "aws-appsync-event-ws"

// Paths of the two endpoints (AppSync serves them on two hosts; here they
// share one).
const (
	PublishPath  = "/event"
	RealtimePath = "/event/realtime"
)

// Limits of the Events API that the emulation enforces.
const (
	MaxEventBytes   = 240 << 10
	MaxSubscribeIDs = 128 // length of a subscription id
	outboxSize      = 256 // queued messages per connection before it is dropped as too slow
)

// Defaults of Config.
const (
	DefaultKeepAlive         = 60 * time.Second
	DefaultConnectionTimeout = 5 * time.Minute
)

// Config configures the emulation.
type Config struct {
	// Verify checks a Cognito token as the API's user pool provider does
	// and returns its claims (the dev pool's verifier).
	Verify func(token string) (map[string]any, error)
	// Host is the API's HTTP host, which the auth header must name.
	Host string
	// Namespaces are the channel namespaces (appsync.Namespace if nil).
	Namespaces []string
	// AdminGroup is the stack's AdminGroup parameter (jobs.AdminGroup if "").
	AdminGroup string
	// Publisher is the IAM identity that may publish (its SigV4 signature
	// is checked), in Region.
	Publisher aws.Credentials
	Region    string
	// KeepAlive is the time between "ka" messages (DefaultKeepAlive);
	// ConnectionTimeout is connection_ack's connectionTimeoutMs
	// (DefaultConnectionTimeout).
	KeepAlive, ConnectionTimeout time.Duration
	Log                          *slog.Logger
	// OnData, if set, sees every data message sent, with its subscription
	// id (benchmarks time deliveries).
	OnData func(channel string)
}

// Server is the emulated Events API. Safe for concurrent use.
type Server struct {
	cfg   Config
	mu    sync.Mutex
	conns map[*conn]bool
	ctx   context.Context
	stop  context.CancelFunc
}

// New returns a server; Close ends its connections.
func New(cfg Config) *Server {
	if cfg.Namespaces == nil {
		cfg.Namespaces = []string{appsync.Namespace}
	}
	if cfg.AdminGroup == "" {
		cfg.AdminGroup = jobs.AdminGroup
	}
	if cfg.KeepAlive <= 0 {
		cfg.KeepAlive = DefaultKeepAlive
	}
	if cfg.ConnectionTimeout <= 0 {
		cfg.ConnectionTimeout = DefaultConnectionTimeout
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	ctx, stop := context.WithCancel(context.Background())
	return &Server{cfg: cfg, conns: map[*conn]bool{}, ctx: ctx, stop: stop}
}

// ServeHTTP serves the publish endpoint and the real-time endpoint.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == RealtimePath:
		s.realtime(w, r)
	case r.URL.Path == PublishPath && r.Method == http.MethodPost:
		s.publishHTTP(w, r)
	case r.URL.Path == PublishPath:
		writeErrors(w, http.StatusMethodNotAllowed, "BadRequestException", "POST events to publish them")
	default:
		http.NotFound(w, r)
	}
}

// Close ends every connection.
func (s *Server) Close() { s.stop() }

// Connections reports how many WebSocket connections are open.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// DropConnections closes every open connection abruptly, as a network
// failure would (tests of the clients' fallback and recovery).
func (s *Server) DropConnections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.conns)
	for c := range s.conns {
		c.cancel()
	}
	return n
}

type errorItem struct {
	ErrorType string `json:"errorType"`
	Message   string `json:"message,omitempty"`
	ErrorCode int    `json:"errorCode,omitempty"`
}

func writeErrors(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-amzn-ErrorType", typ)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []errorItem{{ErrorType: typ, Message: msg}}})
}

// authHeader is the authorization object of the Cognito user pool mode:
// the header subprotocol's and each subscribe message's.
type authHeader struct {
	Authorization string `json:"Authorization"`
	Host          string `json:"host"`
}

func (s *Server) authorize(a authHeader) (Identity, error) {
	if a.Authorization == "" {
		return Identity{}, errors.New("no Authorization")
	}
	if a.Host != s.cfg.Host {
		return Identity{}, fmt.Errorf("host %q is not this API's (%s)", a.Host, s.cfg.Host)
	}
	claims, err := s.cfg.Verify(a.Authorization)
	if err != nil {
		return Identity{}, err
	}
	var id Identity
	id.Sub, _ = claims["sub"].(string)
	id.TokenUse, _ = claims["token_use"].(string)
	if gs, ok := claims["cognito:groups"].([]any); ok {
		for _, g := range gs {
			if g, ok := g.(string); ok {
				id.Groups = append(id.Groups, g)
			}
		}
	}
	return id, nil
}

// headerAuth reads the auth object a client puts in its
// "header-<base64url JSON>" subprotocol, or, from clients that can set
// them (not browsers), in the upgrade request's Authorization and Host
// headers.
func headerAuth(r *http.Request) (authHeader, bool, error) {
	var protocols []string
	for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(v, ",") {
			protocols = append(protocols, strings.TrimSpace(p))
		}
	}
	var a authHeader
	offered, found := false, false
	for _, p := range protocols {
		if p == Subprotocol {
			offered = true
		}
		if enc, ok := strings.CutPrefix(p, "header-"); ok {
			raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(enc, "="))
			if err != nil {
				return a, offered, fmt.Errorf("header subprotocol: not base64url: %w", err)
			}
			if err := json.Unmarshal(raw, &a); err != nil {
				return a, offered, fmt.Errorf("header subprotocol: not a JSON object: %w", err)
			}
			found = true
		}
	}
	if !found {
		if tok := r.Header.Get("Authorization"); tok != "" {
			return authHeader{Authorization: tok, Host: r.Host}, offered, nil
		}
		return a, offered, errors.New("no header-<base64url> subprotocol and no Authorization header")
	}
	return a, offered, nil
}

// message is every client and server message of the protocol but
// publish_success (publishResults).
type message struct {
	Type    string `json:"type"`
	ID      string `json:"id,omitempty"`
	Channel string `json:"channel,omitempty"`
	// Authorization is the operation's auth headers: {Authorization, host}
	// for a Cognito token, the SigV4-signed headers for IAM.
	Authorization       map[string]string `json:"authorization,omitempty"`
	Event               *string           `json:"event,omitempty"`
	Events              []string          `json:"events,omitempty"`
	ConnectionTimeoutMs int64             `json:"connectionTimeoutMs,omitempty"`
	Errors              []errorItem       `json:"errors,omitempty"`
}

// publishResults is the answer to a publish: publish_success over the
// WebSocket (with Type and ID), the body over HTTP.
type publishResults struct {
	Type       string          `json:"type,omitempty"`
	ID         string          `json:"id,omitempty"`
	Successful []publishResult `json:"successful"`
	Failed     []publishFailed `json:"failed"`
}

type publishResult struct {
	Identifier string `json:"identifier"`
	Index      int    `json:"index"`
}

type publishFailed struct {
	Identifier string `json:"identifier"`
	Index      int    `json:"index"`
	Code       int    `json:"code"`
	Message    string `json:"message"`
}

func unauthorized() []errorItem {
	return []errorItem{{ErrorType: "UnauthorizedException", Message: "You are not authorized to make this call."}}
}

type conn struct {
	ws     *websocket.Conn
	who    Identity
	out    chan []byte
	cancel context.CancelFunc
	mu     sync.Mutex
	subs   map[string]string // subscription id -> channel (pattern)
	acked  bool
}

func (c *conn) send(m any) bool {
	b, _ := json.Marshal(m) // our own message type: always marshals
	select {
	case c.out <- b:
		return true
	default: // too slow to keep up: dropped, as a congested connection would be
		c.cancel()
		return false
	}
}

func (s *Server) realtime(w http.ResponseWriter, r *http.Request) {
	auth, offered, err := headerAuth(r)
	if !offered {
		writeErrors(w, http.StatusBadRequest, "BadRequestException", "offer the "+Subprotocol+" subprotocol")
		return
	}
	var who Identity
	if err == nil {
		who, err = s.authorize(auth)
	}
	// AppSync checks no Origin: any page with a token may connect.
	ws, werr := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{Subprotocol}, InsecureSkipVerify: true})
	if werr != nil {
		return
	}
	if err != nil {
		s.cfg.Log.Info("events: connection refused", "err", err.Error())
		s.refuse(ws)
		return
	}
	ctx, cancel := context.WithCancel(s.ctx)
	c := &conn{ws: ws, who: who, out: make(chan []byte, outboxSize), cancel: cancel, subs: map[string]string{}}
	s.mu.Lock()
	s.conns[c] = true
	s.mu.Unlock()
	defer func() {
		cancel()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()
	go s.write(ctx, c)
	for {
		_, data, err := ws.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				// Dropped or shut down: no close handshake, as when a network fails.
				_ = ws.CloseNow()
			}
			return
		}
		s.handle(c, data)
	}
}

// refuse answers a connection whose auth failed as AppSync does: the
// upgrade succeeds, the client's connection_init gets a connection_error,
// and the socket closes normally (a browser learns nothing from a refused
// upgrade, and could not tell an expired token from a network failure).
func (s *Server) refuse(ws *websocket.Conn) {
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	if _, _, err := ws.Read(ctx); err != nil {
		_ = ws.CloseNow()
		return
	}
	b, _ := json.Marshal(message{Type: "connection_error", Errors: unauthorized()})
	_ = ws.Write(ctx, websocket.MessageText, b)
	_ = ws.Close(websocket.StatusNormalClosure, "")
}

// write sends c's queued messages and, once acknowledged, a "ka" every
// KeepAlive.
func (s *Server) write(ctx context.Context, c *conn) {
	ka := time.NewTicker(s.cfg.KeepAlive)
	defer ka.Stop()
	for {
		var msg []byte
		select {
		case <-ctx.Done():
			_ = c.ws.CloseNow()
			return
		case msg = <-c.out:
		case <-ka.C:
			c.mu.Lock()
			acked := c.acked
			c.mu.Unlock()
			if !acked {
				continue
			}
			msg = []byte(`{"type":"ka"}`)
		}
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := c.ws.Write(wctx, websocket.MessageText, msg)
		cancel()
		if err != nil {
			c.cancel()
			return
		}
	}
}

func (s *Server) handle(c *conn, data []byte) {
	var m message
	if err := json.Unmarshal(data, &m); err != nil {
		c.send(message{Type: "error", Errors: []errorItem{{ErrorType: "BadRequestException", Message: "not a JSON message"}}})
		return
	}
	switch m.Type {
	case "connection_init":
		c.mu.Lock()
		c.acked = true
		c.mu.Unlock()
		c.send(message{Type: "connection_ack", ConnectionTimeoutMs: s.cfg.ConnectionTimeout.Milliseconds()})
	case "subscribe":
		s.subscribe(c, m)
	case "unsubscribe":
		c.mu.Lock()
		_, ok := c.subs[m.ID]
		delete(c.subs, m.ID)
		c.mu.Unlock()
		if !ok {
			c.send(message{Type: "unsubscribe_error", ID: m.ID, Errors: []errorItem{{ErrorType: "UnknownOperationError", Message: "Unknown subscription id " + m.ID}}})
			return
		}
		c.send(message{Type: "unsubscribe_success", ID: m.ID})
	case "publish":
		s.publishWS(c, m)
	default:
		c.send(message{Type: "error", ID: m.ID, Errors: []errorItem{{ErrorType: "UnsupportedOperation", Message: fmt.Sprintf("unknown message type %q", m.Type)}}})
	}
}

func (s *Server) subscribe(c *conn, m message) {
	fail := func(typ, msg string) {
		c.send(message{Type: "subscribe_error", ID: m.ID, Errors: []errorItem{{ErrorType: typ, Message: msg}}})
	}
	c.mu.Lock()
	acked, dup := c.acked, c.subs[m.ID] != ""
	c.mu.Unlock()
	switch {
	case !acked:
		fail("BadRequestException", "send connection_init first")
		return
	case m.ID == "" || len(m.ID) > MaxSubscribeIDs:
		fail("BadRequestException", "a subscription needs an id of 1 to 128 characters")
		return
	case dup:
		fail("BadRequestException", "subscription id "+m.ID+" is in use")
		return
	case m.Authorization == nil:
		fail("UnauthorizedException", "You are not authorized to make this call.")
		return
	}
	auth := authHeader{Authorization: m.Authorization["Authorization"], Host: m.Authorization["host"]}
	segs, ok := ParseChannel(m.Channel, true, s.cfg.Namespaces)
	if !ok {
		fail("BadRequestException", "Invalid channel "+m.Channel)
		return
	}
	who, err := s.authorize(auth)
	if err != nil {
		fail("UnauthorizedException", "You are not authorized to make this call.")
		return
	}
	// The namespace's onSubscribe handler; util.unauthorized() answers so.
	if !MaySubscribe(segs, who, s.cfg.AdminGroup) {
		fail("Unauthorized", "Unauthorized")
		return
	}
	c.mu.Lock()
	c.subs[m.ID] = m.Channel
	c.mu.Unlock()
	c.send(message{Type: "subscribe_success", ID: m.ID})
}

// deliver sends events published to channel to every matching
// subscription.
func (s *Server) deliver(channel string, events []string) {
	s.mu.Lock()
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.mu.Lock()
		var ids []string
		for id, pattern := range c.subs {
			if matches(pattern, channel) {
				ids = append(ids, id)
			}
		}
		c.mu.Unlock()
		for _, id := range ids {
			for _, e := range events {
				e := e
				if c.send(message{Type: "data", ID: id, Event: &e}) && s.cfg.OnData != nil {
					s.cfg.OnData(channel)
				}
			}
		}
	}
}

func (s *Server) publishHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 5*MaxEventBytes+4096))
	if err != nil {
		writeErrors(w, http.StatusBadRequest, "BadRequestException", "unreadable body")
		return
	}
	if err := verifySigV4(r, body, s.cfg.Publisher, s.cfg.Region); err != nil {
		s.cfg.Log.Info("events: publish refused", "err", err.Error())
		writeErrors(w, http.StatusUnauthorized, "UnauthorizedException", "You are not authorized to make this call.")
		return
	}
	var req publishBody
	if err := json.Unmarshal(body, &req); err != nil {
		writeErrors(w, http.StatusBadRequest, "BadRequestException", "the body must be {\"channel\", \"events\"}")
		return
	}
	res, typ, msg := s.publish(req, r.Header.Get("X-Amz-Date"))
	if typ != "" {
		writeErrors(w, http.StatusBadRequest, typ, msg)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(res)
}

// publishBody is what a publisher signs and, over HTTP, sends.
type publishBody struct {
	Channel string   `json:"channel"`
	Events  []string `json:"events"`
}

// publish delivers a publish's valid events and says which were; a
// request error (bad channel, too few or many events) is returned as its
// errorType and message instead.
func (s *Server) publish(req publishBody, idPrefix string) (publishResults, string, string) {
	res := publishResults{Successful: []publishResult{}, Failed: []publishFailed{}}
	if _, ok := ParseChannel(req.Channel, false, s.cfg.Namespaces); !ok {
		return res, "BadRequestException", "Invalid channel " + req.Channel
	}
	if len(req.Events) < 1 || len(req.Events) > appsync.MaxEventsPerPublish {
		return res, "BadRequestException", fmt.Sprintf("publish 1 to %d events", appsync.MaxEventsPerPublish)
	}
	var ok []string
	for i, e := range req.Events {
		id := fmt.Sprintf("%s-%d", idPrefix, i)
		switch {
		case len(e) > MaxEventBytes:
			res.Failed = append(res.Failed, publishFailed{Identifier: id, Index: i, Code: 400, Message: "event over 240 KB"})
		case !json.Valid([]byte(e)):
			res.Failed = append(res.Failed, publishFailed{Identifier: id, Index: i, Code: 400, Message: "event is not JSON"})
		default:
			ok = append(ok, e)
			res.Successful = append(res.Successful, publishResult{Identifier: id, Index: i})
		}
	}
	if len(ok) > 0 {
		s.deliver(req.Channel, ok)
	}
	return res, "", ""
}

// publishWS publishes over the WebSocket. The jobs namespace publishes
// with IAM only, so the message's authorization must be SigV4 headers
// signed, as for POST /event, over the body {"channel","events"} (compact
// JSON in that order, as JSON.stringify and the SDKs make it); a user's
// token is refused.
func (s *Server) publishWS(c *conn, m message) {
	fail := func(errs []errorItem) { c.send(message{Type: "publish_error", ID: m.ID, Errors: errs}) }
	c.mu.Lock()
	acked := c.acked
	c.mu.Unlock()
	if !acked || m.ID == "" {
		fail([]errorItem{{ErrorType: "BadRequestException", Message: "send connection_init first, and give the publish an id"}})
		return
	}
	body := publishBody{Channel: m.Channel, Events: m.Events}
	if err := s.verifyIAM(m.Authorization, body); err != nil {
		s.cfg.Log.Info("events: publish refused", "err", err.Error())
		fail(unauthorized())
		return
	}
	res, typ, msg := s.publish(body, m.Authorization["x-amz-date"])
	if typ != "" {
		fail([]errorItem{{ErrorType: typ, Message: msg}})
		return
	}
	res.Type, res.ID = "publish_success", m.ID
	c.send(res)
}

// verifyIAM checks an operation's SigV4 authorization headers against the
// publisher's credentials.
func (s *Server) verifyIAM(headers map[string]string, body publishBody) error {
	if headers["host"] != s.cfg.Host {
		return fmt.Errorf("host %q is not this API's (%s)", headers["host"], s.cfg.Host)
	}
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // as JSON.stringify
	if err := enc.Encode(body); err != nil {
		return err
	}
	signed := []byte(strings.TrimSuffix(buf.String(), "\n"))
	r, err := http.NewRequest(http.MethodPost, "http://"+s.cfg.Host+PublishPath, nil)
	if err != nil {
		return err
	}
	for k, v := range headers {
		if k != "host" {
			r.Header.Set(k, v)
		}
	}
	return verifySigV4(r, signed, s.cfg.Publisher, s.cfg.Region)
}
