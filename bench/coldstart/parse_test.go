package coldstart

import (
	"math"
	"reflect"
	"testing"
)

// The parsers are tested on real output of the pinned emulator and kernel.
const rieLog = `27 Nov 2026 03:34:12,483 [INFO] (rapid) INIT START(type: on-demand, phase: init)
27 Nov 2026 03:34:12,489 [INFO] (rapid) INIT RTDONE(status: success)
27 Nov 2026 03:34:12,489 [INFO] (rapid) INIT REPORT(durationMs: 6.048000)
27 Nov 2026 03:34:12,489 [INFO] (rapid) INVOKE START(requestId: 34b28307-7aad-4172-bff4-c167603821fd)
27 Nov 2026 03:34:12,491 [INFO] (rapid) INVOKE RTDONE(status: success, produced bytes: 0, duration: 1.961000ms)
END RequestId: 34b28307-7aad-4172-bff4-c167603821fd
27 Nov 2026 03:34:12,505 [INFO] (rapid) INVOKE RTDONE(status: success, produced bytes: 0, duration: 0.952000ms)
`

func TestParseColdStart(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		log     string
		want    coldTimes
		wantOK  bool
		wantErr bool
	}{
		{name: "init and two invokes: the first counts", log: rieLog, want: coldTimes{init: 6.048, invoke: 1.961}, wantOK: true},
		{name: "managed-instances format", log: "INIT REPORT(initType: on-demand, durationMs: 12.50, status: success, phase: init, errorType: )\n" +
			"INVOKE RTDONE(status: success, producedBytes: 10, durationMs: 3.25, spans: 0, errorType: )\n", want: coldTimes{init: 12.5, invoke: 3.25}, wantOK: true},
		{name: "no invoke yet", log: "INIT REPORT(durationMs: 6.048000)\n"},
		{name: "no init report", log: "INVOKE RTDONE(status: success, produced bytes: 0, duration: 1.961000ms)\n"},
		{name: "nothing", log: ""},
		{name: "failed invoke", log: "INIT REPORT(durationMs: 6.0)\nINVOKE RTDONE(status: failure, produced bytes: 0, duration: 1.0ms)\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok, err := parseColdStart(tt.log)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseColdStart() error = %v, want error %v", err, tt.wantErr)
			}
			if ok != tt.wantOK || (ok && got != tt.want) {
				t.Errorf("parseColdStart() = %+v, %v; want %+v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestParseStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		status  string
		want    memory
		wantErr bool
	}{
		{name: "linux status", status: "Name:\tbootstrap\nVmPeak:\t 1240000 kB\nVmHWM:\t   13004 kB\nVmRSS:\t   12996 kB\nThreads:\t5\n", want: memory{rssKiB: 12996, hwmKiB: 13004}},
		{name: "no VmHWM", status: "VmRSS:\t 12996 kB\n", wantErr: true},
		{name: "kernel thread", status: "Name:\tkthreadd\nThreads:\t1\n", wantErr: true},
		{name: "odd unit", status: "VmHWM:\t 13 MB\nVmRSS:\t 12 MB\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseStatus(tt.status)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseStatus() error = %v, want error %v", err, tt.wantErr)
			}
			if err == nil && got != tt.want {
				t.Errorf("parseStatus() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseInittrace(t *testing.T) {
	t.Parallel()
	log := "init runtime @0.21 ms, 0.17 ms clock, 0 bytes, 0 allocs\n" +
		"27 Nov 2026 03:34:12,483 [INFO] (rapid) INIT START(type: on-demand, phase: init)\n" +
		"init github.com/aws/aws-sdk-go-v2/service/dynamodb/schemas @2.3 ms, 0.83 ms clock, 586696 bytes, 3151 allocs\n" +
		"init gopkg.in/yaml%2ev3 @3.2 ms, 0.20 ms clock, 25720 bytes, 276 allocs\n"
	got := parseInittrace(log)
	want := []pkgInit{
		{pkg: "github.com/aws/aws-sdk-go-v2/service/dynamodb/schemas", ms: 0.83, bytes: 586696, allocs: 3151},
		{pkg: "gopkg.in/yaml%2ev3", ms: 0.2, bytes: 25720, allocs: 276},
		{pkg: "runtime", ms: 0.17},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseInittrace() = %+v, want %+v", got, want)
	}
}

func TestPercentiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		xs         []float64
		wantMedian float64
		wantP90    float64
	}{
		{name: "one", xs: []float64{3}, wantMedian: 3, wantP90: 3},
		{name: "odd, unsorted", xs: []float64{5, 1, 3}, wantMedian: 3, wantP90: 5},
		{name: "even", xs: []float64{4, 1, 3, 2}, wantMedian: 2.5, wantP90: 4},
		{name: "ten: p90 is the ninth", xs: []float64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, wantMedian: 5.5, wantP90: 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := median(tt.xs); got != tt.wantMedian {
				t.Errorf("median(%v) = %v, want %v", tt.xs, got, tt.wantMedian)
			}
			if got := percentile(tt.xs, 90); got != tt.wantP90 {
				t.Errorf("percentile(%v, 90) = %v, want %v", tt.xs, got, tt.wantP90)
			}
		})
	}
	if got := median(nil); !math.IsNaN(got) {
		t.Errorf("median(nil) = %v, want NaN", got)
	}
}

func TestBootstrapMedian(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		xs     []float64
		lo, hi float64 // bounds the interval must lie within
	}{
		{name: "constant", xs: []float64{2, 2, 2, 2}, lo: 2, hi: 2},
		{name: "spread", xs: []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, lo: 1, hi: 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			lo, hi := bootstrapMedian(tt.xs)
			if lo > hi || lo < tt.lo || hi > tt.hi {
				t.Errorf("bootstrapMedian(%v) = [%v, %v], want an interval within [%v, %v]", tt.xs, lo, hi, tt.lo, tt.hi)
			}
			m := median(tt.xs)
			if m < lo || m > hi {
				t.Errorf("bootstrapMedian(%v) = [%v, %v], want it to hold the median %v", tt.xs, lo, hi, m)
			}
		})
	}
}
