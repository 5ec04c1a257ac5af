// Package web is the local dashboard: a static page (index.html, app.js,
// style.css) and poller.js, the dependency-free polling module the frontend
// team can copy. The local server serves it on its own loopback origin, so
// its calls to the API are real cross-origin requests.
package web

import (
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"path"
)

//go:embed index.html app.js poller.js jobfeed.js style.css
var assets embed.FS

// SampleVideo is a 2-second 160x90 H.264 test pattern (8.5 KB, made with
// `ffmpeg -f lavfi -i testsrc2=size=160x90:rate=10:duration=2 -c:v libx264
// -profile:v baseline -pix_fmt yuv420p -crf 38 -movflags +faststart -an`),
// served as every simulated job's output.
//
//go:embed sample-output.mp4
var SampleVideo []byte

// Config is what the page is told at /config.json.
type Config struct {
	// APIBase is the API's origin (and stage path, if any), e.g.
	// http://127.0.0.1:3000.
	APIBase string `json:"apiBase"`
	// RealtimeURL is the Events API's WebSocket endpoint
	// (wss://<Dns.Realtime>/event/realtime) and EventsHost the host its
	// auth objects name (Dns.Http); empty: the page polls.
	RealtimeURL string `json:"realtimeUrl,omitempty"`
	EventsHost  string `json:"eventsHost,omitempty"`
}

// Handler serves the dashboard and its config. GET and HEAD only.
func Handler(cfg Config) http.Handler {
	files := http.FileServerFS(assets)
	cfgJSON, _ := json.Marshal(cfg)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		switch p := path.Clean(r.URL.Path); p {
		case "/config.json":
			h.Set("Content-Type", "application/json")
			_, _ = w.Write(cfgJSON)
			return
		case "/", "/index.html":
			// connect-src is left open: the point of the page is calling
			// another origin, and CORS (not CSP) is what is being shown.
			h.Set("Content-Security-Policy", "default-src 'self'; connect-src *; media-src *; img-src 'self' data:; style-src 'self'; script-src 'self'")
		default:
			if _, err := fs.Stat(assets, p[1:]); err != nil {
				http.NotFound(w, r)
				return
			}
		}
		files.ServeHTTP(w, r)
	})
}
