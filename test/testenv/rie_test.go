package testenv

import (
	"net"
	"os"
	"runtime"
	"testing"
)

func TestListening(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Listening reads /proc, which is Linux's")
	}
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if !Listening(os.Getpid(), port) {
		t.Errorf("Listening(self, %d) = false with a listener open", port)
	}
	if Listening(os.Getppid(), port) {
		t.Errorf("Listening(parent, %d) = true for this process's listener", port)
	}
	l.Close()
	if Listening(os.Getpid(), port) {
		t.Errorf("Listening(self, %d) = true after the listener closed", port)
	}
}
