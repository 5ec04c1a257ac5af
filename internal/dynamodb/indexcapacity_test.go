package dynamodb_test

// The index capacity model. It replays a job's life through the real
// functions' code (jobs.Service over this store, on dynalite): a submit, ten
// PROCESSING reports and COMPLETED, recording each write's item before
// (PutItem's ReturnValues ALL_OLD, from the engine) and after. It then
// applies DynamoDB's documented rules for global secondary index writes to
// every index of template.yaml's table:
//
//   - an item that gains the index key: one put into the index;
//   - a change of the index key's value: a delete plus a put;
//   - an item that loses the index key: one delete;
//   - a change of a projected attribute only: one write;
//   - a change of attributes the index does not project: no index write;
//
// each write costing 1 WCU per started KB of the index entry (DynamoDB's
// item size rules, awsItemSize), and table writes the larger of the old and
// new item. To see one second at the goal rate, it re-encodes the replayed
// states for 5,000 jobs with fresh IDs (the store's own encoder) and
// reports, per index, the write units per job, the hottest key's share, and
// the job rate at which that key reaches one partition's 1,000 WCU/s. The
// same is done for one user's 100 jobs. The test fails below the goal, and
// proves it can: the bare-status design (oldGSIs) must miss it.

import (
	"context"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/deepfoundai/jobs-api/internal/dynamodb"
	"github.com/deepfoundai/jobs-api/internal/inmem"
	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/test/testenv"
)

// The goal the indexes are held to.
const (
	goalPlatformJobsPerSec = 5000
	goalOwnerJobsPerSec    = 100
	goalIndexWCUPerJob     = 9
	partitionWCUPerSec     = 1000 // one partition key value's write limit
	progressReports        = 10
)

// gsiDef is what the model needs of a global secondary index.
type gsiDef struct {
	name, hash, rng string
	projection      types.ProjectionType
	include         []string
}

// oldGSIs is the bare-status design: status and owner keys, projecting
// every attribute. Kept to show that the model fails it.
var oldGSIs = []gsiDef{
	{name: "byStatus", hash: "status", rng: "createdAt", projection: types.ProjectionTypeAll},
	{name: "byOwner", hash: "ownerId", rng: "createdAt", projection: types.ProjectionTypeAll},
}

// templateGSIs are the indexes of template.yaml's JobsTable.
func templateGSIs(t testing.TB) []gsiDef {
	t.Helper()
	in, err := testenv.JobsTableInput("Jobs-model")
	if err != nil {
		t.Fatal(err)
	}
	var out []gsiDef
	for _, g := range in.GlobalSecondaryIndexes {
		d := gsiDef{name: aws.ToString(g.IndexName), projection: g.Projection.ProjectionType, include: g.Projection.NonKeyAttributes}
		for _, k := range g.KeySchema {
			if k.KeyType == types.KeyTypeHash {
				d.hash = aws.ToString(k.AttributeName)
			} else {
				d.rng = aws.ToString(k.AttributeName)
			}
		}
		out = append(out, d)
	}
	return out
}

// entry is item's entry in the index: nil when the item lacks a key
// attribute (a sparse index leaves it out).
func (g gsiDef) entry(item map[string]types.AttributeValue) map[string]types.AttributeValue {
	if item == nil || item[g.hash] == nil || (g.rng != "" && item[g.rng] == nil) {
		return nil
	}
	if g.projection == types.ProjectionTypeAll {
		return item
	}
	keep := []string{dynamodb.AttrJobID, g.hash, g.rng}
	if g.projection == types.ProjectionTypeInclude {
		keep = append(keep, g.include...)
	}
	e := map[string]types.AttributeValue{}
	for _, a := range keep {
		if v, ok := item[a]; ok && a != "" {
			e[a] = v
		}
	}
	return e
}

// keyWrite is one index write: the partition key value written and its
// write units.
type keyWrite struct {
	key string
	wcu int
}

func wcuOf(size int) int { return max(1, (size+1023)/1024) }

// writes applies DynamoDB's index write rules to one table write.
func (g gsiDef) writes(before, after map[string]types.AttributeValue) []keyWrite {
	b, a := g.entry(before), g.entry(after)
	key := func(e map[string]types.AttributeValue) string {
		if v, ok := e[g.hash].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return fmt.Sprint(e[g.hash])
	}
	put := func(e map[string]types.AttributeValue) keyWrite { return keyWrite{key(e), wcuOf(awsItemSize(e))} }
	switch {
	case b == nil && a == nil:
		return nil
	case b == nil:
		return []keyWrite{put(a)}
	case a == nil:
		return []keyWrite{put(b)}
	case !avEqual(b[g.hash], a[g.hash]) || (g.rng != "" && !avEqual(b[g.rng], a[g.rng])):
		return []keyWrite{put(b), put(a)}
	case avMapEqual(b, a):
		return nil
	}
	return []keyWrite{{key(a), wcuOf(max(awsItemSize(a), awsItemSize(b)))}}
}

func avEqual(a, b types.AttributeValue) bool { return reflect.DeepEqual(a, b) }

func avMapEqual(a, b map[string]types.AttributeValue) bool {
	return maps.EqualFunc(a, b, avEqual)
}

// imaging records each PutItem's item before (from the engine) and after,
// and the capacity the engine reports with INDEXES.
type imaging struct {
	dynamodb.API
	mu       sync.Mutex
	writes   []tableWrite
	tableWCU float64
	gsiWCU   map[string]float64
}

type tableWrite struct {
	before, after map[string]types.AttributeValue
}

func (m *imaging) PutItem(ctx context.Context, in *ddb.PutItemInput, opts ...func(*ddb.Options)) (*ddb.PutItemOutput, error) {
	cp := *in
	cp.ReturnValues = types.ReturnValueAllOld
	cp.ReturnConsumedCapacity = types.ReturnConsumedCapacityIndexes
	out, err := m.API.PutItem(ctx, &cp, opts...)
	if err == nil {
		m.mu.Lock()
		m.writes = append(m.writes, tableWrite{before: out.Attributes, after: in.Item})
		if cc := out.ConsumedCapacity; cc != nil {
			if cc.Table != nil && cc.Table.CapacityUnits != nil {
				m.tableWCU += *cc.Table.CapacityUnits
			} else if cc.CapacityUnits != nil {
				m.tableWCU += *cc.CapacityUnits
			}
			for name, c := range cc.GlobalSecondaryIndexes {
				m.gsiWCU[name] += aws.ToFloat64(c.CapacityUnits)
			}
		}
		m.mu.Unlock()
	}
	return out, err
}

// replay runs n jobs' lives through jobs.Service on the store over dynalite
// and returns each job's writes in order, with what the engine reported.
func replay(t testing.TB, n int) (lives [][]tableWrite, engineTableWCU float64, engineGSIWCU map[string]float64) {
	t.Helper()
	ctx := context.Background()
	client, table := testenv.NewTable(t)
	m := &imaging{API: client, gsiWCU: map[string]float64{}}
	clock := time.Date(2025, 6, 23, 12, 0, 0, 0, time.UTC)
	svc := &jobs.Service{Store: dynamodb.New(m, table), Pipeline: &inmem.Pipeline{}, Now: func() time.Time {
		clock = clock.Add(1500 * time.Millisecond) // reports arrive seconds apart
		return clock
	}}
	user := jobs.Caller{Subject: "0f3c2a1e-5b7d-4c1a-9e2f-3a4b5c6d7e8f"}
	for range n {
		from := len(m.writes)
		res, err := svc.Submit(ctx, user, jobs.Spec{Prompt: "a cat surfing a wave at sunset, golden light, 35mm film"}, "")
		if err != nil {
			t.Fatal(err)
		}
		id := res.Job.ID
		for i := range progressReports {
			p := i * 10
			if _, out, err := svc.Advance(ctx, jobs.Event{JobID: id, Status: jobs.Processing, Progress: &p}); err != nil || out != jobs.Applied {
				t.Fatalf("PROCESSING report %d: %v, %v", i, out, err)
			}
		}
		done := jobs.Event{JobID: id, Status: jobs.Completed,
			OutputURL: "https://cdn.deepfoundai.com/outputs/" + id + "/video-1080p.mp4?X-Amz-Signature=" + strings.Repeat("0", 64)}
		if _, out, err := svc.Advance(ctx, done); err != nil || out != jobs.Applied {
			t.Fatalf("COMPLETED: %v, %v", out, err)
		}
		lives = append(lives, slices.Clone(m.writes[from:]))
	}
	if got, want := len(lives[0]), 2+progressReports; got != want {
		t.Fatalf("a job's life made %d writes, want %d (every report applied)", got, want)
	}
	return lives, m.tableWCU, m.gsiWCU
}

// indexFigures are the model's results for one index in one scenario.
type indexFigures struct {
	name         string
	wcuPerJob    float64
	hottestKey   string
	hottestShare float64 // of the index's writes
	saturation   float64 // jobs/s at which the hottest key takes 1,000 WCU/s
}

// population is the replayed life re-encoded for n jobs with fresh IDs,
// each owned by owner(i): the writes one second at n jobs/s makes.
func population(t testing.TB, life []tableWrite, n int, owner func(i int) string) [][]tableWrite {
	t.Helper()
	states := make([]jobs.Job, len(life))
	for i, w := range life {
		j, err := dynamodb.Decode(w.after)
		if err != nil {
			t.Fatal(err)
		}
		states[i] = j
	}
	out := make([][]tableWrite, n)
	for i := range n {
		id, o := jobs.NewID(), owner(i)
		var prev map[string]types.AttributeValue
		for _, st := range states {
			st.ID, st.OwnerID = id, o
			av, err := dynamodb.Encode(st)
			if err != nil {
				t.Fatal(err)
			}
			out[i] = append(out[i], tableWrite{before: prev, after: av})
			prev = av
		}
	}
	return out
}

// model applies the index rules to the writes of n jobs' lives.
func model(gsis []gsiDef, lives [][]tableWrite) (figs []indexFigures, tableWCUPerJob float64) {
	n := float64(len(lives))
	table := 0
	for _, life := range lives {
		for _, w := range life {
			table += wcuOf(max(awsItemSize(w.before), awsItemSize(w.after)))
		}
	}
	for _, g := range gsis {
		perKey := map[string]int{}
		total := 0
		for _, life := range lives {
			for _, w := range life {
				for _, kw := range g.writes(w.before, w.after) {
					perKey[kw.key] += kw.wcu
					total += kw.wcu
				}
			}
		}
		f := indexFigures{name: g.name, wcuPerJob: float64(total) / n, saturation: math.Inf(1)}
		for _, k := range slices.Sorted(maps.Keys(perKey)) {
			if perKey[k] > perKey[f.hottestKey] || f.hottestKey == "" {
				f.hottestKey = k
			}
		}
		if total > 0 {
			f.hottestShare = float64(perKey[f.hottestKey]) / float64(total)
			f.saturation = partitionWCUPerSec / (float64(perKey[f.hottestKey]) / n)
		}
		figs = append(figs, f)
	}
	return figs, float64(table) / n
}

// evaluation is the model's verdict on one index design.
type evaluation struct {
	platform, owner []indexFigures
	indexWCUPerJob  float64
	tableWCUPerJob  float64
	pollRCU         float64
	misses          []string
}

func evaluate(gsis []gsiDef, life []tableWrite, platform, owner [][]tableWrite) evaluation {
	var e evaluation
	e.platform, e.tableWCUPerJob = model(gsis, platform)
	e.owner, _ = model(gsis, owner)
	e.pollRCU = awsRCU(awsItemSize(life[len(life)-1].after))
	for _, f := range e.platform {
		e.indexWCUPerJob += f.wcuPerJob
		if f.saturation < goalPlatformJobsPerSec {
			e.misses = append(e.misses, fmt.Sprintf("%s: key %s saturates at %.0f jobs/s, want >= %d", f.name, f.hottestKey, f.saturation, goalPlatformJobsPerSec))
		}
	}
	for _, f := range e.owner {
		if f.saturation < goalOwnerJobsPerSec {
			e.misses = append(e.misses, fmt.Sprintf("%s: one user's jobs saturate key %s at %.0f jobs/s, want >= %d", f.name, f.hottestKey, f.saturation, goalOwnerJobsPerSec))
		}
	}
	if e.indexWCUPerJob > goalIndexWCUPerJob {
		e.misses = append(e.misses, fmt.Sprintf("index writes %.1f WCU/job, want <= %d", e.indexWCUPerJob, goalIndexWCUPerJob))
	}
	if e.pollRCU != 0.5 {
		e.misses = append(e.misses, fmt.Sprintf("a status poll costs %.1f RCU, want 0.5", e.pollRCU))
	}
	return e
}

func (e evaluation) table(design string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: table %.1f WCU/job, indexes %.1f WCU/job, poll %.1f RCU\n", design, e.tableWCUPerJob, e.indexWCUPerJob, e.pollRCU)
	fmt.Fprintf(&b, "| index | scenario | WCU/job | hottest key | its share | saturates at (jobs/s) |\n|---|---|---|---|---|---|\n")
	for _, sc := range []struct {
		name string
		figs []indexFigures
	}{{fmt.Sprintf("platform, %d jobs/s", goalPlatformJobsPerSec), e.platform}, {fmt.Sprintf("one user, %d jobs/s", goalOwnerJobsPerSec), e.owner}} {
		for _, f := range sc.figs {
			fmt.Fprintf(&b, "| %s | %s | %.1f | %s | %.1f%% | %.0f |\n", f.name, sc.name, f.wcuPerJob, f.hottestKey, 100*f.hottestShare, f.saturation)
		}
	}
	return b.String()
}

// scenarios replays jobs and builds one second's population at each goal.
func scenarios(t testing.TB) (life []tableWrite, platform, owner [][]tableWrite, engineTable float64, engineGSI map[string]float64) {
	t.Helper()
	const replayed = 3
	lives, engineTable, engineGSI := replay(t, replayed)
	life = lives[0]
	platform = population(t, life, goalPlatformJobsPerSec, func(i int) string { return fmt.Sprintf("user-%05d", i) })
	owner = population(t, life, goalOwnerJobsPerSec, func(int) string { return "batch-service-user" })
	return life, platform, owner, engineTable / replayed, engineGSI
}

func TestIndexCapacityModel(t *testing.T) {
	t.Parallel()
	life, platform, owner, engineTable, engineGSI := scenarios(t)

	// The model re-encodes jobs; it must size what the store really wrote.
	for i, w := range life {
		j, err := dynamodb.Decode(w.after)
		if err != nil {
			t.Fatal(err)
		}
		re, _ := dynamodb.Encode(j)
		if !avMapEqual(re, w.after) {
			t.Fatalf("write %d: re-encoded item differs from the stored one", i)
		}
		if i > 0 && !avMapEqual(life[i-1].after, w.before) {
			t.Fatalf("write %d: the engine's old item is not the previous write", i)
		}
	}
	// Progress reports change no attribute an index may hold.
	for i := 2; i < len(life)-1; i++ {
		for _, a := range dynamodb.IndexableAttrs {
			if !avEqual(life[i].before[a], life[i].after[a]) {
				t.Errorf("progress report %d changed %s, which indexes may key on or project", i-1, a)
			}
		}
	}

	now := evaluate(templateGSIs(t), life, platform, owner)
	old := evaluate(oldGSIs, life, platform, owner)
	t.Logf("\n%s\n%s", now.table("template.yaml"), old.table("bare status, projection ALL"))
	t.Logf("dynalite reported %.1f table WCU/job (the model: %.1f); index units reported: %v", engineTable, now.tableWCUPerJob, engineGSI)
	for _, m := range now.misses {
		t.Errorf("template.yaml misses the goal: %s", m)
	}
	if len(old.misses) == 0 {
		t.Errorf("the bare-status design meets the goal by this model; the model cannot fail")
	}
}

// BenchmarkIndexCapacity reports the model's figures for template.yaml's
// indexes (and replays a job's life through the store each iteration).
func BenchmarkIndexCapacity(b *testing.B) {
	var e evaluation
	for b.Loop() {
		life, platform, owner, _, _ := scenarios(b)
		e = evaluate(templateGSIs(b), life, platform, owner)
	}
	b.ReportMetric(e.indexWCUPerJob, "index-WCU/job")
	b.ReportMetric(e.tableWCUPerJob, "table-WCU/job")
	for _, f := range e.platform {
		b.ReportMetric(f.saturation, f.name+"-saturates-jobs/s")
	}
	for _, f := range e.owner {
		b.ReportMetric(f.saturation, f.name+"-one-user-saturates-jobs/s")
	}
}
