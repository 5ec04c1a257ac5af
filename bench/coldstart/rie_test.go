package coldstart

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/deepfoundai/jobs-api/test/testenv"
)

// function is one bootstrap running under its own emulator, in its own
// process group so that stop ends both.
type function struct {
	*testenv.Function
}

// start runs bootstrap under a new emulator on free loopback ports and
// returns once the emulator listens, before the bootstrap starts: the
// emulator runs init on the first invoke.
func start(ctx context.Context, rie, bootstrap string, env []string) (*function, error) {
	f, err := testenv.StartFunction(ctx, testenv.FunctionConfig{
		Name: filepath.Base(filepath.Dir(bootstrap)), RIE: rie, Bootstrap: bootstrap, Env: env,
		InvokeTimeout: 2 * functionTimeout,
		// Each round kills the emulator and the bootstrap together, and
		// neither outlives this process.
		ProcessGroup: true,
	})
	if err != nil {
		return nil, err
	}
	return &function{f}, nil
}

// stop kills the emulator's process group (the emulator and the bootstrap)
// and waits for the emulator.
func (f *function) stop() { _ = f.Stop(nil) }

// invoke posts payload and returns the emulator's status and body.
func (f *function) invoke(ctx context.Context, payload []byte) (int, []byte, error) {
	r, err := f.Invoke(ctx, payload)
	return r.Status, r.Body, err
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
		t, ok, err := parseColdStart(f.Out.String())
		if ok || err != nil {
			return t, err
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return t, errors.New("the emulator logged no INIT REPORT and INVOKE RTDONE")
		}
		time.Sleep(2 * time.Millisecond)
	}
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
