// Package localserver is the local Jobs API that `make run`
// (dev/jobsapi-local) serves: the API Gateway REST API emulated from
// template.yaml with the functions' handlers in-process, a dev Cognito user
// pool, DynamoDB (an embedded engine or another endpoint), the pipeline's
// queues and worker check on local SQS and Lambda endpoints, the sweeper,
// the simulated video pipeline and the dashboard. Tests and bench/ start it in-process.
package localserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/deepfoundai/jobs-api/deploy/samtemplate"
	"github.com/deepfoundai/jobs-api/dev/devauth"
	"github.com/deepfoundai/jobs-api/dev/embeddeddb"
	"github.com/deepfoundai/jobs-api/dev/localapi"
	"github.com/deepfoundai/jobs-api/dev/localevents"
	"github.com/deepfoundai/jobs-api/dev/localsqs"
	"github.com/deepfoundai/jobs-api/dev/loopback"
	"github.com/deepfoundai/jobs-api/dev/web"
	"github.com/deepfoundai/jobs-api/internal/apigw"
	"github.com/deepfoundai/jobs-api/internal/config"
	"github.com/deepfoundai/jobs-api/internal/dynamodb"
	"github.com/deepfoundai/jobs-api/internal/jobs"
	"github.com/deepfoundai/jobs-api/internal/lambdamain"
)

// Options configure the local server (dev/jobsapi-local sets them from flags).
type Options struct {
	Addr          string // API listen address (loopback only)
	DashboardAddr string // dashboard listen address (loopback only; "" for none)
	Template      string // template.yaml
	Existing      string // stand-ins for the existing REST API's methods ("" for none)
	Params        string // local deployment parameters
	// AllowedOrigins overrides the AllowedOrigins parameter when set.
	AllowedOrigins string
	// DynamoDBEndpoint is another DynamoDB-compatible endpoint to use
	// instead of the embedded engine.
	DynamoDBEndpoint string
	Worker           bool
	// SQSAddr is where the local SQS and Lambda endpoints listen (loopback
	// only); SQSListener, when set, is used instead.
	SQSAddr     string
	SQSListener net.Listener
	// OnQueueSend, if set, sees every message sent to a local queue, with
	// the queue's name (tests hold them to the message contracts).
	OnQueueSend func(queue, body string)
	// SweepEvery is how often the sweeper runs (a minute if 0).
	SweepEvery  time.Duration
	Steps       int
	QueueDelay  time.Duration
	StepDelay   time.Duration
	FailureRate float64
	Log         *slog.Logger
	// Rand drives the worker's failures (tests make it deterministic).
	Rand func() float64

	// APIListener and DashboardListener, when set, are used instead of Addr
	// and DashboardAddr (tests open them first to know the origins).
	APIListener, DashboardListener net.Listener

	// EventsAddr is where the AppSync Events API emulation listens
	// (loopback only; 127.0.0.1:0 if empty); EventsListener, when set, is
	// used instead.
	EventsAddr     string
	EventsListener net.Listener
	// EventsKeepAlive is the time between "ka" messages (a minute if 0).
	EventsKeepAlive time.Duration
	// OnCommit, if set, sees every committed write of a job; OnEventData
	// every data message the Events API sends (benchmarks time between
	// them).
	OnCommit    func(jobID string, version int64, at time.Time)
	OnEventData func(channel string)
}

// ClientID is the dev user pool's app client id (the aud of its ID tokens).
const ClientID = "localdevclient"

// Server is a running local Jobs API.
type Server struct {
	APIURL       string
	DashboardURL string
	Issuer       string
	Table        string
	Dynamo       string // what backs the store, for the banner
	Pool         *devauth.Pool
	Gateway      *localapi.Gateway
	// Service is SubmitJobFn's service, for tests and examples that drive
	// the service directly.
	Service *jobs.Service
	Origins apigw.CORS
	// DynamoDB is the store's SDK client (benchmarks compare raw calls).
	DynamoDB *ddb.Client
	// Queues are the local SQS and Lambda endpoints a worker uses.
	Queues Queues
	// Events is the AppSync Events API emulation: EventsURL its publish
	// endpoint, RealtimeURL its WebSocket endpoint, EventsHost the host
	// clients name in their auth objects.
	Events                             *localevents.Server
	EventsURL, RealtimeURL, EventsHost string

	eventsListener net.Listener
	stopStream     context.CancelFunc
	streamDone     chan struct{}

	log       *slog.Logger
	servers   []*http.Server
	engine    *embeddeddb.Server
	pipeline  *pipeline
	serveErrs chan error
	closeOnce sync.Once
}

// Start builds everything, listens, and serves until Close. The listeners
// are loopback only.
func Start(ctx context.Context, o Options) (_ *Server, err error) {
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	s := &Server{log: log, serveErrs: make(chan error, 3)}
	var listeners []net.Listener
	defer func() {
		if err != nil {
			for _, l := range listeners {
				_ = l.Close()
			}
			if s.pipeline != nil {
				_ = s.pipeline.close(context.Background())
			}
			if s.stopStream != nil {
				s.stopStream()
			}
			if s.engine != nil {
				_ = s.engine.Close(context.Background())
			}
		}
	}()

	tpl, err := samtemplate.Load(o.Template)
	if err != nil {
		return nil, err
	}
	var existing *samtemplate.Template
	if o.Existing != "" {
		if existing, err = samtemplate.Load(o.Existing); err != nil {
			return nil, err
		}
	}
	params, err := localapi.LoadParams(o.Params)
	if err != nil {
		return nil, err
	}
	if params.Parameters == nil {
		params.Parameters = map[string]string{}
	}
	if o.AllowedOrigins != "" {
		params.Parameters["AllowedOrigins"] = o.AllowedOrigins
	}
	resolver, err := samtemplate.NewResolver(tpl, params.ResolveOptions())
	if err != nil {
		return nil, err
	}
	origins, _ := resolver.Parameter("AllowedOrigins")
	s.Origins = apigw.NewCORS(origins)

	apiLn, err := listen(o.APIListener, o.Addr)
	if err != nil {
		return nil, err
	}
	listeners = append(listeners, apiLn)
	s.APIURL = "http://" + apiLn.Addr().String()
	dashLn := o.DashboardListener
	if dashLn == nil && o.DashboardAddr != "" {
		if dashLn, err = loopback.Listen(o.DashboardAddr); err != nil {
			return nil, err
		}
	}
	if dashLn != nil {
		listeners = append(listeners, dashLn)
		s.DashboardURL = "http://" + dashLn.Addr().String()
		if !s.Origins.Allowed(s.DashboardURL) {
			log.Warn("the dashboard's origin is not in AllowedOrigins: its API calls will be blocked by CORS", "origin", s.DashboardURL, "allowed", origins)
		}
	}

	evLn, err := listen(o.EventsListener, o.EventsAddr)
	if err != nil {
		return nil, err
	}
	listeners = append(listeners, evLn)
	s.eventsListener = evLn

	// Dev Cognito: one pool per user pool ARN the template's parameters name.
	poolARN, _ := resolver.Parameter("CognitoUserPoolArn")
	poolID := poolARN[strings.LastIndex(poolARN, "/")+1:]
	s.Issuer = s.APIURL + "/" + poolID
	if s.Pool, err = devauth.NewPool(devauth.PoolConfig{Issuer: s.Issuer, ClientID: ClientID}); err != nil {
		return nil, err
	}
	verifier := devauth.NewVerifier(nil)
	if err := verifier.TrustPool(poolARN, s.Pool); err != nil {
		return nil, err
	}
	for _, arns := range params.ExistingAuthorizers {
		for _, arn := range arns {
			if err := verifier.TrustPool(arn, s.Pool); err != nil {
				return nil, err
			}
		}
	}

	// The local SQS and Lambda endpoints' listener first: the functions'
	// configuration names it.
	sqsLn, err := listen(o.SQSListener, o.SQSAddr)
	if err != nil {
		return nil, err
	}
	listeners = append(listeners, sqsLn)
	sqsURL := "http://" + sqsLn.Addr().String()

	// DynamoDB: the embedded engine, or the endpoint given.
	dynamoURL := o.DynamoDBEndpoint
	if dynamoURL == "" {
		if s.engine, err = embeddeddb.Start("127.0.0.1:0"); err != nil {
			return nil, err
		}
		dynamoURL = s.engine.URL
		s.Dynamo = "embedded engine (minidyn) at " + dynamoURL
	} else {
		s.Dynamo = dynamoURL
	}
	pipelineQueue, _ := resolver.Parameter("PipelineQueueName")
	configs, err := loadConfigs(resolver, localEnv{
		dynamoDB: dynamoURL, sqs: sqsURL, pipelineQueue: sqsURL + "/" + localsqs.AccountID + "/" + pipelineQueue,
		issuer: s.Issuer, clientID: ClientID, cursorKey: newCursorKey(), ownCredentials: o.DynamoDBEndpoint != "",
	})
	if err != nil {
		return nil, err
	}
	local := configs[config.GetJobFn]
	tableIn, err := samtemplate.TableInput(tpl, resolver, "JobsTable")
	if err != nil {
		return nil, err
	}
	s.Table = aws.ToString(tableIn.TableName)
	s.DynamoDB = dynamodb.NewClient(local.AWS, local.DynamoDBEndpoint)
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	created, err := embeddeddb.EnsureTable(tctx, s.DynamoDB, tableIn, s.engine == nil)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("jobs table on %s: %w", s.Dynamo, err)
	}
	log.Info("jobs table ready", "table", s.Table, "created", created, "dynamodb", s.Dynamo)
	// The functions' stores write through the change stream that feeds the
	// Events API.
	verify := func(token string) (map[string]any, error) {
		return verifier.Verify(token, devauth.Rules{ProviderARNs: []string{poolARN}})
	}
	tappedClient, err := s.startEvents(ctx, tpl, resolver, s.DynamoDB, verify, o)
	if err != nil {
		return nil, err
	}
	envs := map[string]lambdamain.Env{}
	for fn, c := range configs {
		e := lambdamain.New(c, tappedClient, log)
		// The dev server serves the outputs itself, on loopback http.
		e.OutputURLs.AllowLoopbackHTTP = true
		envs[fn] = e
	}
	s.Service = submitService(envs[config.SubmitJobFn])

	handlers := map[string]localapi.Function{}
	for fn, build := range apiFunctions {
		handlers[fn] = build(envs[fn])
	}
	if s.Gateway, err = localapi.New(localapi.Config{
		Template: tpl, Existing: existing, Params: params, Functions: handlers,
		Verifier: verifier, Log: log,
	}); err != nil {
		return nil, err
	}

	if s.pipeline, err = startPipeline(ctx, s, envs, tpl, resolver, sqsLn, o, log); err != nil {
		return nil, err
	}
	s.Queues = s.pipeline.queues
	s.serve(sqsLn, s.pipeline.server)

	s.serve(apiLn, s.apiHandler("/"+poolID+"/.well-known/jwks.json"))
	s.serve(evLn, s.Events)
	if dashLn != nil {
		s.serve(dashLn, web.Handler(web.Config{APIBase: s.APIURL, RealtimeURL: s.RealtimeURL, EventsHost: s.EventsHost}))
	}
	return s, nil
}

// listen returns ln if the caller opened it, else a loopback listener on
// addr (a free port if addr is empty).
func listen(ln net.Listener, addr string) (net.Listener, error) {
	if ln != nil {
		return ln, nil
	}
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	return loopback.Listen(addr)
}

func (s *Server) serve(ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: loopbackHostOnly(h), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	// HTTP/1.1 and cleartext HTTP/2, as browsers reach API Gateway with
	// both: the smoke test and the preflight tests send both here.
	srv.Protocols = new(http.Protocols)
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetUnencryptedHTTP2(true)
	s.servers = append(s.servers, srv)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.serveErrs <- err
		}
	}()
}

// loopbackHostOnly refuses requests whose Host is not a loopback name, so a
// web page cannot reach the server through DNS rebinding (a hostile name
// resolving to 127.0.0.1) and, say, mint tokens.
func loopbackHostOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if hh, _, err := net.SplitHostPort(host); err == nil {
			host = hh
		}
		if !loopback.Host(host) {
			http.Error(w, "this development server answers only on loopback host names (127.0.0.1, localhost)", http.StatusMisdirectedRequest)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// apiHandler routes the API origin: the dev identity provider's endpoints,
// the simulated outputs, and everything else to the API Gateway emulation
// (which sees raw paths: no ServeMux cleaning in front of it).
func (s *Server) apiHandler(jwksPath string) http.Handler {
	local := http.NewServeMux()
	local.Handle(devauth.TokenPath, s.Pool.TokenHandler(s.Origins.Allowed))
	local.HandleFunc("GET /local/outputs/{file}", s.output)
	jwks := s.Pool.JWKSHandler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p := r.URL.Path; {
		case p == jwksPath:
			jwks.ServeHTTP(w, r)
		case strings.HasPrefix(p, "/local/"):
			local.ServeHTTP(w, r)
		default:
			s.Gateway.ServeHTTP(w, r)
		}
	})
}

// output serves a completed job's (simulated) video.
func (s *Server) output(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutSuffix(r.PathValue("file"), ".mp4")
	if !ok || jobs.ValidateID(id) != nil {
		http.NotFound(w, r)
		return
	}
	j, err := s.Service.Store.GetLatest(r.Context(), id)
	if err != nil || j.Status != jobs.Completed {
		http.NotFound(w, r)
		return
	}
	if o := r.Header.Get("Origin"); s.Origins.Allowed(o) {
		w.Header().Set("Access-Control-Allow-Origin", o)
	}
	w.Header().Set("Vary", "Origin")
	w.Header().Set("Content-Type", "video/mp4")
	w.Header().Set("Cache-Control", "private, max-age=3600")
	http.ServeContent(w, r, id+".mp4", j.CompletedAt, bytes.NewReader(web.SampleVideo))
}

// Close stops the worker and the local pipeline's consumers, stops
// accepting requests, lets those in flight finish (until ctx ends), and
// stops the embedded engine.
func (s *Server) Close(ctx context.Context) error {
	var errs []error
	s.closeOnce.Do(func() {
		// The worker and consumers first, while the endpoints they call are
		// still up; then the servers, letting requests in flight finish.
		if s.pipeline != nil {
			errs = append(errs, s.pipeline.close(ctx))
		}
		if s.stopStream != nil {
			s.stopStream()
			select {
			case <-s.streamDone:
			case <-ctx.Done():
			}
		}
		if s.Events != nil {
			s.Events.Close()
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, srv := range s.servers {
			wg.Go(func() {
				// Browsers open spare connections that Shutdown counts as
				// busy for 5 s; after a grace for real requests, close.
				sctx, cancel := context.WithTimeout(ctx, 3*time.Second)
				defer cancel()
				err := srv.Shutdown(sctx)
				if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
					err = srv.Close()
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if s.engine != nil {
			errs = append(errs, s.engine.Close(ctx))
		}
	})
	return errors.Join(errs...)
}

// Err reports a listener that failed after start.
func (s *Server) Err() <-chan error { return s.serveErrs }
