package localevents_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/coder/websocket"

	"github.com/deepfoundai/jobs-api/dev/devauth"
	"github.com/deepfoundai/jobs-api/dev/localevents"
	"github.com/deepfoundai/jobs-api/internal/appsync"
	"github.com/deepfoundai/jobs-api/internal/jobs"
)

const poolARN = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_Test"

var publisher = aws.Credentials{AccessKeyID: "LOCALPUBLISHER", SecretAccessKey: "local-secret", SessionToken: "local-session"}

type env struct {
	srv    *localevents.Server
	url    string // http://host
	host   string
	pool   *devauth.Pool
	client *appsync.Client
}

func newEnv(t *testing.T) *env {
	t.Helper()
	pool, err := devauth.NewPool(devauth.PoolConfig{Issuer: "http://127.0.0.1/us-east-1_Test", ClientID: "client"})
	if err != nil {
		t.Fatal(err)
	}
	v := devauth.NewVerifier(nil)
	if err := v.TrustPool(poolARN, pool); err != nil {
		t.Fatal(err)
	}
	e := &env{pool: pool}
	hs := httptest.NewUnstartedServer(nil)
	e.url = "http://" + hs.Listener.Addr().String()
	e.host = hs.Listener.Addr().String() // the host auth objects must name
	e.srv = localevents.New(localevents.Config{
		Verify: func(tok string) (map[string]any, error) {
			return v.Verify(tok, devauth.Rules{ProviderARNs: []string{poolARN}})
		},
		Host:      e.host,
		Publisher: publisher, Region: "us-east-1", KeepAlive: 40 * time.Millisecond, ConnectionTimeout: 2 * time.Second,
		Log: slog.New(slog.DiscardHandler),
	})
	hs.Config.Handler = e.srv
	hs.Start()
	t.Cleanup(func() { e.srv.Close(); hs.Close() })
	e.client = appsync.NewClient(hs.URL+localevents.PublishPath, aws.Config{Region: "us-east-1", Credentials: credentials.StaticCredentialsProvider{Value: publisher}, HTTPClient: hs.Client()})
	return e
}

func (e *env) token(t *testing.T, user string, groups ...string) string {
	t.Helper()
	tok, _, err := e.pool.IDToken(devauth.User{Username: user, Groups: groups}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (e *env) auth(token string) map[string]string {
	return map[string]string{"Authorization": token, "host": e.host}
}

func headerProtocol(auth any) string {
	b, _ := json.Marshal(auth)
	return "header-" + base64.RawURLEncoding.EncodeToString(b)
}

// client reads in the background: coder/websocket closes a connection
// whose Read is cancelled, so waits with a deadline read from msgs.
type client struct {
	t    *testing.T
	ws   *websocket.Conn
	msgs chan []byte // closed when the connection ends
}

func (e *env) dial(t *testing.T, protocols ...string) (*client, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, "ws://"+e.host+localevents.RealtimePath, &websocket.DialOptions{Subprotocols: protocols})
	if err != nil {
		return nil, resp, err
	}
	t.Cleanup(func() { _ = ws.CloseNow() })
	c := &client{t: t, ws: ws, msgs: make(chan []byte, 64)}
	go func() {
		defer close(c.msgs)
		for {
			_, b, err := ws.Read(context.Background())
			if err != nil {
				return
			}
			c.msgs <- b
		}
	}()
	return c, resp, nil
}

// connect dials as the token's user and completes connection_init.
func (e *env) connect(t *testing.T, token string) *client {
	t.Helper()
	c, _, err := e.dial(t, localevents.Subprotocol, headerProtocol(e.auth(token)))
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	if c.ws.Subprotocol() != localevents.Subprotocol {
		t.Errorf("negotiated subprotocol %q, want %s", c.ws.Subprotocol(), localevents.Subprotocol)
	}
	c.send(map[string]any{"type": "connection_init"})
	ack := c.next("connection_ack")
	if ack["connectionTimeoutMs"] != 2000.0 {
		t.Errorf("connection_ack %v, want connectionTimeoutMs 2000", ack)
	}
	return c
}

func (c *client) send(m any) {
	c.t.Helper()
	b, _ := json.Marshal(m)
	if err := c.ws.Write(context.Background(), websocket.MessageText, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// next returns the next message, skipping keep-alives unless asked for one.
func (c *client) next(want string) map[string]any {
	c.t.Helper()
	timeout := time.After(3 * time.Second)
	for {
		var b []byte
		select {
		case msg, ok := <-c.msgs:
			if !ok {
				c.t.Fatalf("waiting for %s: the connection closed", want)
			}
			b = msg
		case <-timeout:
			c.t.Fatalf("no %s within 3 s", want)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			c.t.Fatalf("message %s: %v", b, err)
		}
		if m["type"] == "ka" && want != "ka" {
			continue
		}
		if m["type"] != want {
			c.t.Fatalf("got %s, want a %s", b, want)
		}
		return m
	}
}

// quiet checks nothing but keep-alives arrives for d.
func (c *client) quiet(d time.Duration) {
	c.t.Helper()
	timeout := time.After(d)
	for {
		select {
		case b, ok := <-c.msgs:
			if !ok {
				c.t.Fatal("the connection closed")
			}
			if !strings.Contains(string(b), `"ka"`) {
				c.t.Fatalf("unexpected message %s", b)
			}
		case <-timeout:
			return
		}
	}
}

// TestHandshakeRefusesWhatAppSyncRefuses: without the subprotocol the
// upgrade fails; with bad auth it succeeds, connection_init is answered
// with connection_error UnauthorizedException, and the socket closes.
func TestHandshakeRefusesWhatAppSyncRefuses(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.token(t, "alice")
	expired, _, _ := e.pool.IDToken(devauth.User{Username: "alice"}, -time.Minute)
	if _, resp, err := e.dial(t, headerProtocol(e.auth(alice))); err == nil || resp == nil || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("auth but not the protocol: dial error %v, response %v, want HTTP 400", err, resp)
	}
	tests := []struct {
		name      string
		protocols []string
	}{
		{"no auth header", []string{localevents.Subprotocol}},
		{"another host", []string{localevents.Subprotocol, headerProtocol(map[string]string{"Authorization": alice, "host": "evil.example.com"})}},
		{"expired token", []string{localevents.Subprotocol, headerProtocol(e.auth(expired))}},
		{"not base64url", []string{localevents.Subprotocol, "header-%%%"}},
		{"forged token", []string{localevents.Subprotocol, headerProtocol(e.auth(alice[:len(alice)-4] + "AAAA"))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := e.dial(t, tt.protocols...)
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			c.send(map[string]any{"type": "connection_init"})
			m := c.next("connection_error")
			if errs, _ := m["errors"].([]any); len(errs) != 1 || errs[0].(map[string]any)["errorType"] != "UnauthorizedException" {
				t.Errorf("connection_error %v, want one UnauthorizedException", m)
			}
			c.closes()
		})
	}
}

// TestHeaderAuth: clients that can set request headers (not browsers) may
// put the auth in the upgrade request instead of a subprotocol.
func TestHeaderAuth(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws://"+e.host+localevents.RealtimePath, &websocket.DialOptions{
		Subprotocols: []string{localevents.Subprotocol}, HTTPHeader: http.Header{"Authorization": {e.token(t, "alice")}}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer ws.CloseNow()
	if err := ws.Write(ctx, websocket.MessageText, []byte(`{"type":"connection_init"}`)); err != nil {
		t.Fatal(err)
	}
	if _, b, err := ws.Read(ctx); err != nil || !strings.Contains(string(b), `"connection_ack"`) {
		t.Fatalf("got %s %v, want connection_ack", b, err)
	}
}

// closes waits for the server to end the connection.
func (c *client) closes() {
	c.t.Helper()
	timeout := time.After(3 * time.Second)
	for {
		select {
		case b, ok := <-c.msgs:
			if !ok {
				return
			}
			if !strings.Contains(string(b), `"ka"`) {
				c.t.Fatalf("unexpected message %s", b)
			}
		case <-timeout:
			c.t.Fatal("the connection stayed open")
		}
	}
}

// signedPublish is the authorization of an IAM publish over the WebSocket:
// SigV4 headers of POST /event with the body {"channel","events"}.
func (e *env) signedPublish(t *testing.T, creds aws.Credentials, channel string, events []string) map[string]string {
	t.Helper()
	// As JSON.stringify makes it: keys in this order, no HTML escaping.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(map[string]any{"channel": channel, "events": events}) // keys sorted: channel, events
	body := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	req, _ := http.NewRequest(http.MethodPost, "https://"+e.host+localevents.PublishPath, bytes.NewReader(body))
	req.Header.Set("accept", "application/json, text/javascript")
	req.Header.Set("content-encoding", "amz-1.0")
	req.Header.Set("content-type", "application/json; charset=UTF-8")
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "appsync", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	auth := map[string]string{"host": e.host}
	for _, h := range []string{"accept", "content-encoding", "content-type", "x-amz-date", "X-Amz-Security-Token", "Authorization"} {
		if v := req.Header.Get(h); v != "" {
			auth[h] = v
		}
	}
	return auth
}

// TestPublishOverWebSocket: an IAM-signed publish message is delivered and
// answered with publish_success listing each event; a bad signature, a
// signature of other events, and a user's token get publish_error.
func TestPublishOverWebSocket(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.token(t, "alice")
	ch := appsync.Channel(devauth.Subject("alice"))
	c := e.connect(t, tok)
	c.send(map[string]any{"type": "subscribe", "id": "s", "channel": ch, "authorization": e.auth(tok)})
	c.next("subscribe_success")

	events := []string{`{"n":1}`, `{"n":`, `"<b>&"`}
	c.send(map[string]any{"type": "publish", "id": "p1", "channel": ch, "events": events, "authorization": e.signedPublish(t, publisher, ch, events)})
	for _, want := range []string{`{"n":1}`, `"<b>&"`} {
		if m := c.next("data"); m["event"] != want || m["id"] != "s" {
			t.Errorf("data %v, want %s on s", m, want)
		}
	}
	m := c.next("publish_success")
	ok, _ := m["successful"].([]any)
	failed, _ := m["failed"].([]any)
	if m["id"] != "p1" || len(ok) != 2 || len(failed) != 1 || failed[0].(map[string]any)["index"] != 1.0 {
		t.Errorf("publish_success %v, want p1 with events 0 and 2 successful, 1 failed", m)
	}

	wrong := aws.Credentials{AccessKeyID: publisher.AccessKeyID, SecretAccessKey: "not-the-secret", SessionToken: publisher.SessionToken}
	for name, auth := range map[string]map[string]string{
		"another secret":      e.signedPublish(t, wrong, ch, events[:1]),
		"other events signed": e.signedPublish(t, publisher, ch, []string{`{"n":2}`}),
		"another channel":     e.signedPublish(t, publisher, appsync.Channel(devauth.Subject("bob")), events[:1]),
		"a user's token":      e.auth(tok),
		"no authorization":    nil,
	} {
		c.send(map[string]any{"type": "publish", "id": "p2", "channel": ch, "events": events[:1], "authorization": auth})
		m := c.next("publish_error")
		if errs, _ := m["errors"].([]any); m["id"] != "p2" || len(errs) != 1 || errs[0].(map[string]any)["errorType"] != "UnauthorizedException" {
			t.Errorf("%s: %v, want publish_error UnauthorizedException", name, m)
		}
	}
	c.send(map[string]any{"type": "publish", "id": "p3", "channel": appsync.AllJobsChannel, "events": events[:1], "authorization": e.signedPublish(t, publisher, appsync.AllJobsChannel, events[:1])})
	if m := c.next("publish_error"); !strings.Contains(fmt.Sprint(m["errors"]), "BadRequestException") {
		t.Errorf("publish to a wildcard: %v, want BadRequestException", m)
	}
	c.quiet(100 * time.Millisecond)
}

func TestSubscribePublishUnsubscribe(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	aliceTok, bobTok, adminTok := e.token(t, "alice"), e.token(t, "bob"), e.token(t, "carol", "admin")
	aliceCh, bobCh := appsync.Channel(devauth.Subject("alice")), appsync.Channel(devauth.Subject("bob"))

	alice := e.connect(t, aliceTok)
	alice.next("ka") // keep-alives every KeepAlive once acknowledged
	alice.send(map[string]any{"type": "subscribe", "id": "s1", "channel": aliceCh, "authorization": e.auth(aliceTok)})
	if m := alice.next("subscribe_success"); m["id"] != "s1" {
		t.Errorf("subscribe_success %v, want id s1", m)
	}
	refusals := []struct {
		name, channel string
		auth          any
		errorType     string
	}{
		{"bob's channel", bobCh, e.auth(aliceTok), "Unauthorized"},
		{"every channel", appsync.AllJobsChannel, e.auth(aliceTok), "Unauthorized"},
		{"ownerless jobs", appsync.Channel(""), e.auth(aliceTok), "Unauthorized"},
		{"under her channel", aliceCh + "/x", e.auth(aliceTok), "Unauthorized"},
		{"her sub in another case", "/jobs/" + strings.ToUpper(devauth.Subject("alice")), e.auth(aliceTok), "Unauthorized"},
		{"bob's token in alice's connection", bobCh, e.auth(bobTok), ""}, // a valid token for that channel: allowed
		{"no authorization", aliceCh, nil, "UnauthorizedException"},
		{"another namespace", "/other/" + devauth.Subject("alice"), e.auth(aliceTok), "BadRequestException"},
		{"wildcard inside", "/jobs/*/x", e.auth(aliceTok), "BadRequestException"},
		{"bad segment", "/jobs/a_b", e.auth(aliceTok), "BadRequestException"},
		{"too deep", "/jobs/a/b/c/d/e", e.auth(aliceTok), "BadRequestException"},
	}
	for i, r := range refusals {
		id := fmt.Sprintf("r%d", i)
		msg := map[string]any{"type": "subscribe", "id": id, "channel": r.channel}
		if r.auth != nil {
			msg["authorization"] = r.auth
		}
		alice.send(msg)
		if r.errorType == "" {
			alice.next("subscribe_success")
			alice.send(map[string]any{"type": "unsubscribe", "id": id})
			alice.next("unsubscribe_success")
			continue
		}
		m := alice.next("subscribe_error")
		errs, _ := m["errors"].([]any)
		if m["id"] != id || len(errs) != 1 || errs[0].(map[string]any)["errorType"] != r.errorType {
			t.Errorf("%s: %v, want a subscribe_error %s for %s", r.name, m, r.errorType, id)
		}
	}
	alice.send(map[string]any{"type": "subscribe", "id": "s1", "channel": aliceCh, "authorization": e.auth(aliceTok)})
	alice.next("subscribe_error") // the id is in use

	bob := e.connect(t, bobTok)
	bob.send(map[string]any{"type": "subscribe", "id": "b", "channel": bobCh, "authorization": e.auth(bobTok)})
	bob.next("subscribe_success")
	admin := e.connect(t, adminTok)
	admin.send(map[string]any{"type": "subscribe", "id": "all", "channel": appsync.AllJobsChannel, "authorization": e.auth(adminTok)})
	admin.next("subscribe_success")

	ctx := context.Background()
	if err := e.client.Publish(ctx, aliceCh, []string{`{"n":1}`, `{"n":2}`}); err != nil {
		t.Fatalf("publish: %v", err)
	}
	for _, c := range []*client{alice, admin} {
		for n := 1; n <= 2; n++ {
			m := c.next("data")
			if m["event"] != fmt.Sprintf(`{"n":%d}`, n) {
				t.Errorf("data %v, want event {\"n\":%d} as a JSON string", m, n)
			}
		}
	}
	bob.quiet(100 * time.Millisecond) // alice's events never reach bob

	alice.send(map[string]any{"type": "unsubscribe", "id": "s1"})
	alice.next("unsubscribe_success")
	alice.send(map[string]any{"type": "unsubscribe", "id": "s1"})
	alice.next("unsubscribe_error")
	if err := e.client.Publish(ctx, aliceCh, []string{`{"n":3}`}); err != nil {
		t.Fatal(err)
	}
	admin.next("data")
	alice.quiet(100 * time.Millisecond)

	// Users cannot publish over HTTP with a token (nor over the socket:
	// TestPublishOverWebSocket).
	req, _ := http.NewRequest(http.MethodPost, e.url+localevents.PublishPath, strings.NewReader(`{"channel":"`+aliceCh+`","events":["{}"]}`))
	req.Header.Set("Authorization", aliceTok)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("publish with a user's token: %v %v, want 401", resp, err)
	}
	wrong := appsync.NewClient(e.url+localevents.PublishPath, aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(publisher.AccessKeyID, "not-the-secret", ""), HTTPClient: http.DefaultClient})
	if err := wrong.Publish(ctx, aliceCh, []string{`{}`}); jobs.ErrorCode(err) != jobs.EUNAVAILABLE || !strings.Contains(err.Error(), "401") {
		t.Errorf("publish signed with another secret: %v, want a 401", err)
	}
	for name, events := range map[string][]string{"wildcard channel": {`{}`}, "not JSON": {`{`}} {
		ch := aliceCh
		if name == "wildcard channel" {
			ch = appsync.AllJobsChannel
		}
		if err := e.client.Publish(ctx, ch, events); err == nil {
			t.Errorf("publish %s: accepted", name)
		}
	}

	if n := e.srv.DropConnections(); n != 3 {
		t.Errorf("dropped %d connections, want 3", n)
	}
	timeout := time.After(2 * time.Second)
	for open := true; open; {
		select {
		case _, open = <-bob.msgs:
		case <-timeout:
			t.Fatal("a dropped connection stayed open")
		}
	}
}
