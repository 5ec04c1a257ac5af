package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RIETool is the Lambda Runtime Interface Emulator's main package; go.mod
// pins it with a tool directive, so building it from the module uses that
// version.
const RIETool = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"

// LambdaFlags are the Makefile's LAMBDA_FLAGS, with which Lambda bootstraps
// are built (static with CGO_ENABLED=0; lambda.norpc drops the legacy RPC
// mode); keep them in step.
var LambdaFlags = []string{"-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w"}

// CoverFlags instrument every package of the module, so that a binary built
// with them and run with GOCOVERDIR set counts towards the module's coverage.
var CoverFlags = []string{"-cover", "-covermode=atomic", "-coverpkg=./..."}

// TestAccessKeyID is the access key id LambdaEnv gives functions, for fake
// AWS services that check requests are signed with it.
const TestAccessKeyID = "AKIDTESTENV"

// GoCmd runs the go command with args in the module root, with
// CGO_ENABLED=0 GOOS=linux GOARCH=goarch: static Linux binaries, as Lambda
// runs them. Its output is in the error if it fails.
func GoCmd(ctx context.Context, goarch string, args ...string) error {
	root, err := ModuleRoot()
	if err != nil {
		return err
	}
	gobin, err := exec.LookPath("go") // `go test` puts its GOROOT/bin first in PATH
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, gobin, args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	if testing.Testing() && testing.Verbose() {
		pkgs := args[len(args)-1:]
		if i := slices.Index(args, "-o"); i >= 0 && i+2 < len(args) {
			pkgs = args[i+2:]
		}
		fmt.Fprintf(os.Stderr, "testenv: go build %s (%.1fs)\n", strings.Join(pkgs, " "), time.Since(start).Seconds())
	}
	return nil
}

// BuildFunctions builds, for Linux on this machine's architecture, the
// emulator to dir/aws-lambda-rie and each of pkgs (module-relative, like
// "./cmd/getjob") with flags to dir/<last element>/bootstrap, a Lambda
// deployment's layout. It returns the emulator's path and the bootstraps'
// by last element, which must be distinct.
//
// The emulator and the functions build concurrently, and one go build makes
// all the functions: the packages they share (instrumented ones too, with
// CoverFlags) are compiled once, where separate builds would each compile
// them.
func BuildFunctions(ctx context.Context, dir string, flags []string, pkgs ...string) (rie string, bootstraps map[string]string, err error) {
	rie = filepath.Join(dir, "aws-lambda-rie")
	out := filepath.Join(dir, "build") + string(filepath.Separator)
	fnBuild := append(append(append([]string{"build"}, flags...), "-o", out), pkgs...)
	builds := [][]string{{"build", "-o", rie, RIETool}, fnBuild}
	errs := make([]error, len(builds))
	var wg sync.WaitGroup
	for i, args := range builds {
		wg.Go(func() { errs[i] = GoCmd(ctx, runtime.GOARCH, args...) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return "", nil, err
	}
	bootstraps = map[string]string{}
	for _, pkg := range pkgs {
		name := path.Base(pkg)
		bin := filepath.Join(dir, name, "bootstrap")
		if err := os.Mkdir(filepath.Dir(bin), 0o755); err != nil {
			return "", nil, err
		}
		if err := os.Rename(filepath.Join(out, name), bin); err != nil {
			return "", nil, err
		}
		bootstraps[name] = bin
	}
	return rie, bootstraps, nil
}

// LambdaEnv is what a Lambda sandbox provides a function named name: PATH,
// region, (fake) credentials with TestAccessKeyID, memory size and timeout.
// The emulator passes its whole environment on to the bootstrap, so start
// it with this (see EnvList) and nothing of the caller's own leaks in.
func LambdaEnv(name string, memoryMB int, timeout time.Duration) map[string]string {
	return map[string]string{
		"PATH":                            os.Getenv("PATH"),
		"AWS_REGION":                      "us-east-1",
		"AWS_DEFAULT_REGION":              "us-east-1",
		"AWS_ACCESS_KEY_ID":               TestAccessKeyID,
		"AWS_SECRET_ACCESS_KEY":           "testenv-secret",
		"AWS_SESSION_TOKEN":               "testenv-session",
		"AWS_LAMBDA_FUNCTION_NAME":        name,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(memoryMB),
		"AWS_LAMBDA_FUNCTION_TIMEOUT":     strconv.Itoa(int(timeout.Seconds())),
	}
}

// EnvList turns env into KEY=value entries, sorted.
func EnvList(env map[string]string) []string {
	list := make([]string, 0, len(env))
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	sort.Strings(list)
	return list
}

// FunctionConfig says how to run a bootstrap under the emulator.
type FunctionConfig struct {
	Name      string   // the function's name in messages
	RIE       string   // the aws-lambda-rie binary
	Bootstrap string   // the function; its directory is the working directory, like /var/task
	Env       []string // the emulator's whole environment, which the bootstrap inherits

	// InvokeTimeout bounds each Invoke; zero leaves it to Invoke's context.
	InvokeTimeout time.Duration

	// ProcessGroup puts the emulator in a process group of its own, which
	// Stop kills whole, the bootstrap with it (so a -cover bootstrap writes
	// no coverage data), and has the kernel kill the emulator should this
	// process die first (a test timeout, ^C), whereupon the bootstrap's long
	// poll breaks and aws-lambda-go exits. Without it, Stop kills only the
	// emulator and lets the bootstrap exit by itself.
	ProcessGroup bool
}

// Function is one bootstrap running under its own emulator: one
// aws-lambda-rie process, which starts the bootstrap on the first invoke.
type Function struct {
	Name string
	URL  string     // the invoke endpoint
	Out  *LogBuffer // the emulator's and the bootstrap's output (stdout and stderr)

	cmd   *exec.Cmd
	group bool
	done  chan struct{}

	invokeTimeout time.Duration
	// mu serializes invokes: an execution environment runs one at a time,
	// and the emulator refuses a second concurrent one.
	mu sync.Mutex
}

// StartFunction runs c.Bootstrap under a new emulator on free, distinct
// loopback ports and returns when the emulator listens on them, before the
// bootstrap starts: the emulator runs init on the first invoke. A port can
// be taken between the probe and the listen, so it tries three times.
func StartFunction(ctx context.Context, c FunctionConfig) (*Function, error) {
	var lastErr error
	for range 3 {
		ports, err := LoopbackPorts(2)
		if err != nil {
			return nil, err
		}
		f, err := StartFunctionOn(ctx, c, ports[0], ports[1])
		if err == nil {
			return f, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

// StartFunctionOn starts the emulator with its invoke API on apiPort and the
// Runtime API on runtimePort, and waits until it listens on both. If either
// port is taken, the emulator exits and so does this, with an error saying
// "exited at start".
func StartFunctionOn(ctx context.Context, c FunctionConfig, apiPort, runtimePort int) (*Function, error) {
	addr := fmt.Sprintf("127.0.0.1:%d", apiPort)
	// The emulator's CLI: flags, then the bootstrap command. Without
	// --runtime-api-address every emulator would take 127.0.0.1:9001.
	cmd := exec.Command(c.RIE,
		"--log-level", "info",
		"--runtime-interface-emulator-address", addr,
		"--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", runtimePort),
		c.Bootstrap)
	cmd.Dir = filepath.Dir(c.Bootstrap)
	cmd.Env = c.Env
	if c.ProcessGroup {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	}
	out := &LogBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	// The bootstrap inherits the output pipe, so Wait also waits for it to
	// exit; WaitDelay bounds that.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	f := &Function{
		Name: c.Name, URL: "http://" + addr + "/2015-03-31/functions/function/invocations", Out: out,
		cmd: cmd, group: c.ProcessGroup, done: make(chan struct{}), invokeTimeout: c.InvokeTimeout,
	}
	go func() {
		_ = cmd.Wait()
		close(f.done)
	}()

	// Ready when the emulator itself listens on both ports. An HTTP answer
	// would not do: another process may hold a port taken between the
	// probe and the listen, and the emulator then exits (its listens
	// panic), which StartFunction retries.
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		select {
		case <-f.done:
			return nil, fmt.Errorf("aws-lambda-rie exited at start: %v\n%s", cmd.ProcessState, out.String())
		default:
		}
		if Listening(cmd.Process.Pid, apiPort) && Listening(cmd.Process.Pid, runtimePort) {
			return f, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	f.kill()
	return nil, fmt.Errorf("aws-lambda-rie did not listen on %s and port %d within 20s\n%s", addr, runtimePort, out.String())
}

// LoopbackPorts returns n distinct free loopback ports. It holds a listener
// on each until it has all of them: ports probed one after the other can be
// the same one, the kernel handing out again a port just closed.
func LoopbackPorts(n int) ([]int, error) {
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

// Listening reports whether process pid has a TCP socket listening on port:
// one of its file descriptors is a socket that /proc/net/tcp{,6} lists in
// state LISTEN (0A) with that local port. Linux only.
func Listening(pid, port int) bool {
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

// Response is the emulator's answer to an invoke.
type Response struct {
	Status  int           // the emulator's HTTP status
	Body    []byte        // the function's response, or the emulator's error
	Elapsed time.Duration // from sending the request to reading the body
}

// Invoke posts payload (a JSON event) to the invoke endpoint, after any
// invoke still running, and returns the emulator's answer.
func (f *Function) Invoke(ctx context.Context, payload []byte) (Response, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.invokeTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.invokeTimeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.URL, bytes.NewReader(payload))
	if err != nil {
		return Response{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Response{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return Response{}, fmt.Errorf("read response: %w", err)
	}
	return Response{Status: resp.StatusCode, Body: body, Elapsed: time.Since(start)}, nil
}

// Stop ends the emulator and its bootstrap and waits for the emulator; it
// fails if the emulator has not exited after 10 seconds.
//
// With ProcessGroup, it kills the group. Otherwise it kills the emulator
// only, not asking it to stop: on SIGTERM it SIGKILLs the bootstrap, which
// then writes no coverage data. Killed, it drops the bootstrap's long poll
// for the next invoke, and aws-lambda-go exits with status 1 through
// os.Exit, which writes the coverage counters. A bootstrap that has not
// exited after a few seconds is killed by its process id and reported to
// logf, if not nil.
func (f *Function) Stop(logf func(format string, args ...any)) error {
	var children []int
	if !f.group {
		children = childPIDs(f.cmd.Process.Pid)
	}
	f.kill()
	deadline := time.Now().Add(5 * time.Second)
	for _, pid := range children {
		for running(pid) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if running(pid) {
			if logf != nil {
				logf("%s: bootstrap (pid %d) did not exit after the emulator stopped; killing it", f.Name, pid)
			}
			if p, err := os.FindProcess(pid); err == nil {
				_ = p.Kill()
			}
		}
	}
	select {
	case <-f.done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s: aws-lambda-rie (pid %d) did not exit", f.Name, f.cmd.Process.Pid)
	}
}

func (f *Function) kill() {
	if f.group {
		_ = syscall.Kill(-f.cmd.Process.Pid, syscall.SIGKILL)
		return
	}
	_ = f.cmd.Process.Kill()
}

// BootstrapPID returns the process id of the emulator's child: the
// bootstrap, once the first invoke has started it.
func (f *Function) BootstrapPID() (int, error) {
	pids := childPIDs(f.cmd.Process.Pid)
	if len(pids) != 1 {
		return 0, fmt.Errorf("aws-lambda-rie (pid %d) has %d children, want the bootstrap alone", f.cmd.Process.Pid, len(pids))
	}
	return pids[0], nil
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
