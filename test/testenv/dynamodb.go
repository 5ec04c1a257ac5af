// Package testenv provides real services to tests: a DynamoDB-compatible
// server (dynalite from the repo's package-lock, or any endpoint named in
// JOBS_TEST_DYNAMODB_ENDPOINT) and tables on it.
package testenv

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/deepfoundai/jobs-api/deploy/samtemplate"
	"github.com/deepfoundai/jobs-api/internal/dynamodb"
)

// EndpointEnv names a DynamoDB endpoint for tests to use instead of starting
// dynalite (e.g. DynamoDB Local on http://127.0.0.1:8000).
const EndpointEnv = "JOBS_TEST_DYNAMODB_ENDPOINT"

var endpoint string

// RunWithDynamoDB runs a test binary's tests with a DynamoDB-compatible
// endpoint: the one in EndpointEnv, else a dynalite it starts on a free
// loopback port and stops afterwards. Use it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(testenv.RunWithDynamoDB(m)) }
func RunWithDynamoDB(m *testing.M) int {
	if ep := os.Getenv(EndpointEnv); ep != "" {
		endpoint = ep
		return m.Run()
	}
	stop, ep, err := StartDynalite()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		return 1
	}
	defer stop()
	endpoint = ep
	return m.Run()
}

// Endpoint returns the endpoint RunWithDynamoDB set up.
func Endpoint(t testing.TB) string {
	t.Helper()
	if endpoint == "" {
		t.Fatal("testenv: no DynamoDB endpoint; call testenv.RunWithDynamoDB from TestMain")
	}
	return endpoint
}

// ModuleRoot returns the directory holding go.mod.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// StartDynalite starts the repo's pinned dynalite on a free loopback port
// and returns a stop function and its endpoint.
func StartDynalite() (stop func(), endpoint string, err error) {
	root, err := ModuleRoot()
	if err != nil {
		return nil, "", err
	}
	cli := filepath.Join(root, "node_modules", "dynalite", "cli.js")
	if _, err := os.Stat(cli); err != nil {
		return nil, "", fmt.Errorf("dynalite is not installed (run `npm ci` in %s): %w", root, err)
	}
	var lastErr error
	for range 3 { // the free port can be taken between the probe and the start
		port, err := FreePort()
		if err != nil {
			return nil, "", err
		}
		cmd := exec.Command("node", cli, "--host", "127.0.0.1", "--port", fmt.Sprint(port),
			"--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0")
		out, err := cmd.StdoutPipe()
		if err != nil {
			return nil, "", err
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			return nil, "", fmt.Errorf("start dynalite: %w", err)
		}
		ready := make(chan bool, 1)
		go func() {
			sc := bufio.NewScanner(out)
			ok := sc.Scan() && strings.Contains(sc.Text(), "listening")
			ready <- ok
			_, _ = io.Copy(io.Discard, out)
		}()
		select {
		case ok := <-ready:
			if ok {
				return func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }, fmt.Sprintf("http://127.0.0.1:%d", port), nil
			}
			lastErr = fmt.Errorf("dynalite did not start on port %d", port)
		case <-time.After(20 * time.Second):
			lastErr = fmt.Errorf("dynalite did not start within 20s")
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	return nil, "", lastErr
}

// AWSConfig are the AWS settings of clients for local endpoints: a region
// and dummy credentials (local engines accept any).
var AWSConfig = aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}

// Client returns an SDK client for endpoint, with AWSConfig.
func Client(endpoint string) *ddb.Client { return dynamodb.NewClient(AWSConfig, endpoint) }

// JobsTableInput is the jobs table exactly as template.yaml defines it (the
// JobsTable resource, read by samtemplate.TableInput with the parameters of
// dev/params.json, which `make run` uses too), named name: the tests' tables
// and the local engine's are derived from the one definition.
func JobsTableInput(name string) (*ddb.CreateTableInput, error) {
	root, err := ModuleRoot()
	if err != nil {
		return nil, err
	}
	tpl, err := samtemplate.Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(filepath.Join(root, "dev", "params.json"))
	if err != nil {
		return nil, err
	}
	var params struct{ Parameters map[string]string }
	if err := json.Unmarshal(raw, &params); err != nil {
		return nil, fmt.Errorf("dev/params.json: %w", err)
	}
	r, err := samtemplate.NewResolver(tpl, samtemplate.ResolveOptions{Parameters: params.Parameters})
	if err != nil {
		return nil, err
	}
	in, err := samtemplate.TableInput(tpl, r, "JobsTable")
	if err != nil {
		return nil, err
	}
	in.TableName = aws.String(name)
	return in, nil
}

// NewTable creates a jobs table with a unique name on the test endpoint,
// deletes it when the test ends, and returns a client and the name.
func NewTable(t testing.TB) (*ddb.Client, string) {
	t.Helper()
	client := Client(Endpoint(t))
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "Jobs-test-" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	in, err := JobsTableInput(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := dynamodb.CreateTable(ctx, client, in); err != nil {
		t.Fatalf("create table: %v", err)
	}
	t.Cleanup(func() {
		_, _ = client.DeleteTable(context.Background(), &ddb.DeleteTableInput{TableName: aws.String(name)})
	})
	return client, name
}
