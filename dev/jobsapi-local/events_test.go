package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/deepfoundai/jobs-api/dev/devauth"
	"github.com/deepfoundai/jobs-api/dev/localevents"
	"github.com/deepfoundai/jobs-api/internal/appsync"
)

// TestLiveEventsFromCommittedWrites follows a job from a WebSocket, as a
// dashboard does: every committed change, from submit to COMPLETED, arrives
// on the owner's channel through the change stream and the same publisher
// PublishJobsFn runs, in version order, each the job as GET returns it (to
// an admin) with its ETag.
func TestLiveEventsFromCommittedWrites(t *testing.T) {
	t.Parallel()
	s := startServer(t, fastOptions(t))
	tok, _, err := s.Pool.IDToken(devauth.User{Username: "alice"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	auth := map[string]string{"Authorization": tok, "host": s.EventsHost}
	hdr, _ := json.Marshal(auth)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, s.RealtimeURL, &websocket.DialOptions{
		Subprotocols: []string{localevents.Subprotocol, "header-" + base64.RawURLEncoding.EncodeToString(hdr)}})
	if err != nil {
		t.Fatalf("dial %s: %v", s.RealtimeURL, err)
	}
	defer ws.CloseNow()
	send := func(m any) {
		b, _ := json.Marshal(m)
		if err := ws.Write(ctx, websocket.MessageText, b); err != nil {
			t.Fatal(err)
		}
	}
	read := func() map[string]any {
		for {
			_, b, err := ws.Read(ctx)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			var m map[string]any
			_ = json.Unmarshal(b, &m)
			if m["type"] != "ka" {
				return m
			}
		}
	}
	send(map[string]any{"type": "connection_init"})
	if m := read(); m["type"] != "connection_ack" {
		t.Fatalf("got %v, want connection_ack", m)
	}
	send(map[string]any{"type": "subscribe", "id": "mine", "channel": appsync.Channel(devauth.Subject("alice")), "authorization": auth})
	if m := read(); m["type"] != "subscribe_success" {
		t.Fatalf("got %v, want subscribe_success", m)
	}

	sub := call(t, "POST", s.APIURL+"/v1/jobs", tok, `{"prompt":"a heron at dawn","options":{"aspectRatio":"1:1"}}`)
	if sub.status != 202 {
		t.Fatalf("submit: %d %v", sub.status, sub.body)
	}
	id := sub.body["jobId"].(string)
	var last float64
	var final map[string]any
	var etag string
	for final == nil {
		m := read()
		if m["type"] != "data" || m["id"] != "mine" {
			t.Fatalf("got %v, want data for subscription mine", m)
		}
		var ev struct {
			Type string         `json:"type"`
			Job  map[string]any `json:"job"`
			ETag string         `json:"etag"`
		}
		if err := json.Unmarshal([]byte(m["event"].(string)), &ev); err != nil {
			t.Fatalf("event %v: %v", m["event"], err)
		}
		if ev.Type != "job" || ev.Job["jobId"] != id || ev.Job["ownerId"] != devauth.Subject("alice") || ev.Job["prompt"] != "a heron at dawn" {
			t.Fatalf("event %+v: want job %s of alice with its prompt", ev, id)
		}
		v := ev.Job["version"].(float64)
		if v <= last {
			t.Errorf("version %v after %v: events out of order or repeated", v, last)
		}
		last = v
		if ev.Job["terminal"] == true {
			final, etag = ev.Job, ev.ETag
		}
	}
	if last < 4 || final["status"] != "COMPLETED" {
		t.Errorf("%v changes ending %v, want submit, PROCESSING, progress and COMPLETED", last, final["status"])
	}
	got := call(t, "GET", s.APIURL+"/v1/jobs/"+id, tok, "")
	if got.header.Get("ETag") != etag || got.body["version"] != last || got.body["status"] != "COMPLETED" {
		t.Errorf("GET after the last event: ETag %s version %v %v; the event said ETag %s version %v", got.header.Get("ETag"), got.body["version"], got.body["status"], etag, last)
	}
}
