package loopback_test

import (
	"testing"

	"github.com/deepfoundai/jobs-api/dev/loopback"
)

func TestHost(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]bool{
		"localhost": true, "LocalHost": true, "127.0.0.1": true, "127.9.8.7": true, "::1": true, "[::1]": true,
		"": false, "0.0.0.0": false, "::": false, "10.0.0.1": false, "localhost.example.com": false,
		"127.0.0.1.nip.io": false, "example.com": false, "::ffff:10.0.0.1": false,
	} {
		if got := loopback.Host(host); got != want {
			t.Errorf("Host(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestListen(t *testing.T) {
	t.Parallel()
	ln, err := loopback.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_ = ln.Close()
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "192.0.2.1:0", "no-port"} {
		if ln, err := loopback.Listen(addr); err == nil {
			_ = ln.Close()
			t.Errorf("Listen(%q) accepted a non-loopback address", addr)
		}
	}
}
