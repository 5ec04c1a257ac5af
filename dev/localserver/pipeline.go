package localserver

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/deepfoundai/jobs-api/deploy/samtemplate"
	"github.com/deepfoundai/jobs-api/dev/localsqs"
	"github.com/deepfoundai/jobs-api/dev/worker"
	"github.com/deepfoundai/jobs-api/internal/config"
	"github.com/deepfoundai/jobs-api/internal/invoke"
	"github.com/deepfoundai/jobs-api/internal/lambdamain"
	"github.com/deepfoundai/jobs-api/internal/sqs"
	pub "github.com/deepfoundai/jobs-api/worker"
)

// Queues are the local queues' URLs, for the banner and for workers.
type Queues struct {
	Endpoint      string // AWS_ENDPOINT_URL_SQS and AWS_ENDPOINT_URL_LAMBDA
	Pipeline      string // the hand-offs (PipelineQueueName)
	StatusEvents  string // the workers' reports
	DeadLetter    string // status events that could not be applied
	CheckFunction string // the worker check's name
}

// statusQueue is what the template says of the status-events queue and
// UpdateJobFn's mapping from it.
type statusQueue struct {
	name, dlq       string
	visibility      time.Duration
	maxReceiveCount int
	batchSize       int
	timeout         time.Duration
}

// readStatusQueue resolves the status-events queue's settings from the
// template, so the local queue behaves as the deployed one.
func readStatusQueue(tpl *samtemplate.Template, r *samtemplate.Resolver) (statusQueue, error) {
	p := templateProps{tpl: tpl, r: r}
	q := statusQueue{
		name: p.str("StatusEventsQueue", "QueueName"), dlq: p.str("StatusEventsDLQ", "QueueName"),
		visibility: time.Duration(p.int("StatusEventsQueue", "VisibilityTimeout")) * time.Second,
		batchSize:  p.int("UpdateJobFnStatusEvents", "BatchSize"),
	}
	if p.err != nil {
		return q, p.err
	}
	redrive, _ := tpl.Resources["StatusEventsQueue"].Properties["RedrivePolicy"].(map[string]any)
	n, _ := redrive["maxReceiveCount"].(float64)
	q.maxReceiveCount = int(n)
	props, err := samtemplate.FunctionProperties(tpl, "UpdateJobFn")
	secs, _ := props["Timeout"].(float64)
	q.timeout = time.Duration(secs) * time.Second
	return q, err
}

// templateProps reads resolved properties of the template's resources,
// keeping the first error.
type templateProps struct {
	tpl *samtemplate.Template
	r   *samtemplate.Resolver
	err error
}

func (p *templateProps) str(id, prop string) string {
	res, ok := p.tpl.Resources[id]
	if p.err != nil || !ok {
		p.err = cmp.Or(p.err, fmt.Errorf("template: no %s", id))
		return ""
	}
	s, err := p.r.String(res.Properties[prop])
	if err != nil {
		p.err = fmt.Errorf("template: %s %s: %w", id, prop, err)
	}
	return s
}

func (p *templateProps) int(id, prop string) int {
	s := p.str(id, prop)
	n, err := strconv.Atoi(s)
	if p.err == nil && err != nil {
		p.err = fmt.Errorf("template: %s %s: %w", id, prop, err)
	}
	return n
}

// pipeline is the local video-pipeline side: the SQS and Lambda endpoints,
// UpdateJobFn's event source mapping, the sweeper's schedule and, when
// asked, the simulated worker.
type pipeline struct {
	server *localsqs.Server
	queues Queues
	sqs    *awssqs.Client
	stop   context.CancelFunc
	done   sync.WaitGroup
}

// startPipeline serves the queues on ln and starts the consumers:
// UpdateJobFn's and SweepJobsFn's handlers, built from their Env as their
// mains build them, and the worker.
func startPipeline(ctx context.Context, s *Server, envs map[string]lambdamain.Env, tpl *samtemplate.Template, r *samtemplate.Resolver, ln net.Listener, o Options, log *slog.Logger) (*pipeline, error) {
	sq, err := readStatusQueue(tpl, r)
	if err != nil {
		return nil, fmt.Errorf("status-events queue: %w", err)
	}
	pipelineQueue, _ := r.Parameter("PipelineQueueName")
	p := &pipeline{}
	p.server = localsqs.New([]localsqs.QueueConfig{
		{Name: pipelineQueue},
		{Name: sq.name, VisibilityTimeout: sq.visibility, DeadLetter: sq.dlq, MaxReceiveCount: sq.maxReceiveCount},
		{Name: sq.dlq},
	}, invokedFunctions(envs))
	p.server.Log = log
	p.server.OnSend = o.OnQueueSend
	p.server.URL = "http://" + ln.Addr().String()
	p.queues = Queues{
		Endpoint: p.server.URL, Pipeline: p.server.QueueURL(pipelineQueue), StatusEvents: p.server.QueueURL(sq.name),
		DeadLetter: p.server.QueueURL(sq.dlq), CheckFunction: "WorkerCheckFn",
	}
	aws := envs[config.SubmitJobFn].Config.AWS
	p.sqs = sqs.NewClient(aws, p.server.URL)

	wctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	p.stop = stop
	update := envs[config.UpdateJobFn]
	consumer := sqs.NewConsumer(update.Service(), update.Log)
	p.done.Go(func() { p.server.EventSource(wctx, sq.name, sq.batchSize, sq.timeout, consumer.Handle) })

	sw := envs[config.SweepJobsFn]
	sweep := &invoke.SweepHandler{Service: sw.Service(), Log: sw.Log, Namespace: sw.Config.MetricsNamespace}
	every := o.SweepEvery
	if every <= 0 {
		every = time.Minute
	}
	p.done.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-wctx.Done():
				return
			case <-t.C:
				sctx, cancel := context.WithTimeout(wctx, 25*time.Second)
				_, _ = sweep.Handle(sctx, nil)
				cancel()
			}
		}
	})

	if o.Worker {
		w := &worker.Worker{
			Queue: p.sqs, QueueURL: p.queues.Pipeline,
			Client: &pub.Client{
				SQS: p.sqs, StatusQueueURL: p.queues.StatusEvents,
				Lambda:        awslambda.NewFromConfig(aws, func(o *awslambda.Options) { o.BaseEndpoint = &p.server.URL }),
				CheckFunction: p.queues.CheckFunction,
			},
			OutputURL: func(id string) string { return s.APIURL + "/local/outputs/" + id + ".mp4" },
			Steps:     o.Steps, QueueDelay: o.QueueDelay, StepDelay: o.StepDelay, FailureRate: o.FailureRate,
			Concurrency: 64, Rand: o.Rand, Log: log,
		}
		p.done.Go(func() { w.Run(wctx) })
	}
	return p, nil
}

// close stops the consumers and waits for them until ctx ends.
func (p *pipeline) close(ctx context.Context) error {
	p.stop()
	done := make(chan struct{})
	go func() { p.done.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("the local pipeline did not stop in time")
	}
}
