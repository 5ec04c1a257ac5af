package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// functionTimeout is AWS_LAMBDA_FUNCTION_TIMEOUT, in seconds, of every
// emulated function unless a test sets another: the deployed functions'.
const functionTimeout = 10

// function is one Lambda function running under the emulator: one
// aws-lambda-rie process, which starts the bootstrap on the first invoke.
type function struct {
	name string
	url  string // the invoke endpoint
	cmd  *exec.Cmd
	out  *syncBuffer // emulator and function output (stdout and stderr)
	done chan struct{}

	// mu serializes invokes: an execution environment runs one at a time,
	// and the emulator refuses a second concurrent one.
	mu sync.Mutex
}

// syncBuffer is a bytes.Buffer safe for the process's writers and the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// baseEnv is the environment every emulated function gets: what a Lambda
// sandbox provides, plus GOCOVERDIR when coverage is collected. The emulator
// passes its whole environment on to the bootstrap, so this is also what the
// function sees; nothing of the test's own environment leaks in.
func baseEnv(name string) map[string]string {
	env := map[string]string{
		"PATH":                            os.Getenv("PATH"),
		"AWS_REGION":                      "us-east-1",
		"AWS_DEFAULT_REGION":              "us-east-1",
		"AWS_ACCESS_KEY_ID":               "AKIDE2ETEST",
		"AWS_SECRET_ACCESS_KEY":           "e2e-test-secret",
		"AWS_SESSION_TOKEN":               "e2e-test-session",
		"AWS_LAMBDA_FUNCTION_NAME":        name,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
		"AWS_LAMBDA_FUNCTION_TIMEOUT":     strconv.Itoa(functionTimeout),
	}
	if coverDir != "" {
		env["GOCOVERDIR"] = coverDir
	}
	return env
}

// startFunction runs bootstrap under a new emulator on free loopback ports
// and returns when the emulator listens on them. env is added to baseEnv; an
// empty value removes a variable. The emulator and the function are stopped
// when the test ends, and their output is logged if it failed.
func startFunction(t *testing.T, name, bootstrap string, env map[string]string) *function {
	t.Helper()
	full := baseEnv(name)
	for k, v := range env {
		if v == "" {
			delete(full, k)
		} else {
			full[k] = v
		}
	}
	var lastErr error
	for range 3 { // a free port can be taken between the probe and the listen
		f, err := tryStart(name, bootstrap, full)
		if err == nil {
			t.Cleanup(func() {
				f.stop(t)
				if t.Failed() {
					t.Logf("--- output of %s (aws-lambda-rie and bootstrap) ---\n%s", f.name, f.out.String())
				}
			})
			return f
		}
		lastErr = err
	}
	t.Fatalf("start %s under aws-lambda-rie: %v", name, lastErr)
	return nil
}

func tryStart(name, bootstrap string, env map[string]string) (*function, error) {
	ports, err := loopbackPorts(2)
	if err != nil {
		return nil, err
	}
	return startOn(name, bootstrap, env, ports[0], ports[1])
}

// startOn starts the emulator with its invoke API on apiPort and the
// Runtime API on runtimePort, and waits until it listens on both.
func startOn(name, bootstrap string, env map[string]string, apiPort, runtimePort int) (*function, error) {
	addr := fmt.Sprintf("127.0.0.1:%d", apiPort)
	// The emulator's CLI: flags, then the bootstrap command. Without
	// --runtime-api-address every emulator would take 127.0.0.1:9001.
	cmd := exec.Command(rieBin,
		"--log-level", "info",
		"--runtime-interface-emulator-address", addr,
		"--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", runtimePort),
		bootstrap)
	cmd.Dir = filepath.Dir(bootstrap) // the bootstrap's working directory, like /var/task
	cmd.Env = envList(env)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	// The bootstrap inherits the output pipe, so Wait also waits for it to
	// exit; WaitDelay bounds that.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	f := &function{name: name, url: "http://" + addr + "/2015-03-31/functions/function/invocations", cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(f.done)
	}()

	// Ready when the emulator itself listens on both ports. An HTTP answer
	// would not do: another process may hold a port taken between the
	// probe and the listen, and the emulator then exits (its listens
	// panic), which the caller retries.
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-f.done:
			return nil, fmt.Errorf("aws-lambda-rie exited at start: %v\n%s", cmd.ProcessState, out.String())
		default:
		}
		if listening(cmd.Process.Pid, apiPort) && listening(cmd.Process.Pid, runtimePort) {
			return f, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	f.kill()
	return nil, fmt.Errorf("aws-lambda-rie did not listen on %s and port %d within 20s\n%s", addr, runtimePort, out.String())
}

// loopbackPorts returns n distinct free loopback ports. It holds a listener
// on each until it has all of them: ports probed one after the other can be
// the same one, the kernel handing out again a port just closed.
func loopbackPorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// listening reports whether process pid has a TCP socket listening on port:
// one of its file descriptors is a socket that /proc/net/tcp{,6} lists in
// state LISTEN (0A) with that local port.
func listening(pid, port int) bool {
	sockets := map[string]bool{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		// "sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ..."
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fields := strings.Fields(line)
			if len(fields) < 10 || fields[3] != "0A" {
				continue
			}
			_, hexPort, _ := strings.Cut(fields[1], ":")
			if p, err := strconv.ParseUint(hexPort, 16, 16); err == nil && int(p) == port {
				sockets["socket:["+fields[9]+"]"] = true
			}
		}
	}
	if len(sockets) == 0 {
		return false
	}
	fdDir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, err := os.ReadDir(fdDir)
	if err != nil {
		return false
	}
	for _, fd := range fds {
		if target, err := os.Readlink(filepath.Join(fdDir, fd.Name())); err == nil && sockets[target] {
			return true
		}
	}
	return false
}

func envList(env map[string]string) []string {
	list := make([]string, 0, len(env))
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	sort.Strings(list)
	return list
}

// stop ends the emulator and its bootstrap and waits for both.
//
// The emulator is killed, not asked to stop: on SIGTERM it SIGKILLs the
// bootstrap, which then writes no coverage data. Killed, it drops the
// bootstrap's long poll for the next invoke, and aws-lambda-go exits with
// status 1 through os.Exit, which writes the coverage counters. A bootstrap
// that has not exited after a few seconds is killed by its process id.
func (f *function) stop(t *testing.T) {
	t.Helper()
	children := childPIDs(f.cmd.Process.Pid)
	f.kill()
	deadline := time.Now().Add(5 * time.Second)
	for _, pid := range children {
		for running(pid) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if running(pid) {
			t.Logf("%s: bootstrap (pid %d) did not exit after the emulator stopped; killing it", f.name, pid)
			if p, err := os.FindProcess(pid); err == nil {
				_ = p.Kill()
			}
		}
	}
	select {
	case <-f.done:
	case <-time.After(10 * time.Second):
		t.Errorf("%s: aws-lambda-rie (pid %d) did not exit", f.name, f.cmd.Process.Pid)
	}
}

func (f *function) kill() {
	_ = f.cmd.Process.Kill()
}

// childPIDs lists the processes whose parent is ppid, from /proc.
func childPIDs(ppid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if _, parent, ok := procStat(pid); ok && parent == ppid {
			pids = append(pids, pid)
		}
	}
	return pids
}

// running reports whether pid is a live (not zombie) process.
func running(pid int) bool {
	state, _, ok := procStat(pid)
	return ok && state != "Z" && state != "X"
}

// procStat reads a process's state and parent from /proc/PID/stat.
func procStat(pid int) (state string, ppid int, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", 0, false
	}
	// "pid (comm) state ppid ...": comm may hold spaces and parentheses.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return "", 0, false
	}
	fields := strings.Fields(s[i+1:])
	if len(fields) < 2 {
		return "", 0, false
	}
	ppid, err = strconv.Atoi(fields[1])
	return fields[0], ppid, err == nil
}

var invokeClient = &http.Client{Timeout: 2 * functionTimeout * time.Second}

// invokeRaw posts payload to the function's invoke endpoint and returns the
// emulator's HTTP status and body.
func (f *function) invokeRaw(t *testing.T, payload any) (status int, body []byte, elapsed time.Duration) {
	t.Helper()
	b, err := json.Marshal(payload)
	if err != nil {
		t.Fatalf("encode event: %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*functionTimeout*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.url, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := invokeClient.Do(req)
	if err != nil {
		t.Fatalf("invoke %s: %v", f.name, err)
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("invoke %s: read response: %v", f.name, err)
	}
	return resp.StatusCode, body, time.Since(start)
}

// invoke sends an API Gateway proxy event and returns the function's
// response; anything but a successful invocation fails the test.
func (f *function) invoke(t *testing.T, ev map[string]any) (apiResponse, time.Duration) {
	t.Helper()
	status, body, elapsed := f.invokeRaw(t, ev)
	if status != http.StatusOK {
		t.Fatalf("invoke %s: emulator answered HTTP %d: %s", f.name, status, body)
	}
	if bytes.HasPrefix(body, []byte("Task timed out")) {
		t.Fatalf("invoke %s: the function timed out after %v: %s", f.name, elapsed.Round(time.Millisecond), body)
	}
	var r events.APIGatewayProxyResponse
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil || r.StatusCode == 0 {
		t.Fatalf("invoke %s: not an API Gateway proxy response (%v): %s", f.name, err, body)
	}
	return apiResponse{r}, elapsed
}
