package coldstart

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
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// function is one bootstrap running under its own emulator, in its own
// process group so that stop ends both.
type function struct {
	cmd  *exec.Cmd
	url  string
	out  *syncBuffer
	done chan struct{}
}

// syncBuffer collects the emulator's and the bootstrap's output.
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

// start runs bootstrap under a new emulator on free loopback ports and
// returns once the emulator answers HTTP, before the bootstrap starts: the
// emulator runs init on the first invoke.
func start(ctx context.Context, rie, bootstrap string, env []string) (*function, error) {
	var lastErr error
	for range 3 { // a free port can be taken between the probe and the listen
		f, err := tryStart(ctx, rie, bootstrap, env)
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

func tryStart(ctx context.Context, rie, bootstrap string, env []string) (*function, error) {
	apiPort, runtimePort, err := twoFreePorts()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", apiPort)
	cmd := exec.Command(rie,
		"--log-level", "info",
		"--runtime-interface-emulator-address", addr,
		"--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", runtimePort),
		bootstrap)
	cmd.Dir = filepath.Dir(bootstrap)
	cmd.Env = env
	// Its own process group, so that stop can kill the emulator and the
	// bootstrap together; and killed if this process dies first (a test
	// timeout, ^C), whereupon the bootstrap's long poll breaks and
	// aws-lambda-go exits.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	f := &function{cmd: cmd, url: "http://" + addr + "/2015-03-31/functions/function/invocations", out: out, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(f.done)
	}()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		select {
		case <-f.done:
			return nil, fmt.Errorf("aws-lambda-rie exited at start: %v\n%s", cmd.ProcessState, out.String())
		default:
		}
		// Any answer means the emulator listens (its mux says 404 to "/").
		if resp, err := client.Get("http://" + addr + "/"); err == nil {
			resp.Body.Close()
			return f, nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	f.stop()
	return nil, fmt.Errorf("aws-lambda-rie did not answer on %s\n%s", addr, out.String())
}

// twoFreePorts returns two distinct loopback ports that were free a moment
// ago. Probing them one after the other can return the same port twice,
// and the emulator then fails at the first invoke.
func twoFreePorts() (int, int, error) {
	a, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, 0, err
	}
	defer a.Close()
	b, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, 0, err
	}
	defer b.Close()
	return a.Addr().(*net.TCPAddr).Port, b.Addr().(*net.TCPAddr).Port, nil
}

// stop kills the emulator's process group (the emulator and the bootstrap)
// and waits for the emulator.
func (f *function) stop() {
	_ = syscall.Kill(-f.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-f.done:
	case <-time.After(10 * time.Second):
	}
}

var invokeClient = &http.Client{}

// invoke posts payload and returns the emulator's status and body.
func (f *function) invoke(ctx context.Context, payload []byte) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*functionTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.url, bytes.NewReader(payload))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := invokeClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// The emulator's log lines (internal/lambda/interop/events_api.go of the
// pinned module; the lambda-managed-instances variant names the fields
// slightly differently, which the patterns also accept).
var (
	initReport   = regexp.MustCompile(`INIT REPORT\([^)]*?durationMs: ([0-9.]+)`)
	invokeRTDone = regexp.MustCompile(`INVOKE RTDONE\(status: (\w+),[^)]*?duration(?:Ms)?: ([0-9.]+)`)
)

// coldTimes are what the emulator logged for an init and the first invoke.
type coldTimes struct {
	init, invoke float64 // milliseconds
}

// parseColdStart reads the init duration and the first invocation's from an
// emulator's log. ok is false until both lines are there; an invocation
// whose status is not success is an error.
func parseColdStart(log string) (t coldTimes, ok bool, err error) {
	mi := initReport.FindStringSubmatch(log)
	mv := invokeRTDone.FindStringSubmatch(log)
	if mi == nil || mv == nil {
		return t, false, nil
	}
	if mv[1] != "success" {
		return t, false, fmt.Errorf("first invoke: status %s", mv[1])
	}
	if t.init, err = strconv.ParseFloat(mi[1], 64); err != nil {
		return t, false, err
	}
	if t.invoke, err = strconv.ParseFloat(mv[2], 64); err != nil {
		return t, false, err
	}
	return t, true, nil
}

// waitColdStart waits for the emulator to log both lines.
func (f *function) waitColdStart(ctx context.Context) (coldTimes, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		t, ok, err := parseColdStart(f.out.String())
		if ok || err != nil {
			return t, err
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return t, errors.New("the emulator logged no INIT REPORT and INVOKE RTDONE")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// bootstrapPID returns the process id of the emulator's child: the
// bootstrap, once the first invoke has started it.
func (f *function) bootstrapPID() (int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, ok := parentPID(pid); ok && ppid == f.cmd.Process.Pid {
			pids = append(pids, pid)
		}
	}
	if len(pids) != 1 {
		return 0, fmt.Errorf("aws-lambda-rie (pid %d) has %d children, want the bootstrap alone", f.cmd.Process.Pid, len(pids))
	}
	return pids[0], nil
}

// parentPID reads a process's parent from /proc/PID/stat.
func parentPID(pid int) (int, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// "pid (comm) state ppid ...": comm may hold spaces and parentheses.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	fields := strings.Fields(s[i+1:])
	if len(fields) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(fields[1])
	return ppid, err == nil
}

// memory is a process's resident set now and at its peak, in KiB.
type memory struct {
	rssKiB, hwmKiB int
}

// readMemory reads VmRSS and VmHWM from /proc/PID/status.
func readMemory(pid int) (memory, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memory{}, err
	}
	return parseStatus(string(b))
}

func parseStatus(status string) (memory, error) {
	var m memory
	var seen int
	for _, line := range strings.Split(status, "\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		fields := strings.Fields(value)
		if len(fields) != 2 || fields[1] != "kB" {
			return m, fmt.Errorf("unexpected %s line %q", name, line)
		}
		n, err := strconv.Atoi(fields[0])
		if err != nil {
			return m, fmt.Errorf("unexpected %s line %q", name, line)
		}
		if name == "VmRSS" {
			m.rssKiB = n
		} else {
			m.hwmKiB = n
		}
		seen++
	}
	if seen != 2 {
		return m, errors.New("no VmRSS and VmHWM in /proc/PID/status")
	}
	return m, nil
}

// inittraceLine is one line of GODEBUG=inittrace=1 output.
var inittraceLine = regexp.MustCompile(`(?m)^init (\S+) @[0-9.]+ ms, ([0-9.]+) ms clock, ([0-9]+) bytes, ([0-9]+) allocs$`)

// pkgInit is one package's init cost.
type pkgInit struct {
	pkg           string
	ms            float64
	bytes, allocs int
}

// parseInittrace returns the packages' init costs, the most expensive first.
func parseInittrace(log string) []pkgInit {
	var inits []pkgInit
	for _, m := range inittraceLine.FindAllStringSubmatch(log, -1) {
		ms, _ := strconv.ParseFloat(m[2], 64)
		b, _ := strconv.Atoi(m[3])
		a, _ := strconv.Atoi(m[4])
		inits = append(inits, pkgInit{pkg: m[1], ms: ms, bytes: b, allocs: a})
	}
	sort.SliceStable(inits, func(i, j int) bool { return inits[i].ms > inits[j].ms })
	return inits
}
