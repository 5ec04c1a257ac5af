package dynamodb_test

// Read capacity per status poll, from ReturnConsumedCapacity as dynalite
// computes it (DynamoDB's rules: 0.5 RCU per 4 KB for an eventually
// consistent read, 1 for a strong one, and a miss costs the minimum), and the
// GetItem calls behind it. The test pins the figures; the benchmark reports
// them per poll for BENCHMARKS.md.

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/deepfoundai/jobs-api/internal/dynamodb"
	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/test/testenv"
)

// capMeter records the capacity each call reported and the consistency of
// each GetItem the store made.
type capMeter struct {
	dynamodb.API
	mu         sync.Mutex
	units      map[string]float64
	reads      []bool // ConsistentRead of each GetItem
	unreported int    // calls that returned no ConsumedCapacity
}

func (m *capMeter) GetItem(ctx context.Context, in *ddb.GetItemInput, opts ...func(*ddb.Options)) (*ddb.GetItemOutput, error) {
	out, err := m.API.GetItem(ctx, in, opts...)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reads = append(m.reads, in.ConsistentRead != nil && *in.ConsistentRead)
	if err == nil && out.ConsumedCapacity == nil {
		m.unreported++
	}
	return out, err
}

func (m *capMeter) record(op string, units float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.units[op] += units
}

func (m *capMeter) reset() (units map[string]float64, reads []bool, unreported int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	units, reads, unreported = m.units, m.reads, m.unreported
	m.units, m.reads, m.unreported = map[string]float64{}, nil, 0
	return units, reads, unreported
}

// awsItemSize is an item's size by DynamoDB's documented rules, which is
// what is billed: UTF-8 bytes of attribute names and strings; numbers about
// one byte per two significant digits plus one; maps and lists 3 bytes plus
// one per element. dynalite counts strings in UTF-16 code units, so its
// ConsumedCapacity under-reports items with non-ASCII text.
func awsItemSize(item map[string]types.AttributeValue) int {
	n := 0
	for k, v := range item {
		n += len(k) + awsValueSize(v)
	}
	return n
}

func awsValueSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberB:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		digits := strings.Trim(strings.Map(func(r rune) rune {
			if r == '-' || r == '.' {
				return -1
			}
			return r
		}, v.Value), "0")
		return (len(digits)+1)/2 + 1
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberM:
		n := 3
		for k, e := range v.Value {
			n += 1 + len(k) + awsValueSize(e)
		}
		return n
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range v.Value {
			n += 1 + awsValueSize(e)
		}
		return n
	}
	return 0
}

// awsRCU is the read capacity of an eventually consistent GetItem of an item
// of the given size: 0.5 per started 4 KB.
func awsRCU(size int) float64 { return 0.5 * float64((size+4095)/4096) }

// capRawItem reads the stored item, for sizing it.
func capRawItem(t testing.TB, m *capMeter, table, id string) map[string]types.AttributeValue {
	t.Helper()
	out, err := m.API.GetItem(context.Background(), &ddb.GetItemInput{TableName: &table, Key: map[string]types.AttributeValue{"jobId": &types.AttributeValueMemberS{Value: id}}})
	if err != nil || out.Item == nil {
		t.Fatalf("get %s: %v", id, err)
	}
	return out.Item
}

func newCapStore(t testing.TB) (*dynamodb.Store, *capMeter, string) {
	t.Helper()
	client, table := testenv.NewTable(t)
	m := &capMeter{API: client, units: map[string]float64{}}
	s := dynamodb.New(m, table)
	s.OnCapacity = m.record
	return s, m, table
}

// capJob is a submitted job as the service writes it, with the given prompt.
func capJob(prompt string) jobs.Job {
	now := time.Date(2025, 6, 23, 12, 0, 0, 0, time.UTC)
	spec := jobs.Spec{Prompt: prompt, DurationSeconds: 5, AspectRatio: "16:9", Resolution: "720p"}
	return jobs.Job{ID: jobs.NewID(), OwnerID: "0f3c2a1e-5b7d-4c1a-9e2f-3a4b5c6d7e8f", Status: jobs.Queued, Spec: spec, SpecHash: spec.Hash(),
		IdempotencyKey: "3c9d7f0e-idempotency-key", CreatedAt: now, UpdatedAt: now, Version: 1}
}

// capCompleted is j after the pipeline finished it: its largest form.
func capCompleted(j jobs.Job) jobs.Job {
	j.Status, j.Progress, j.Version = jobs.Completed, 100, 2
	j.OutputURL = "https://cdn.deepfoundai.com/outputs/" + j.ID + "/video-1080p.mp4?X-Amz-Signature=" + strings.Repeat("0", 64)
	j.StartedAt, j.CompletedAt, j.ExpiresAt = j.CreatedAt.Add(time.Second), j.CreatedAt.Add(time.Minute), j.CreatedAt.Add(30*24*time.Hour)
	return j
}

func TestReadCapacityPerPoll(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, m, table := newCapStore(t)
	typical := capJob("a cat surfing a wave at sunset")
	maxASCII := capJob(strings.Repeat("a", jobs.MaxPromptRunes))
	for _, j := range []jobs.Job{typical, maxASCII} {
		if err := s.Create(ctx, j); err != nil {
			t.Fatal(err)
		}
		if err := s.Update(ctx, capCompleted(j)); err != nil {
			t.Fatal(err)
		}
	}
	// dynalite's figures below hold on DynamoDB only if the items are
	// within 4 KB by DynamoDB's own (UTF-8) rules.
	for _, j := range []jobs.Job{typical, maxASCII} {
		if size := awsItemSize(capRawItem(t, m, table, j.ID)); size > 4096 {
			t.Errorf("job %s is %d bytes by DynamoDB's rules, want at most 4096", j.ID, size)
		}
	}
	_, _, _ = m.reset()

	tests := []struct {
		name      string
		poll      func() error
		wantReads []bool // ConsistentRead per GetItem
		wantRCU   float64
	}{
		{"hit", func() error { _, err := s.Get(ctx, typical.ID); return err }, []bool{false}, 0.5},
		{"hit, 2000-character ASCII prompt", func() error { _, err := s.Get(ctx, maxASCII.ID); return err }, []bool{false}, 0.5},
		{"miss: eventual, then strong", func() error {
			_, err := s.Get(ctx, "job_00000000000000000000000000")
			if jobs.ErrorCode(err) == jobs.ENOTFOUND {
				return nil
			}
			return fmt.Errorf("got %v, want not found", err)
		}, []bool{false, true}, 1.5},
		{"GetLatest (writers only)", func() error { _, err := s.GetLatest(ctx, typical.ID); return err }, []bool{true}, 1},
	}
	for _, tt := range tests {
		if err := tt.poll(); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		units, reads, unreported := m.reset()
		if unreported != 0 {
			t.Fatalf("%s: %d GetItem calls returned no ConsumedCapacity", tt.name, unreported)
		}
		if fmt.Sprint(reads) != fmt.Sprint(tt.wantReads) {
			t.Errorf("%s: GetItem ConsistentRead = %v, want %v", tt.name, reads, tt.wantReads)
		}
		if got := units["GetItem"]; got != tt.wantRCU {
			t.Errorf("%s: %.1f RCU, want %.1f", tt.name, got, tt.wantRCU)
		}
	}
}

// BenchmarkPoll reports read capacity and GetItem calls per status poll
// (Store.Get, as GetJobFn makes it), and write capacity per submit.
func BenchmarkPoll(b *testing.B) {
	ctx := context.Background()
	s, m, table := newCapStore(b)
	jobsByName := map[string]jobs.Job{
		"hit":                  capJob("a cat surfing a wave at sunset"),
		"hit-2000-ascii":       capJob(strings.Repeat("a", jobs.MaxPromptRunes)),
		"hit-2000-4-byte-rune": capJob(strings.Repeat("😀", jobs.MaxPromptRunes)),
	}
	for _, j := range jobsByName {
		if err := s.Create(ctx, j); err != nil {
			b.Fatal(err)
		}
		if err := s.Update(ctx, capCompleted(j)); err != nil {
			b.Fatal(err)
		}
	}
	for _, name := range []string{"hit", "hit-2000-ascii", "hit-2000-4-byte-rune", "miss"} {
		id := "job_00000000000000000000000000"
		if j, ok := jobsByName[name]; ok {
			id = j.ID
		}
		b.Run(name, func(b *testing.B) {
			_, _, _ = m.reset()
			for b.Loop() {
				if _, err := s.Get(ctx, id); err != nil && name != "miss" {
					b.Fatal(err)
				}
			}
			units, reads, _ := m.reset()
			b.ReportMetric(units["GetItem"]/float64(b.N), "RCU/poll")
			b.ReportMetric(float64(len(reads))/float64(b.N), "GetItem/poll")
			if name != "miss" {
				size := awsItemSize(capRawItem(b, m, table, id))
				b.ReportMetric(float64(size), "item-bytes(aws)")
				b.ReportMetric(awsRCU(size), "RCU/poll(aws)")
			}
		})
	}
	for _, prompt := range []string{"a cat surfing a wave at sunset", strings.Repeat("a", jobs.MaxPromptRunes), strings.Repeat("😀", jobs.MaxPromptRunes)} {
		b.Run(fmt.Sprintf("submit-write-%dB-prompt", len(prompt)), func(b *testing.B) {
			_, _, _ = m.reset()
			for b.Loop() {
				if err := s.Create(ctx, capJob(prompt)); err != nil {
					b.Fatal(err)
				}
			}
			units, _, _ := m.reset()
			b.ReportMetric(units["PutItem"]/float64(b.N), "WCU/submit")
			j := capJob(prompt)
			if err := s.Create(ctx, j); err != nil {
				b.Fatal(err)
			}
			size := awsItemSize(capRawItem(b, m, table, j.ID))
			b.ReportMetric(float64(size), "item-bytes(aws)")
			b.ReportMetric(float64((size+1023)/1024), "WCU/submit(aws,table)")
		})
	}
}
