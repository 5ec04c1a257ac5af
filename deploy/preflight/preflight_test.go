package preflight_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/deepfoundai/jobs-api/deploy/preflight"
	"github.com/deepfoundai/jobs-api/deploy/samtemplate"
)

// The pre-flight runs against moto's server, a stand-in for the AWS APIs it
// reads, with an "existing world" built per case through those same APIs:
// the shared REST API as its owner left it, tables and log groups left
// behind, the stack's own earlier deploy. Each case has its own region, so
// the worlds do not meet. moto's CloudFormation cannot deploy
// template.yaml; the stack's earlier deploy is a small stack of the same
// logical ids.

var (
	motoOnce sync.Once
	motoURL  string
	motoErr  error
)

// moto starts one moto_server for the package on a free loopback port.
func moto(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		t.Skip("moto_server is not installed (pip install 'moto[server]==5.2.1'; .ci/run does): live-API pre-flight cases skipped")
	}
	motoOnce.Do(func() {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			motoErr = err
			return
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
		if err := cmd.Start(); err != nil {
			motoErr = err
			return
		}
		motoProc = cmd
		motoURL = fmt.Sprintf("http://127.0.0.1:%d", port)
		deadline := time.Now().Add(30 * time.Second)
		for {
			resp, err := http.Get(motoURL + "/moto-api/")
			if err == nil {
				resp.Body.Close()
				return
			}
			if time.Now().After(deadline) {
				motoErr = fmt.Errorf("moto_server did not answer on %s: %w", motoURL, err)
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	if motoErr != nil {
		t.Fatal(motoErr)
	}
	return motoURL
}

var motoProc *exec.Cmd

func TestMain(m *testing.M) {
	code := m.Run()
	if motoProc != nil {
		motoProc.Process.Kill()
		motoProc.Wait()
	}
	os.Exit(code)
}

func clients(url, region string) preflight.Clients {
	cfg := aws.Config{Region: region, Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
	return preflight.Clients{
		APIGateway:     apigateway.NewFromConfig(cfg, func(o *apigateway.Options) { o.BaseEndpoint = &url }),
		DynamoDB:       dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = &url }),
		Logs:           cloudwatchlogs.NewFromConfig(cfg, func(o *cloudwatchlogs.Options) { o.BaseEndpoint = &url }),
		CloudFormation: cloudformation.NewFromConfig(cfg, func(o *cloudformation.Options) { o.BaseEndpoint = &url }),
	}
}

// world is the shared API as a case's owner left it.
type world struct {
	t          *testing.T
	ctx        context.Context
	c          preflight.Clients
	region     string
	api, jobs  string // REST API id, /v1/jobs resource id
	apiName    string // the RestApiName parameter
	manageGR   bool
	managePOST bool
}

// ownerHeaders are the request headers the methods on /v1/jobs take: what
// the owner's preflight must allow (template.yaml's OptionsJobsMethod).
const ownerHeaders = "Authorization,Content-Type,Idempotency-Key,Cancel-After,If-None-Match"

const (
	admin = "https://admin.deepfoundai.com"
	video = "https://video.deepfoundai.com"
)

// newWorld creates the owner's API: /v1/jobs with POST and a preflight
// that allows what the stack's methods need for both origins, and
// DEFAULT_4XX with CORS headers — an API the stack can be deployed into.
func newWorld(t *testing.T, region string) *world {
	t.Helper()
	url := moto(t)
	w := &world{t: t, ctx: context.Background(), c: clients(url, region), region: region, apiName: "jobs"}
	api, err := w.c.APIGateway.CreateRestApi(w.ctx, &apigateway.CreateRestApiInput{Name: aws.String("jobs")})
	if err != nil {
		t.Fatal(err)
	}
	w.api = aws.ToString(api.Id)
	res, err := w.c.APIGateway.GetResources(w.ctx, &apigateway.GetResourcesInput{RestApiId: &w.api})
	if err != nil {
		t.Fatal(err)
	}
	v1 := w.resource(aws.ToString(res.Items[0].Id), "v1")
	w.jobs = w.resource(v1, "jobs")
	w.method(w.jobs, "POST")
	w.options(w.jobs, ownerHeaders, "")
	w.gatewayResponse("DEFAULT_4XX", map[string]string{"gatewayresponse.header.Access-Control-Allow-Origin": "method.request.header.Origin"})
	return w
}

func (w *world) resource(parent, part string) string {
	w.t.Helper()
	r, err := w.c.APIGateway.CreateResource(w.ctx, &apigateway.CreateResourceInput{RestApiId: &w.api, ParentId: &parent, PathPart: &part})
	if err != nil {
		w.t.Fatal(err)
	}
	return aws.ToString(r.Id)
}

func (w *world) method(resource, verb string) {
	w.t.Helper()
	if _, err := w.c.APIGateway.PutMethod(w.ctx, &apigateway.PutMethodInput{RestApiId: &w.api, ResourceId: &resource, HttpMethod: &verb, AuthorizationType: aws.String("NONE")}); err != nil {
		w.t.Fatal(err)
	}
}

// options adds the owner's MOCK preflight allowing headers; origin "" -
// a response template echoing both dashboards' origins, else a static one.
func (w *world) options(resource, headers, origin string) {
	w.t.Helper()
	w.method(resource, "OPTIONS")
	in := &apigateway.PutIntegrationInput{RestApiId: &w.api, ResourceId: &resource, HttpMethod: aws.String("OPTIONS"), Type: agtypes.IntegrationTypeMock,
		RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`}}
	if _, err := w.c.APIGateway.PutIntegration(w.ctx, in); err != nil {
		w.t.Fatal(err)
	}
	params := map[string]string{"method.response.header.Access-Control-Allow-Headers": "'" + headers + "'"}
	templates := map[string]string{}
	if origin == "" {
		templates["application/json"] = `#set($o = $input.params().header.get("Origin"))#if($o == "` + admin + `" || $o == "` + video + `")#set($context.responseOverride.header.Access-Control-Allow-Origin = $o)#end`
	} else {
		params["method.response.header.Access-Control-Allow-Origin"] = "'" + origin + "'"
	}
	if _, err := w.c.APIGateway.PutIntegrationResponse(w.ctx, &apigateway.PutIntegrationResponseInput{RestApiId: &w.api, ResourceId: &resource,
		HttpMethod: aws.String("OPTIONS"), StatusCode: aws.String("200"), ResponseParameters: params, ResponseTemplates: templates}); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) gatewayResponse(typ string, params map[string]string) {
	w.t.Helper()
	if _, err := w.c.APIGateway.PutGatewayResponse(w.ctx, &apigateway.PutGatewayResponseInput{RestApiId: &w.api, ResponseType: agtypes.GatewayResponseType(typ),
		ResponseParameters: params, ResponseTemplates: map[string]string{"application/json": `{"message":$context.error.messageString}`}}); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) table(name string) {
	w.t.Helper()
	if _, err := w.c.DynamoDB.CreateTable(w.ctx, &dynamodb.CreateTableInput{TableName: &name, BillingMode: ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("jobId"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("jobId"), KeyType: ddbtypes.KeyTypeHash}}}); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) logGroup(name string) {
	w.t.Helper()
	if _, err := w.c.Logs.CreateLogGroup(w.ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: &name}); err != nil {
		w.t.Fatal(err)
	}
}

// stack creates a CloudFormation stack of the given resources in moto.
func (w *world) stack(name string, resources map[string]any) {
	w.t.Helper()
	body, _ := json.Marshal(map[string]any{"Resources": resources})
	if _, err := w.c.CloudFormation.CreateStack(w.ctx, &cloudformation.CreateStackInput{StackName: &name, TemplateBody: aws.String(string(body))}); err != nil {
		w.t.Fatal(err)
	}
}

// run plans template.yaml for this world and runs the pre-flight.
func (w *world) run() []preflight.Finding {
	w.t.Helper()
	tpl, err := samtemplate.Load("../../template.yaml")
	if err != nil {
		w.t.Fatal(err)
	}
	params := map[string]string{
		"Stage": "prod", "RestApiId": w.api, "RestApiName": w.apiName, "JobsResourceId": w.jobs,
		"CognitoUserPoolArn": "arn:aws:cognito-idp:" + w.region + ":210987654321:userpool/" + w.region + "_AbCdEf123",
		"AllowedOrigins":     admin + "," + video, "PipelineQueueName": "video-pipeline",
		"ManagePostMethod": fmt.Sprint(w.managePOST), "ManageGatewayResponses": fmt.Sprint(w.manageGR),
	}
	plan, err := preflight.NewPlan(tpl, params, "jobs-api", w.region)
	if err != nil {
		w.t.Fatal(err)
	}
	fs, err := preflight.Run(w.ctx, w.c, plan)
	if err != nil {
		w.t.Fatal(err)
	}
	return fs
}

func lambdaIntegration(region string) map[string]any {
	return map[string]any{"Type": "AWS_PROXY", "IntegrationHttpMethod": "POST",
		"Uri": "arn:aws:apigateway:" + region + ":lambda:path/2015-03-31/functions/arn:aws:lambda:" + region + ":210987654321:function:f/invocations"}
}

func TestPreflight(t *testing.T) {
	t.Parallel()
	type want struct {
		severity preflight.Severity
		subject  string
		problem  string // text the problem contains
		fix      string // text the fix contains
	}
	tests := []struct {
		name, region string
		world        func(w *world)
		want         []want // exactly these findings
	}{
		{name: "clean API", region: "us-east-1"},
		{name: "GET already on /v1/jobs", region: "us-east-2", world: func(w *world) { w.method(w.jobs, "GET") },
			want: []want{{preflight.Refuse, "ListJobsMethod", "GET /v1/jobs already exists", "delete-method"}}},
		{name: "{jobId} sibling", region: "us-west-1", world: func(w *world) { w.method(w.resource(w.jobs, "{jobId}"), "GET") },
			want: []want{{preflight.Refuse, "JobIdResource", "already has the variable child {jobId}", "move their methods under {id}"}}},
		{name: "{id} already there", region: "us-west-2", world: func(w *world) { w.resource(w.jobs, "{id}") },
			want: []want{{preflight.Refuse, "JobIdResource", "/v1/jobs/{id} already exists", "delete-resource"}}},
		{name: "POST and OPTIONS when the stack would create them", region: "eu-west-1", world: func(w *world) { w.managePOST = true },
			want: []want{{preflight.Refuse, "OptionsJobsMethod", "OPTIONS /v1/jobs already exists", "ManagePostMethod=false"},
				{preflight.Refuse, "PostJobMethod", "POST /v1/jobs already exists", "import both methods"}}},
		{name: "owner's preflight lacks a header", region: "eu-west-2", world: func(w *world) {
			w.c.APIGateway.DeleteMethod(w.ctx, &apigateway.DeleteMethodInput{RestApiId: &w.api, ResourceId: &w.jobs, HttpMethod: aws.String("OPTIONS")})
			w.options(w.jobs, "Authorization,Content-Type,Cancel-After", "")
		}, want: []want{{preflight.Refuse, "OPTIONS /v1/jobs", "browsers will send Idempotency-Key", "allow Authorization,Content-Type,Idempotency-Key,Cancel-After,If-None-Match"}}},
		{name: "owner's preflight answers one origin", region: "eu-west-3", world: func(w *world) {
			w.c.APIGateway.DeleteMethod(w.ctx, &apigateway.DeleteMethodInput{RestApiId: &w.api, ResourceId: &w.jobs, HttpMethod: aws.String("OPTIONS")})
			w.options(w.jobs, ownerHeaders, admin)
		}, want: []want{{preflight.Refuse, "OPTIONS /v1/jobs", "does not answer origin(s) " + video, "every origin in AllowedOrigins"}}},
		{name: "no preflight at all", region: "eu-central-1", world: func(w *world) {
			w.c.APIGateway.DeleteMethod(w.ctx, &apigateway.DeleteMethodInput{RestApiId: &w.api, ResourceId: &w.jobs, HttpMethod: aws.String("OPTIONS")})
		}, want: []want{{preflight.Refuse, "OPTIONS /v1/jobs", "does not exist", "ManagePostMethod=true"}}},
		{name: "customised DEFAULT_4XX the stack would replace", region: "eu-north-1", world: func(w *world) { w.manageGR = true },
			want: []want{{preflight.Warn, "gateway response DEFAULT_4XX", "customised it", "ManageGatewayResponses=false"}}},
		{name: "owner's DEFAULT_4XX without CORS", region: "ap-south-1", world: func(w *world) {
			w.gatewayResponse("DEFAULT_4XX", map[string]string{"gatewayresponse.header.X-Owner": "'1'"})
		}, want: []want{{preflight.Warn, "gateway response DEFAULT_4XX", "no Access-Control-Allow-Origin", "ManageGatewayResponses=true"}}},
		{name: "table and log group retained by a failed first deploy", region: "ap-northeast-1", world: func(w *world) {
			w.table("Jobs-prod")
			w.logGroup("/aws/lambda/jobs-api-prod-GetJobFn")
		}, want: []want{{preflight.Refuse, "GetJobFnLogs", "already exists outside the stack", "delete-log-group"},
			{preflight.Refuse, "JobsTable", "table Jobs-prod already exists outside the stack (0 items", "delete-table --table-name Jobs-prod"}}},
		{name: "API defined by an OpenAPI body, stage in the owner's stack", region: "ap-southeast-1", world: func(w *world) {
			// The owner's API is a second one, made by the owner's stack.
			w.stack("platform-api", map[string]any{
				"PlatformApi": map[string]any{"Type": "AWS::ApiGateway::RestApi", "Properties": map[string]any{"Name": "platform",
					"Body": map[string]any{"openapi": "3.0.1", "info": map[string]any{"title": "platform", "version": "1"}, "paths": map[string]any{}}}},
			})
			sr, err := w.c.CloudFormation.ListStackResources(w.ctx, &cloudformation.ListStackResourcesInput{StackName: aws.String("platform-api")})
			if err != nil {
				w.t.Fatal(err)
			}
			owned := aws.ToString(sr.StackResourceSummaries[0].PhysicalResourceId)
			w.api, w.apiName = owned, "platform"
			res, _ := w.c.APIGateway.GetResources(w.ctx, &apigateway.GetResourcesInput{RestApiId: &w.api})
			w.jobs = w.resource(w.resource(aws.ToString(res.Items[0].Id), "v1"), "jobs")
			w.method(w.jobs, "POST")
			w.options(w.jobs, ownerHeaders, "")
			w.gatewayResponse("DEFAULT_4XX", map[string]string{"gatewayresponse.header.Access-Control-Allow-Origin": "method.request.header.Origin"})
		}, want: []want{{preflight.Refuse, "REST API", "is defined by an OpenAPI body in stack platform-api", "Mode: merge"}}},
		{name: "RestApiName of another API", region: "sa-east-1", world: func(w *world) { w.apiName = "jobs-api" },
			want: []want{{preflight.Refuse, "RestApiName", `is "jobs-api" but API`, `set RestApiName="jobs"`}}},
		{name: "RestApiName empty", region: "ap-northeast-2", world: func(w *world) { w.apiName = "" },
			want: []want{{preflight.Warn, "RestApiName", "no API 5xx or latency alarm", `set RestApiName="jobs"`}}},
		{name: "a later deploy of the stack itself", region: "ca-central-1", world: func(w *world) {
			w.table("Jobs-unrelated")
			w.stack("jobs-api", map[string]any{
				"JobIdResource":  map[string]any{"Type": "AWS::ApiGateway::Resource", "Properties": map[string]any{"RestApiId": w.api, "ParentId": w.jobs, "PathPart": "{id}"}},
				"ListJobsMethod": map[string]any{"Type": "AWS::ApiGateway::Method", "Properties": map[string]any{"RestApiId": w.api, "ResourceId": w.jobs, "HttpMethod": "GET", "AuthorizationType": "NONE", "Integration": lambdaIntegration(w.region)}},
				"JobsTable": map[string]any{"Type": "AWS::DynamoDB::Table", "Properties": map[string]any{"TableName": "Jobs-prod", "BillingMode": "PAY_PER_REQUEST",
					"AttributeDefinitions": []any{map[string]any{"AttributeName": "jobId", "AttributeType": "S"}}, "KeySchema": []any{map[string]any{"AttributeName": "jobId", "KeyType": "HASH"}}}},
				"GetJobFnLogs": map[string]any{"Type": "AWS::Logs::LogGroup", "Properties": map[string]any{"LogGroupName": "/aws/lambda/jobs-api-prod-GetJobFn"}},
			})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, tt.region)
			if tt.world != nil {
				tt.world(w)
			}
			got := w.run()
			var gotText []string
			for _, f := range got {
				gotText = append(gotText, f.String())
			}
			if len(got) != len(tt.want) {
				t.Fatalf("%d finding(s), want %d:\n%s", len(got), len(tt.want), strings.Join(gotText, "\n"))
			}
			for i, wf := range tt.want {
				f := got[i]
				if f.Severity != wf.severity || !strings.HasPrefix(f.Subject, wf.subject) || !strings.Contains(f.Problem, wf.problem) || !strings.Contains(f.Fix, wf.fix) {
					t.Errorf("finding %d:\n%s\nwant %s %s: ...%s... fix: ...%s...", i, f, wf.severity, wf.subject, wf.problem, wf.fix)
				}
			}
			if preflight.Refused(got) != (len(tt.want) > 0 && tt.want[0].severity == preflight.Refuse) {
				t.Errorf("Refused = %v", preflight.Refused(got))
			}
		})
	}
}
