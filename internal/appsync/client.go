package appsync

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/deepfoundai/jobs-api/internal/jobs"
)

// MaxEventsPerPublish is how many events one publish request may carry
// (AppSync Events: 1 to 5).
const MaxEventsPerPublish = 5

// Client publishes events to an Events API over HTTP, the request signed
// with the function role's credentials (SigV4, service "appsync"): the
// namespace allows publishing with IAM only.
type Client struct {
	// URL is the API's publish endpoint: https://<Dns.Http>/event.
	URL         string
	Region      string
	Credentials aws.CredentialsProvider
	HTTP        aws.HTTPClient
	// Timeout bounds each request (jobs.DefaultCallTimeout if 0).
	Timeout time.Duration
	signer  *v4.Signer
}

// NewClient returns a client for the publish endpoint url with the
// process's AWS settings (region, credentials, HTTP client).
func NewClient(url string, cfg aws.Config) *Client {
	return &Client{URL: url, Region: cfg.Region, Credentials: cfg.Credentials, HTTP: cfg.HTTPClient, signer: v4.NewSigner()}
}

type publishRequest struct {
	Channel string   `json:"channel"`
	Events  []string `json:"events"`
}

// PublishResult is the Events API's answer to a publish.
type PublishResult struct {
	Successful []struct {
		Identifier string `json:"identifier"`
		Index      int    `json:"index"`
	} `json:"successful"`
	Failed []struct {
		Identifier string `json:"identifier"`
		Index      int    `json:"index"`
		Code       any    `json:"code"`
		Message    string `json:"message"`
	} `json:"failed"`
}

// Publish sends 1 to MaxEventsPerPublish events (each a JSON document) to
// channel. An error (EUNAVAILABLE) means some or all were not published:
// the caller retries them all, and subscribers drop the duplicates.
func (c *Client) Publish(ctx context.Context, channel string, events []string) error {
	if len(events) == 0 || len(events) > MaxEventsPerPublish {
		return jobs.Errorf(jobs.EINTERNAL, "publish: 1 to %d events, got %d", MaxEventsPerPublish, len(events))
	}
	body, err := json.Marshal(publishRequest{Channel: channel, Events: events})
	if err != nil {
		return jobs.Wrap(jobs.EINTERNAL, err, "publish: encode")
	}
	ctx, cancel := context.WithTimeout(ctx, jobs.CallTimeout(c.Timeout))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return jobs.Wrap(jobs.EINTERNAL, err, "publish: request")
	}
	req.Header.Set("Content-Type", "application/json")
	creds, err := c.Credentials.Retrieve(ctx)
	if err != nil {
		return jobs.Wrap(jobs.EUNAVAILABLE, err, "publish: credentials")
	}
	sum := sha256.Sum256(body)
	signer := c.signer
	if signer == nil {
		signer = v4.NewSigner()
	}
	if err := signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "appsync", c.Region, time.Now()); err != nil {
		return jobs.Wrap(jobs.EINTERNAL, err, "publish: sign")
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return jobs.Wrap(jobs.EUNAVAILABLE, err, "publish to "+channel)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return jobs.Errorf(jobs.EUNAVAILABLE, "publish to %s: HTTP %d: %.200s", channel, resp.StatusCode, raw)
	}
	var res PublishResult
	if err := json.Unmarshal(raw, &res); err != nil {
		return jobs.Wrap(jobs.EUNAVAILABLE, err, "publish to "+channel+": unreadable answer")
	}
	if len(res.Failed) > 0 {
		f := res.Failed[0]
		return jobs.Errorf(jobs.EUNAVAILABLE, "publish to %s: %d of %d events failed (first: index %d, %v %s)", channel, len(res.Failed), len(events), f.Index, f.Code, f.Message)
	}
	if len(res.Successful) != len(events) {
		return jobs.Errorf(jobs.EUNAVAILABLE, "publish to %s: %d of %d events acknowledged", channel, len(res.Successful), len(events))
	}
	return nil
}

// String names the client in logs.
func (c *Client) String() string { return fmt.Sprintf("appsync events %s", c.URL) }
