// Package embeddeddb runs a DynamoDB-compatible engine inside the process:
// minidyn's HTTP server (github.com/truora/minidyn/server, pure Go, in
// memory) on a loopback port, reached through the real AWS SDK client and
// the production DynamoDB adapter. It is the local server's default store,
// so `make run` needs neither Docker nor an AWS account.
//
// Two quirks of the engine (v0.8.2) shape this package: it reports no
// table status, so tables are created without waiting for ACTIVE (they are
// usable at once); and its table
// operations (CreateTable, UpdateTable, DeleteTable, DescribeTable) touch
// its table map without its lock, which races with item operations, so the
// Server runs them one at a time and never alongside item operations.
package embeddeddb

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	miniserver "github.com/truora/minidyn/server"

	"github.com/deepfoundai/jobs-api/dev/loopback"
	"github.com/deepfoundai/jobs-api/internal/dynamodb"
)

// Server is the engine listening on a loopback port.
type Server struct {
	// URL is the endpoint, e.g. http://127.0.0.1:41234.
	URL  string
	srv  *http.Server
	done chan struct{}
}

// Start listens on addr ("127.0.0.1:0" picks a free port) and serves the
// engine until Close. Only loopback addresses are accepted: the engine has
// no authentication.
func Start(addr string) (*Server, error) {
	ln, err := loopback.Listen(addr)
	if err != nil {
		return nil, fmt.Errorf("embeddeddb: %w", err)
	}
	s := &Server{
		URL:  "http://" + ln.Addr().String(),
		srv:  &http.Server{Handler: &serialDDL{next: miniserver.NewServer()}, ReadHeaderTimeout: 5 * time.Second},
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln) // returns http.ErrServerClosed after Close
	}()
	return s, nil
}

// serialDDL gives table operations exclusive access to the engine; item
// operations share it (the engine locks them itself).
type serialDDL struct {
	mu   sync.RWMutex
	next http.Handler
}

func (h *serialDDL) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch op := r.Header.Get("X-Amz-Target"); {
	case strings.HasSuffix(op, "Table"):
		h.mu.Lock()
		defer h.mu.Unlock()
	default:
		h.mu.RLock()
		defer h.mu.RUnlock()
	}
	h.next.ServeHTTP(w, r)
}

// Close stops the engine, letting requests in flight finish (for a second
// at most, and not past ctx). The data is gone afterwards.
func (s *Server) Close(ctx context.Context) error {
	// Shutdown counts a connection the SDK dialed but never used as busy
	// for 5 s; past a short grace nothing real is in flight (the engine's
	// callers stop first), so the rest is closed.
	sctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	err := s.srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		err = s.srv.Close()
	}
	<-s.done
	return err
}

// Client returns an SDK client for the engine, with dummy credentials (it
// accepts any).
func (s *Server) Client() *ddb.Client {
	return dynamodb.NewClient(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")}, s.URL)
}

// EnsureTable creates the table unless it exists. With wait, it then polls
// until the table and its indexes are ACTIVE (dynamodb.CreateTable); the
// embedded engine reports no status and needs no wait.
func EnsureTable(ctx context.Context, client *ddb.Client, in *ddb.CreateTableInput, wait bool) (created bool, err error) {
	_, err = client.DescribeTable(ctx, &ddb.DescribeTableInput{TableName: in.TableName})
	var missing *types.ResourceNotFoundException
	switch {
	case err == nil:
		return false, nil
	case !errors.As(err, &missing):
		return false, fmt.Errorf("describe table %s: %w", aws.ToString(in.TableName), err)
	case wait:
		return true, dynamodb.CreateTable(ctx, client, in)
	}
	if _, err := client.CreateTable(ctx, in); err != nil {
		return false, fmt.Errorf("create table %s: %w", aws.ToString(in.TableName), err)
	}
	return true, nil
}
