package e2e

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/deepfoundai/jobs-api/test/testenv"
)

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
			ports, err := testenv.LoopbackPorts(1)
			if err != nil {
				t.Fatal(err)
			}
			api, runtime := taken, ports[0]
			if !c.api {
				api, runtime = ports[0], taken
			}
			f, err := testenv.StartFunctionOn(context.Background(), config("TakenPortFn", getJobBin, baseEnv("TakenPortFn")), api, runtime)
			if err == nil {
				_ = f.Stop(t.Logf)
				t.Fatalf("started on a taken port; output:\n%s", f.Out.String())
			}
			if !strings.Contains(err.Error(), "exited at start") {
				t.Errorf("err = %v, want the emulator to have exited", err)
			}
		})
	}
}
