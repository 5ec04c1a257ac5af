package e2e

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

func TestListening(t *testing.T) {
	requireE2E(t)
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if !listening(os.Getpid(), port) {
		t.Errorf("listening(self, %d) = false with a listener open", port)
	}
	if listening(os.Getppid(), port) {
		t.Errorf("listening(parent, %d) = true for this process's listener", port)
	}
	l.Close()
	if listening(os.Getpid(), port) {
		t.Errorf("listening(self, %d) = true after the listener closed", port)
	}
}

// TestStartOnTakenPort gives the emulator a port another server holds (here
// one answering HTTP like another emulator): the start must fail, so that
// startFunction retries, and never pass for ready because that server
// answers.
func TestStartOnTakenPort(t *testing.T) {
	requireE2E(t)
	t.Parallel()
	other := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(other.Close)
	taken := other.Listener.Addr().(*net.TCPAddr).Port
	for _, c := range []struct {
		name string
		api  bool // whether the taken port is the invoke API's or the Runtime API's
	}{
		{"invoke API port", true},
		{"runtime API port", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ports, err := loopbackPorts(1)
			if err != nil {
				t.Fatal(err)
			}
			api, runtime := taken, ports[0]
			if !c.api {
				api, runtime = ports[0], taken
			}
			f, err := startOn("TakenPortFn", getJobBin, baseEnv("TakenPortFn"), api, runtime)
			if err == nil {
				f.stop(t)
				t.Fatalf("started on a taken port; output:\n%s", f.out.String())
			}
			if !strings.Contains(err.Error(), "exited at start") {
				t.Errorf("err = %v, want the emulator to have exited", err)
			}
		})
	}
}
