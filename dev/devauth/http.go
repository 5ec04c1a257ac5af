package devauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// TokenPath is where the local server serves the token endpoint.
const TokenPath = "/local/token"

// TokenRequest is the body of POST /local/token.
type TokenRequest struct {
	User
	// ExpiresInSeconds is the token's lifetime (default 3600; negative for
	// an already-expired token; at most a day either way).
	ExpiresInSeconds int `json:"expiresInSeconds,omitempty"`
}

// TokenResponse is what the token endpoint returns.
type TokenResponse struct {
	IDToken   string   `json:"idToken"`
	ExpiresAt string   `json:"expiresAt"`
	Sub       string   `json:"sub"`
	Username  string   `json:"username"`
	Groups    []string `json:"groups"`
}

// JWKSHandler serves the pool's JWKS (GET), as Cognito does at
// <issuer>/.well-known/jwks.json.
func (p *Pool) JWKSHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "Use GET.")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_ = json.NewEncoder(w).Encode(p.JWKS())
	})
}

// TokenHandler serves POST /local/token: an ID token for any user and
// groups. Browser pages on an origin allowOrigin accepts may call it (CORS,
// preflight included); others get no CORS headers.
func (p *Pool) TokenHandler(allowOrigin func(string) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Vary", "Origin")
		h.Set("Cache-Control", "no-store")
		if o := r.Header.Get("Origin"); o != "" && allowOrigin != nil && allowOrigin(o) {
			h.Set("Access-Control-Allow-Origin", o)
		}
		switch r.Method {
		case http.MethodOptions:
			h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Content-Type")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		case http.MethodPost:
		default:
			h.Set("Allow", "POST, OPTIONS")
			writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "Use POST.")
			return
		}
		var req TokenRequest
		dec := json.NewDecoder(io.LimitReader(r.Body, 4<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			writeError(w, http.StatusBadRequest, "invalid_request", `body: want {"user":"alice","groups":["admin"],"expiresInSeconds":3600}`)
			return
		}
		ttl := time.Duration(req.ExpiresInSeconds) * time.Second
		tok, exp, err := p.IDToken(req.User, ttl)
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid_request", err.Error())
			return
		}
		groups := req.Groups
		if groups == nil {
			groups = []string{}
		}
		h.Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(TokenResponse{
			IDToken: tok, ExpiresAt: exp.UTC().Format(time.RFC3339), Sub: Subject(req.Username),
			Username: req.Username, Groups: groups,
		})
	})
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

// FetchToken asks a running local server at baseURL for an ID token.
func FetchToken(ctx context.Context, client *http.Client, baseURL string, req TokenRequest) (TokenResponse, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return TokenResponse{}, err
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(baseURL, "/")+TokenPath, bytes.NewReader(body))
	if err != nil {
		return TokenResponse{}, err
	}
	hr.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(hr)
	if err != nil {
		return TokenResponse{}, fmt.Errorf("is the local server running (make run)? %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct{ Message string } `json:"error"`
		}
		_ = json.Unmarshal(b, &e)
		return TokenResponse{}, fmt.Errorf("token endpoint: %s: %s", resp.Status, e.Error.Message)
	}
	var tr TokenResponse
	if err := json.Unmarshal(b, &tr); err != nil || tr.IDToken == "" {
		return TokenResponse{}, errors.New("token endpoint: unexpected reply")
	}
	return tr, nil
}
