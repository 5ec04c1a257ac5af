package samtemplate_test

// Tests of the repository's template.yaml. Each check below (and in
// lifecycle_template_test.go) is a function of a parsed template returning
// what is wrong with it; TestRepoTemplate runs them all on template.yaml,
// and TestRepoTemplateMutations proves each one can fail by breaking a copy
// of the template in one place and expecting that check to report that
// breakage (the error it must contain). A new function, method or
// permission needs its expectation added here (wantGrants, wantMethods):
// the checks refuse unknown ones.

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/deepfoundai/jobs-api/deploy/samtemplate"
	jobsddb "github.com/deepfoundai/jobs-api/internal/dynamodb"
)

const repoTemplatePath = "../../template.yaml"

// apiGatewayLimit is API Gateway's integration timeout (29 s); functions
// must time out before it so the client gets the function's own answer.
const apiGatewayLimitSeconds = 29

// wantGrants is each function's complete IAM grant: action -> resources.
// SAM adds only AWSLambdaBasicExecutionRole (logs) to the role it creates.
// Each grant is an API call the function's code makes (internal/dynamodb
// Store: Get/GetLatest = GetItem, Create/Update = PutItem, Query = Query on
// one index, GetMany = BatchGetItem; internal/sqs Pipeline = SendMessage),
// or what Lambda's SQS poller needs for an event source mapping.
var wantGrants = map[string]map[string][]string{
	"GetJobFn": {
		"dynamodb:GetItem": {tableArn},
	},
	// Submit: Create, GetLatest on an idempotent retry, Update (requeue or
	// FAILED), then the hand-off.
	"SubmitJobFn": {
		"dynamodb:GetItem": {tableArn},
		"dynamodb:PutItem": {tableArn},
		"sqs:SendMessage":  {`!Sub "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:${PipelineQueueName}"`},
	},
	// List: Query on byOwner (own jobs) or byStatus (admins), on those two
	// index ARNs only (no Query on the table, no Scan), then the page's jobs
	// by BatchGetItem; ?ids=: GetMany (BatchGetItem).
	"ListJobsFn": {
		"dynamodb:Query":        {`!Sub "${JobsTable.Arn}/index/byOwner"`, `!Sub "${JobsTable.Arn}/index/byStatus"`},
		"dynamodb:BatchGetItem": {tableArn},
	},
	// Cancel: GetLatest, then a conditional Update.
	"CancelJobFn": {
		"dynamodb:GetItem": {tableArn},
		"dynamodb:PutItem": {tableArn},
	},
	// Advance: GetLatest, then a conditional Update. The three SQS actions
	// are what the event source mapping's poller needs, on its one queue
	// (no ChangeMessageVisibility, GetQueueUrl or SendMessage: the code
	// makes no SQS call; failed messages go back by partial batch response).
	"UpdateJobFn": {
		"dynamodb:GetItem":       {tableArn},
		"dynamodb:PutItem":       {tableArn},
		"sqs:DeleteMessage":      {statusQueueArn},
		"sqs:GetQueueAttributes": {statusQueueArn},
		"sqs:ReceiveMessage":     {statusQueueArn},
	},
	// Sweep: List (Query on the status index, no Scan, and GetMany of each
	// page), then Expire (GetLatest and a conditional Update) per candidate.
	// calls_test.go runs the sweep and holds its calls to this.
	"SweepJobsFn": {
		"dynamodb:Query":        {`!Sub "${JobsTable.Arn}/index/byStatus"`},
		"dynamodb:BatchGetItem": {tableArn},
		"dynamodb:GetItem":      {tableArn},
		"dynamodb:PutItem":      {tableArn},
	},
	// Check: GetLatest, and on a PROCESSING job a conditional Update (the
	// heartbeat).
	"WorkerCheckFn": {
		"dynamodb:GetItem": {tableArn},
		"dynamodb:PutItem": {tableArn},
	},
	// Publish: the Events API's publish on the jobs namespace alone; the
	// four stream actions Lambda's stream poller needs, on the table's
	// stream alone; and the mapping's on-failure destination (Lambda sends
	// to it with the function's role). No table access: the records carry
	// the jobs.
	"PublishJobsFn": {
		"appsync:EventPublish":      {"!GetAtt JobEventsNamespace.ChannelNamespaceArn"},
		"dynamodb:DescribeStream":   {streamArn},
		"dynamodb:GetRecords":       {streamArn},
		"dynamodb:GetShardIterator": {streamArn},
		"dynamodb:ListStreams":      {streamArn},
		"sqs:SendMessage":           {"!GetAtt JobEventsFailuresQueue.Arn"},
	},
}

const (
	tableArn       = "!GetAtt JobsTable.Arn"
	statusQueueArn = "!GetAtt StatusEventsQueue.Arn"
	streamArn      = "!GetAtt JobsTable.StreamArn"
)

// pollingEventTypes are the SAM function event types for which SAM attaches
// a policy to the function's role (for SQS, AWSLambdaSQSQueueExecutionRole:
// receive and delete on every queue). wantGrants is the role's complete
// grant, so such a source is an explicit AWS::Lambda::EventSourceMapping
// with its actions in Policies instead.
var pollingEventTypes = []string{"SQS", "Kinesis", "DynamoDB", "MQ", "MSK", "SelfManagedKafka", "DocumentDB"}

// methodWant is what one Lambda-backed API method must be.
type methodWant struct {
	verb, path, function string
	// condition, when set, is the Condition the method must be under (the
	// operator may leave the method to another owner); without one the
	// method must be unconditional.
	condition string
	// headers are the request headers browsers send to the method besides
	// Authorization and Content-Type; its resource's preflight must allow
	// exactly the union of these.
	headers []string
}

// wantMethods are the non-OPTIONS methods this stack may own.
var wantMethods = map[string]methodWant{
	"GetJobMethod":    {verb: "GET", path: "/v1/jobs/{id}", function: "GetJobFn", headers: []string{"If-None-Match"}},
	"PostJobMethod":   {verb: "POST", path: "/v1/jobs", function: "SubmitJobFn", condition: "OwnPostMethod", headers: []string{"Idempotency-Key", "Cancel-After"}},
	"ListJobsMethod":  {verb: "GET", path: "/v1/jobs", function: "ListJobsFn", headers: []string{"If-None-Match"}},
	"CancelJobMethod": {verb: "POST", path: "/v1/jobs/{id}/cancel", function: "CancelJobFn"},
}

// preflightHeaders are the headers every preflight allows: the Cognito
// token and the JSON bodies' type.
var preflightHeaders = []string{"Authorization", "Content-Type"}

// externalResources are the API resources of the existing REST API the
// template refers to by parameter, with their paths.
var externalResources = map[string]string{"JobsResourceId": "/v1/jobs"}

type repoCheck struct {
	name  string
	check func(*samtemplate.Template) error
}

var repoChecks = []repoCheck{
	{"references", samtemplate.CheckReferences},
	{"properties", samtemplate.CheckProperties},
	{"no REST API", checkNoRestAPI},
	{"function config", checkFunctionConfig},
	{"function IAM", checkFunctionIAM},
	{"makefile targets", checkMakefileTargets},
	{"API methods", checkAPIMethods},
	{"OPTIONS methods", checkOptionsMethods},
	{"invoke permissions", checkInvokePermissions},
	{"gateway responses", checkGatewayResponses},
	{"alarms", checkAlarms},
	{"jobs table", checkJobsTable},
	{"index writes", checkIndexWrites},
	{"cursor key", checkCursorKey},
	{"status events", checkStatusEvents},
	{"sweeper", checkSweeper},
	{"worker check", checkWorkerCheck},
}

func TestRepoTemplate(t *testing.T) {
	t.Parallel()
	tpl, err := samtemplate.Load(repoTemplatePath)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range repoChecks {
		t.Run(c.name, func(t *testing.T) {
			if err := c.check(tpl); err != nil {
				t.Errorf("template.yaml:\n%v", err)
			}
		})
	}
}

// mutation breaks template.yaml: old replaced by new (old must occur
// exactly once, in resource in's block when in is set), or edit applied to
// the parsed template.
type mutation struct {
	name     string
	in       string // logical ID whose block of template.yaml old is in
	old, new string
	edit     func(*samtemplate.Template)
	fails    string // the check that must now fail
	why      string // text its error must contain: it fails for this reason
}

var mutations = []mutation{
	// references
	{name: "dangling Ref", old: "LogGroup: !Ref GetJobFnLogs", new: "LogGroup: !Ref GetJobFnLog", fails: "references", why: "GetJobFnLog: no such parameter or resource"},
	{name: "dangling GetAtt", old: "Value: !GetAtt GetJobFn.Arn", new: "Value: !GetAtt GetJobFunction.Arn", fails: "references", why: "GetJobFunction"},
	{name: "dangling Sub variable", old: "${AWS::AccountId}/${PipelineQueueName}", new: "${AWS::AccountId}/${PipelineQueue}", fails: "references", why: "PipelineQueue: no such parameter or resource"},
	{name: "dangling condition", in: "PostJobMethod", old: "Condition: OwnPostMethod", new: "Condition: OwnsPostMethod", fails: "references", why: "OwnsPostMethod: no such condition"},
	{name: "dangling secret reference", old: "${CursorKeySecret}:SecretString}}\"", new: "${CursorKey}:SecretString}}\"", fails: "references", why: "CursorKey: no such parameter or resource"},
	// properties
	{name: "misspelled table property", old: "PointInTimeRecoverySpecification:", new: "PointInTimeRecoverySpec:", fails: "properties", why: `PointInTimeRecoverySpec: unknown property`},
	{name: "misspelled method property", old: "      OperationName: GetJob\n", new: "      OperationNam: GetJob\n", fails: "properties", why: "GetJobMethod.Properties.OperationNam: unknown property"},
	{name: "misspelled secret property", old: "      GenerateSecretString:\n", new: "      GenerateSecret:\n", fails: "properties", why: "CursorKeySecret.Properties.GenerateSecret: unknown property"},
	{name: "misspelled queue policy property", in: "StatusEventsQueuePolicy", old: "      PolicyDocument:\n", new: "      Policy:\n", fails: "properties", why: "StatusEventsQueuePolicy.Properties: missing required property PolicyDocument"},
	{name: "misspelled event source mapping property", in: "UpdateJobFnStatusEvents", old: "      FunctionResponseTypes: [ReportBatchItemFailures]\n", new: "      FunctionResponseType: [ReportBatchItemFailures]\n",
		fails: "properties", why: "UpdateJobFnStatusEvents.Properties.FunctionResponseType: unknown property"},
	// no REST API
	{name: "new REST API", edit: addResource("NewApi", "AWS::ApiGateway::RestApi", map[string]any{"Name": "x"}), fails: "no REST API", why: "NewApi is an AWS::ApiGateway::RestApi"},
	{name: "new SAM Api", edit: addResource("NewApi", "AWS::Serverless::Api", map[string]any{"StageName": "prod"}), fails: "no REST API", why: "NewApi is an AWS::Serverless::Api"},
	{name: "new SAM HttpApi", edit: addResource("NewApi", "AWS::Serverless::HttpApi", nil), fails: "no REST API", why: "NewApi is an AWS::Serverless::HttpApi"},
	{name: "Api event makes an implicit API", in: "GetJobFn", old: "      CodeUri: .\n",
		new: "      CodeUri: .\n      Events:\n        Get: {Type: Api, Properties: {Path: /x, Method: get}}\n", fails: "no REST API", why: "GetJobFn event Get is of type Api"},
	{name: "HttpApi event makes an implicit API", in: "SubmitJobFn", old: "      CodeUri: .\n",
		new: "      CodeUri: .\n      Events:\n        Post: {Type: HttpApi}\n", fails: "no REST API", why: "SubmitJobFn event Post is of type HttpApi"},
	// function config (Globals merged)
	{name: "runtime", old: "Runtime: provided.al2023", new: "Runtime: provided.al2", fails: "function config", why: "Runtime = provided.al2, want provided.al2023"},
	{name: "architecture", old: "Architectures: [arm64]", new: "Architectures: [x86_64]", fails: "function config", why: "Architectures = [x86_64], want [arm64]"},
	{name: "function adds an architecture to Globals'", edit: setProp("GetJobFn", "Architectures", []any{"x86_64"}), fails: "function config", why: "GetJobFn Architectures = [arm64, x86_64]"},
	{name: "function overrides memory", edit: setProp("GetJobFn", "MemorySize", 512.0), fails: "function config", why: "GetJobFn MemorySize = 512"},
	{name: "handler", old: "Handler: bootstrap", new: "Handler: main", fails: "function config", why: "Handler = main, want bootstrap"},
	{name: "build method", edit: func(t *samtemplate.Template) { t.Resources["SubmitJobFn"].Metadata["BuildMethod"] = "go1.x" }, fails: "function config", why: "SubmitJobFn Metadata.BuildMethod = go1.x"},
	{name: "timeout past API Gateway's", old: "Timeout: 10", new: "Timeout: 30", fails: "function config", why: "Timeout = 30, want a number under API Gateway's 29 s"},
	{name: "function logs to another's group", in: "CancelJobFn", old: "LogGroup: !Ref CancelJobFnLogs", new: "LogGroup: !Ref ListJobsFnLogs", fails: "function config", why: "CancelJobFn LoggingConfig.LogGroup = !Ref ListJobsFnLogs"},
	{name: "no log retention", in: "UpdateJobFnLogs", old: "      RetentionInDays: !Ref LogRetentionDays\n", new: "", fails: "function config", why: "UpdateJobFnLogs RetentionInDays = null"},
	{name: "log group of another stage", in: "ListJobsFnLogs", old: "jobs-api-${Stage}-ListJobsFn", new: "jobs-api-prod-ListJobsFn", fails: "function config", why: "ListJobsFnLogs LogGroupName"},
	// function IAM
	{name: "second action on GetJobFn", old: "Action: dynamodb:GetItem\n", new: "Action: [dynamodb:GetItem, dynamodb:Query]\n", fails: "function IAM", why: "GetJobFn grants"},
	{name: "GetJobFn on every resource", edit: editStatement("GetJobFn", 0, "Resource", "*"), fails: "function IAM", why: "GetJobFn: dynamodb:GetItem on *: wildcards"},
	{name: "GetJobFn on the table's indexes too", edit: editStatement("GetJobFn", 0, "Resource",
		[]any{map[string]any{"Fn::GetAtt": []any{"JobsTable", "Arn"}}, map[string]any{"Fn::Sub": "${JobsTable.Arn}/index/*"}}), fails: "function IAM", why: `GetJobFn: dynamodb:GetItem on !Sub "${JobsTable.Arn}/index/*": wildcards`},
	{name: "GetJobFn managed policy", edit: addPolicy("GetJobFn", "AmazonDynamoDBReadOnlyAccess"), fails: "function IAM", why: "GetJobFn: has managed policies AmazonDynamoDBReadOnlyAccess"},
	{name: "GetJobFn SAM policy template", edit: addPolicy("GetJobFn", map[string]any{"DynamoDBReadPolicy": map[string]any{"TableName": map[string]any{"Ref": "JobsTable"}}}), fails: "function IAM", why: "GetJobFn: has SAM policy templates DynamoDBReadPolicy"},
	{name: "GetJobFn own role", edit: setProp("GetJobFn", "Role", "arn:aws:iam::123456789012:role/admin"), fails: "function IAM", why: "GetJobFn: has its own Role"},
	{name: "SubmitJobFn may send to any queue", old: ":${AWS::AccountId}:${PipelineQueueName}", new: ":${AWS::AccountId}:*", fails: "function IAM", why: "SubmitJobFn: sqs:SendMessage on"},
	{name: "SubmitJobFn cannot send", edit: editStatement("SubmitJobFn", 1, "Action", "sqs:GetQueueUrl"), fails: "function IAM", why: "SubmitJobFn grants"},
	{name: "ListJobsFn may Scan", in: "ListJobsFn", old: "              Action: dynamodb:Query\n", new: "              Action: [dynamodb:Query, dynamodb:Scan]\n", fails: "function IAM", why: "ListJobsFn grants"},
	{name: "ListJobsFn queries the table", in: "ListJobsFn", old: "                - !Sub ${JobsTable.Arn}/index/byStatus\n", new: "                - !GetAtt JobsTable.Arn\n", fails: "function IAM", why: "ListJobsFn grants"},
	{name: "ListJobsFn queries any index", in: "ListJobsFn", old: "                - !Sub ${JobsTable.Arn}/index/byOwner\n", new: "                - !Sub ${JobsTable.Arn}/index/*\n", fails: "function IAM", why: "ListJobsFn: dynamodb:Query on !Sub \"${JobsTable.Arn}/index/*\": wildcards"},
	{name: "CancelJobFn may delete", in: "CancelJobFn", old: "Action: [dynamodb:GetItem, dynamodb:PutItem]", new: "Action: [dynamodb:GetItem, dynamodb:PutItem, dynamodb:DeleteItem]", fails: "function IAM", why: "CancelJobFn grants"},
	{name: "UpdateJobFn consumes every queue", in: "UpdateJobFn", old: "              Resource: !GetAtt StatusEventsQueue.Arn\n", new: "              Resource: \"*\"\n", fails: "function IAM", why: "UpdateJobFn: sqs:ReceiveMessage on *: wildcards"},
	{name: "UpdateJobFn consumes the dead-letter queue", in: "UpdateJobFn", old: "              Resource: !GetAtt StatusEventsQueue.Arn\n",
		new: "              Resource: [!GetAtt StatusEventsQueue.Arn, !GetAtt StatusEventsDLQ.Arn]\n", fails: "function IAM", why: "UpdateJobFn grants"},
	{name: "UpdateJobFn SAM SQS event", in: "UpdateJobFn", old: "      LoggingConfig:\n", new: "      Events:\n        Q:\n          Type: SQS\n          Properties:\n            Queue: !GetAtt StatusEventsQueue.Arn\n      LoggingConfig:\n",
		fails: "function IAM", why: "UpdateJobFn event Q is of type SQS"},
	{name: "new function without expectations", edit: addFunction("ArchiveJobsFn"), fails: "function IAM", why: "ArchiveJobsFn: no IAM expectation in wantGrants"},
	{name: "new function without a build target", edit: addFunction("ArchiveJobsFn"), fails: "makefile targets", why: "Makefile has no build-ArchiveJobsFn target"},
	// API methods
	{name: "GET without auth", old: "      OperationName: GetJob\n      AuthorizationType: COGNITO_USER_POOLS",
		new: "      OperationName: GetJob\n      AuthorizationType: NONE", fails: "API methods", why: "GetJobMethod AuthorizationType = NONE"},
	{name: "GET without authorizer", edit: deleteProp("GetJobMethod", "AuthorizerId"), fails: "API methods", why: "GetJobMethod has no AuthorizerId"},
	{name: "GET not a proxy integration", edit: setIntegration("GetJobMethod", "Type", "AWS"), fails: "API methods", why: "GetJobMethod Integration Type/IntegrationHttpMethod = AWS/POST"},
	{name: "GET invokes the submit function", old: "functions/${GetJobFnAliaslive}/invocations", new: "functions/${SubmitJobFnAliaslive}/invocations", fails: "API methods", why: `GetJobMethod invokes "SubmitJobFn"`},
	{name: "GET on the collection", edit: setProp("GetJobMethod", "ResourceId", map[string]any{"Ref": "JobsResourceId"}), fails: "API methods", why: `GetJobMethod path = "/v1/jobs"`},
	{name: "POST without auth", old: "      OperationName: SubmitJob\n      AuthorizationType: COGNITO_USER_POOLS",
		new: "      OperationName: SubmitJob\n      AuthorizationType: NONE", fails: "API methods", why: "PostJobMethod AuthorizationType = NONE"},
	{name: "list without auth", old: "      OperationName: ListJobs\n      AuthorizationType: COGNITO_USER_POOLS",
		new: "      OperationName: ListJobs\n      AuthorizationType: NONE", fails: "API methods", why: "ListJobsMethod AuthorizationType = NONE"},
	{name: "list only while the stack owns POST", in: "ListJobsMethod", old: "    Type: AWS::ApiGateway::Method\n", new: "    Type: AWS::ApiGateway::Method\n    Condition: OwnPostMethod\n",
		fails: "API methods", why: `ListJobsMethod Condition = "OwnPostMethod", want ""`},
	{name: "list invokes the cancel function", in: "ListJobsMethod", old: "${ListJobsFnAliaslive}", new: "${CancelJobFnAliaslive}", fails: "API methods", why: `ListJobsMethod invokes "CancelJobFn"`},
	{name: "cancel on the collection", in: "JobCancelResource", old: "      ParentId: !Ref JobIdResource\n", new: "      ParentId: !Ref JobsResourceId\n", fails: "API methods", why: `CancelJobMethod path = "/v1/jobs/cancel"`},
	{name: "cancel is a GET", in: "CancelJobMethod", old: "      HttpMethod: POST\n", new: "      HttpMethod: GET\n", fails: "API methods", why: "CancelJobMethod HttpMethod = GET, want POST"},
	{name: "unexpected method", edit: addResource("DeleteJobMethod", "AWS::ApiGateway::Method", map[string]any{
		"RestApiId": map[string]any{"Ref": "RestApiId"}, "ResourceId": map[string]any{"Ref": "JobIdResource"}, "HttpMethod": "DELETE", "AuthorizationType": "NONE"}), fails: "API methods", why: "DeleteJobMethod (DELETE): not in wantMethods"},
	{name: "GET missing", edit: deleteResource("GetJobMethod"), fails: "API methods", why: "GetJobMethod is missing"},
	{name: "cancel missing", edit: deleteResource("CancelJobMethod"), fails: "API methods", why: "CancelJobMethod is missing"},
	{name: "POST deleted when the stack lets go of it", edit: setAttr("PostJobMethod", func(r *samtemplate.Resource) { r.DeletionPolicy = "" }), fails: "API methods", why: `PostJobMethod is on the existing API's /v1/jobs but DeletionPolicy = ""`},
	{name: "POST always owned", in: "PostJobMethod", old: "    Condition: OwnPostMethod\n", new: "", fails: "API methods", why: `PostJobMethod Condition = "", want "OwnPostMethod"`},
	// OPTIONS
	{name: "OPTIONS with auth", in: "OptionsJobIdMethod", old: "      AuthorizationType: NONE", new: "      AuthorizationType: COGNITO_USER_POOLS", fails: "OPTIONS methods", why: "OptionsJobIdMethod must not require authorization"},
	{name: "OPTIONS not MOCK", edit: setIntegration("OptionsJobIdMethod", "Type", "AWS_PROXY"), fails: "OPTIONS methods", why: "OptionsJobIdMethod Integration.Type = AWS_PROXY, want MOCK"},
	{name: "OPTIONS does not allow GET", old: `"'GET,OPTIONS'"`, new: `"'OPTIONS'"`, fails: "OPTIONS methods", why: "OptionsJobIdMethod Access-Control-Allow-Methods = [OPTIONS]"},
	{name: "OPTIONS does not allow Authorization", old: `"'Authorization,Content-Type,If-None-Match'"`, new: `"'Content-Type,If-None-Match'"`, fails: "OPTIONS methods", why: "OptionsJobIdMethod Access-Control-Allow-Headers"},
	{name: "OPTIONS does not allow If-None-Match", old: `"'Authorization,Content-Type,If-None-Match'"`, new: `"'Authorization,Content-Type'"`, fails: "OPTIONS methods", why: "OptionsJobIdMethod Access-Control-Allow-Headers"},
	{name: "OPTIONS allows a header no method takes", in: "OptionsJobCancelMethod", old: `"'Authorization,Content-Type'"`, new: `"'Authorization,Content-Type,X-Debug'"`, fails: "OPTIONS methods", why: "OptionsJobCancelMethod Access-Control-Allow-Headers"},
	{name: "collection preflight without Idempotency-Key", old: `"'Authorization,Content-Type,Idempotency-Key,Cancel-After,If-None-Match'"`, new: `"'Authorization,Content-Type,Cancel-After,If-None-Match'"`, fails: "OPTIONS methods", why: "OptionsJobsMethod Access-Control-Allow-Headers"},
	{name: "collection preflight without Cancel-After", old: `"'Authorization,Content-Type,Idempotency-Key,Cancel-After,If-None-Match'"`, new: `"'Authorization,Content-Type,Idempotency-Key,If-None-Match'"`, fails: "OPTIONS methods", why: "OptionsJobsMethod Access-Control-Allow-Headers"},
	{name: "collection preflight does not allow GET", old: `"'GET,POST,OPTIONS'"`, new: `"'POST,OPTIONS'"`, fails: "OPTIONS methods", why: "OptionsJobsMethod Access-Control-Allow-Methods = [OPTIONS POST]"},
	{name: "OPTIONS without Vary", in: "OptionsJobCancelMethod", old: "              method.response.header.Vary: \"'Origin'\"\n", new: "", fails: "OPTIONS methods", why: `OptionsJobCancelMethod Vary = "", want Origin`},
	{name: "OPTIONS allows every origin", in: "OptionsJobsMethod", old: "              method.response.header.Vary: \"'Origin'\"\n",
		new: "              method.response.header.Vary: \"'Origin'\"\n              method.response.header.Access-Control-Allow-Origin: \"'*'\"\n", fails: "OPTIONS methods", why: "OptionsJobsMethod sets a static Access-Control-Allow-Origin"},
	{name: "OPTIONS ignores AllowedOrigins", in: "OptionsJobIdMethod", old: `#set($allowed = ",${AllowedOrigins},")`, new: `#set($allowed = ",https://admin.deepfoundai.com,")`, fails: "OPTIONS methods", why: "OptionsJobIdMethod response template must set Access-Control-Allow-Origin"},
	{name: "OPTIONS header not declared", in: "OptionsJobCancelMethod", old: "            method.response.header.Access-Control-Max-Age: false\n", new: "", fails: "OPTIONS methods", why: "OptionsJobCancelMethod MethodResponses 204 does not declare Access-Control-Max-Age"},
	{name: "OPTIONS missing", edit: deleteResource("OptionsJobIdMethod"), fails: "OPTIONS methods", why: "resource JobIdResource has methods [GET] but no OPTIONS method"},
	{name: "cancel preflight missing", edit: deleteResource("OptionsJobCancelMethod"), fails: "OPTIONS methods", why: "resource JobCancelResource has methods [POST] but no OPTIONS method"},
	{name: "collection preflight always owned", in: "OptionsJobsMethod", old: "    Condition: OwnPostMethod\n", new: "", fails: "OPTIONS methods", why: `OptionsJobsMethod is on the existing API's /v1/jobs but Condition = ""`},
	{name: "collection preflight deleted when the stack lets go of it", in: "OptionsJobsMethod", old: "    DeletionPolicy: RetainExceptOnCreate\n", new: "", fails: "OPTIONS methods", why: `OptionsJobsMethod is on the existing API's /v1/jobs but DeletionPolicy = ""`},
	// permissions
	{name: "permission for every method", old: "${RestApiId}/*/GET/v1/jobs/*", new: "${RestApiId}/*/*/*", fails: "invoke permissions", why: "GetJobFnInvokePermission SourceArn"},
	{name: "cancel permission for every method", old: "${RestApiId}/*/POST/v1/jobs/*/cancel", new: "${RestApiId}/*/*/*", fails: "invoke permissions", why: "CancelJobFnInvokePermission SourceArn"},
	{name: "list permission for the whole API", in: "ListJobsFnInvokePermission", old: "${RestApiId}/*/GET/v1/jobs", new: "${RestApiId}/*", fails: "invoke permissions", why: "ListJobsFnInvokePermission SourceArn"},
	{name: "permission for the wrong function", old: "FunctionName: !Ref GetJobFnAliaslive", new: "FunctionName: !Ref SubmitJobFnAliaslive", fails: "invoke permissions", why: "GetJobFnInvokePermission FunctionName = !Ref SubmitJobFnAliaslive, want !Ref GetJobFnAliaslive"},
	{name: "permission for the unpublished function", old: "FunctionName: !Ref GetJobFnAliaslive", new: "FunctionName: !Ref GetJobFn", fails: "invoke permissions", why: "GetJobFnInvokePermission FunctionName = !Ref GetJobFn, want !Ref GetJobFnAliaslive"},
	{name: "permission missing", edit: deleteResource("GetJobFnInvokePermission"), fails: "invoke permissions", why: "no permission lets API Gateway invoke GetJobFn"},
	{name: "list permission missing", edit: deleteResource("ListJobsFnInvokePermission"), fails: "invoke permissions", why: "no permission lets API Gateway invoke ListJobsFn"},
	{name: "permission for any principal", edit: setProp("SubmitJobFnInvokePermission", "Principal", "*"), fails: "invoke permissions", why: "SubmitJobFnInvokePermission: Principal/Action = */lambda:InvokeFunction"},
	// gateway responses
	{name: "no DEFAULT_5XX", edit: deleteResource("GatewayResponseDefault5XX"), fails: "gateway responses", why: "no gateway response DEFAULT_5XX"},
	{name: "DEFAULT_4XX without CORS", edit: func(t *samtemplate.Template) {
		delete(t.Resources["GatewayResponseDefault4XX"].Properties["ResponseParameters"].(map[string]any), "gatewayresponse.header.Access-Control-Allow-Origin")
	}, fails: "gateway responses", why: "gateway response DEFAULT_4XX has no Access-Control-Allow-Origin"},
	// alarms
	{name: "dead-letter alarm notifies nobody", in: "StatusEventsDLQAlarm", old: "      AlarmActions: !If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref AWS::NoValue]\n", new: "",
		fails: "alarms", why: "StatusEventsDLQAlarm AlarmActions = null"},
	{name: "stranded-job alarm always notifies", in: "StrandedJobAlarm", old: "!If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref AWS::NoValue]", new: "[!Ref AlarmTopicArn]",
		fails: "alarms", why: "StrandedJobAlarm AlarmActions = [!Ref AlarmTopicArn]"},
	// table
	{name: "provisioned billing", old: "BillingMode: PAY_PER_REQUEST", new: "BillingMode: PROVISIONED", fails: "jobs table", why: "JobsTable BillingMode = PROVISIONED"},
	{name: "no PITR", old: "PointInTimeRecoveryEnabled: true", new: "PointInTimeRecoveryEnabled: false", fails: "jobs table", why: "JobsTable PointInTimeRecoverySpecification"},
	{name: "no deletion protection", old: "DeletionProtectionEnabled: true", new: "DeletionProtectionEnabled: false", fails: "jobs table", why: "JobsTable DeletionProtectionEnabled = false"},
	{name: "table deleted with the stack", edit: setAttr("JobsTable", func(r *samtemplate.Resource) { r.DeletionPolicy = "Delete" }), fails: "jobs table", why: "JobsTable DeletionPolicy = Delete"},
	{name: "table deleted on replacement", edit: setAttr("JobsTable", func(r *samtemplate.Resource) { r.UpdateReplacePolicy = "Delete" }), fails: "jobs table", why: "JobsTable UpdateReplacePolicy = Delete"},
	{name: "TTL on another attribute", old: "AttributeName: expiresAt", new: "AttributeName: ttl", fails: "jobs table", why: "JobsTable TimeToLiveSpecification"},
	{name: "TTL off", old: "        AttributeName: expiresAt\n        Enabled: true", new: "        AttributeName: expiresAt\n        Enabled: false", fails: "jobs table", why: "JobsTable TimeToLiveSpecification"},
	{name: "table name", old: "TableName: !Sub Jobs-${Stage}", new: "TableName: !Sub jobs-${Stage}", fails: "jobs table", why: "JobsTable TableName"},
	{name: "byOwner sorted by another key", old: "            - { AttributeName: ownerId, KeyType: HASH }\n            - { AttributeName: createdAtId, KeyType: RANGE }",
		new: "            - { AttributeName: ownerId, KeyType: HASH }\n            - { AttributeName: statusShard, KeyType: RANGE }", fails: "jobs table", why: "JobsTable indexes"},
	{name: "byStatus missing", old: "        - IndexName: byStatus\n", new: "        - IndexName: byState\n", fails: "jobs table", why: "JobsTable indexes"},
	{name: "table key", old: "        - { AttributeName: jobId, KeyType: HASH }", new: "        - { AttributeName: id, KeyType: HASH }", fails: "jobs table", why: "JobsTable key"},
	{name: "attribute the code does not define", old: "        - { AttributeName: createdAtId, AttributeType: S }", new: "        - { AttributeName: createdAtId, AttributeType: N }", fails: "jobs table", why: "JobsTable AttributeDefinitions"},
	{name: "projection differs from the code's", old: "NonKeyAttributes: [status, expiresAt]", new: "NonKeyAttributes: [expiresAt]", fails: "jobs table", why: "JobsTable projections"},
	// index writes
	{name: "bare status partition key", old: "            - { AttributeName: statusShard, KeyType: HASH }", new: "            - { AttributeName: status, KeyType: HASH }", fails: "index writes", why: "byStatus is partitioned by status"},
	{name: "byOwner projects ALL", old: "Projection: { ProjectionType: INCLUDE, NonKeyAttributes: [status, expiresAt] }", new: "Projection: { ProjectionType: ALL }", fails: "index writes", why: "byOwner projects ALL"},
	{name: "byStatus projects ALL", old: "Projection: { ProjectionType: INCLUDE, NonKeyAttributes: [expiresAt] }", new: "Projection: { ProjectionType: ALL }", fails: "index writes", why: "byStatus projects ALL"},
	{name: "projects progress", old: "NonKeyAttributes: [status, expiresAt]", new: "NonKeyAttributes: [status, expiresAt, progress]", fails: "index writes", why: "byOwner projects progress"},
	{name: "keyed on updatedAt", old: "            - { AttributeName: ownerId, KeyType: HASH }\n            - { AttributeName: createdAtId, KeyType: RANGE }",
		new: "            - { AttributeName: ownerId, KeyType: HASH }\n            - { AttributeName: updatedAt, KeyType: RANGE }", fails: "index writes", why: "byOwner is keyed on updatedAt"},
	{name: "the bare-status design", old: "          KeySchema:\n            - { AttributeName: statusShard, KeyType: HASH }\n            - { AttributeName: createdAtId, KeyType: RANGE }\n          Projection: { ProjectionType: INCLUDE, NonKeyAttributes: [expiresAt] }",
		new: "          KeySchema:\n            - { AttributeName: status, KeyType: HASH }\n            - { AttributeName: createdAt, KeyType: RANGE }\n          Projection: { ProjectionType: ALL }", fails: "index writes", why: "byStatus is partitioned by status"},
	// cursor key
	{name: "literal cursor key", in: "ListJobsFn", old: "          CURSOR_KEY: !If\n", new: "          CURSOR_KEY: \"0123456789abcdef0123456789abcdef\"\n          CURSOR_KEY_UNUSED: !If\n", fails: "cursor key", why: "ListJobsFn CURSOR_KEY = 0123456789abcdef0123456789abcdef"},
	{name: "cursor key version ignored", in: "ListJobsFn", old: ":SecretString:::${CursorKeyVersionId}}}", new: ":SecretString}}", fails: "cursor key", why: "ListJobsFn CURSOR_KEY = !If"},
	{name: "fixed secret name", in: "CursorKeySecret", old: "    Properties:\n", new: "    Properties:\n      Name: !Sub jobs-api/${Stage}/list-cursor-key\n", fails: "cursor key", why: "CursorKeySecret has a fixed Name"},
	{name: "short cursor key", old: "        PasswordLength: 64\n", new: "        PasswordLength: 8\n", fails: "cursor key", why: "PasswordLength = 8"},
	{name: "cursor key in the template", old: "      GenerateSecretString:\n", new: "      SecretString: 0123456789abcdef0123456789abcdef\n      GenerateSecretString:\n", fails: "cursor key", why: "CursorKeySecret has a literal SecretString"},
	// status events
	{name: "unencrypted queue", in: "StatusEventsQueue", old: "      SqsManagedSseEnabled: true\n", new: "", fails: "status events", why: "StatusEventsQueue: want an AWS::SQS::Queue with SqsManagedSseEnabled true"},
	{name: "unencrypted dead-letter queue", in: "StatusEventsDLQ", old: "      SqsManagedSseEnabled: true\n", new: "", fails: "status events", why: "StatusEventsDLQ: want an AWS::SQS::Queue with SqsManagedSseEnabled true"},
	{name: "dead letters never", old: "        maxReceiveCount: 5\n", new: "        maxReceiveCount: 1000\n", fails: "status events", why: "StatusEventsQueue RedrivePolicy"},
	{name: "short visibility", old: "      VisibilityTimeout: 60\n", new: "      VisibilityTimeout: 30\n", fails: "status events", why: "VisibilityTimeout = 30, want at least 6 × UpdateJobFn's Timeout 10"},
	{name: "whole-batch retries", in: "UpdateJobFnStatusEvents", old: "      FunctionResponseTypes: [ReportBatchItemFailures]\n", new: "", fails: "status events", why: "UpdateJobFnStatusEvents FunctionResponseTypes = null"},
	{name: "mapping from the dead-letter queue", in: "UpdateJobFnStatusEvents", old: "EventSourceArn: !GetAtt StatusEventsQueue.Arn", new: "EventSourceArn: !GetAtt StatusEventsDLQ.Arn", fails: "status events", why: "UpdateJobFnStatusEvents maps !GetAtt StatusEventsDLQ.Arn to !Ref UpdateJobFnAliaslive"},
	{name: "oversized batch", in: "UpdateJobFnStatusEvents", old: "      BatchSize: 10\n", new: "      BatchSize: 100\n", fails: "status events", why: "UpdateJobFnStatusEvents BatchSize = 100"},
	{name: "queues accept plain HTTP", in: "StatusEventsQueuePolicy", old: "                aws:SecureTransport: \"false\"\n", new: "                aws:SecureTransport: \"true\"\n", fails: "status events", why: "denies sqs:* without aws:SecureTransport"},
	{name: "no dead-letter alarm", edit: deleteResource("StatusEventsDLQAlarm"), fails: "status events", why: "StatusEventsDLQAlarm: want an alarm"},
}

func TestRepoTemplateMutations(t *testing.T) {
	t.Parallel()
	text, err := os.ReadFile(repoTemplatePath)
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string]func(*samtemplate.Template) error{}
	for _, c := range repoChecks {
		checks[c.name] = c.check
	}
	for _, m := range mutations {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			check, ok := checks[m.fails]
			if !ok {
				t.Fatalf("no check named %q", m.fails)
			}
			if m.why == "" {
				t.Fatal("mutation has no why: name the error it must cause")
			}
			tpl := mutate(t, string(text), m)
			switch err := check(tpl); {
			case err == nil:
				t.Errorf("check %q passed on the mutated template, want it to fail", m.fails)
			case !strings.Contains(err.Error(), m.why):
				t.Errorf("check %q failed with\n%v\nwant an error containing %q", m.fails, err, m.why)
			}
		})
	}
}

// TestEveryRepoCheckCanFail keeps the mutation table honest: each check
// must be broken by at least one mutation.
func TestEveryRepoCheckCanFail(t *testing.T) {
	t.Parallel()
	covered := map[string]bool{}
	for _, m := range mutations {
		covered[m.fails] = true
	}
	for _, c := range repoChecks {
		if !covered[c.name] {
			t.Errorf("check %q has no mutation that makes it fail", c.name)
		}
	}
}

func mutate(t *testing.T, text string, m mutation) *samtemplate.Template {
	t.Helper()
	if m.old != "" {
		start, end := 0, len(text)
		where := "template.yaml"
		if m.in != "" {
			start, end = resourceBlock(t, text, m.in)
			where = m.in + "'s block of template.yaml"
		}
		block := text[start:end]
		if n := strings.Count(block, m.old); n != 1 {
			t.Fatalf("mutation text %q occurs %d times in %s, want 1", m.old, n, where)
		}
		text = text[:start] + strings.Replace(block, m.old, m.new, 1) + text[end:]
	} else if m.in != "" {
		t.Fatal("mutation names a resource (in) but no text (old)")
	}
	tpl, err := samtemplate.Parse([]byte(text))
	if err != nil {
		t.Fatalf("mutated template does not parse: %v", err)
	}
	if m.edit != nil {
		m.edit(tpl)
	}
	return tpl
}

// blockEnd finds the end of a resource's block: the next line indented
// two spaces or less (the next resource, its comment, or the next section).
var blockEnd = regexp.MustCompile(`\n {0,2}\S`)

// resourceBlock returns the bounds of resource id's text in template.yaml,
// from its "  id:" line to the next line indented two spaces or less.
func resourceBlock(t *testing.T, text, id string) (start, end int) {
	t.Helper()
	header := "\n  " + id + ":\n"
	if n := strings.Count(text, header); n != 1 {
		t.Fatalf("resource %s: its header occurs %d times in template.yaml, want 1", id, n)
	}
	start = strings.Index(text, header) + 1
	body := start + len(header) - 1
	end = len(text)
	if loc := blockEnd.FindStringIndex(text[body-1:]); loc != nil {
		end = body - 1 + loc[0]
	}
	return start, end
}

// ---------------------------------------------------------------- mutations

func addResource(id, typ string, props map[string]any) func(*samtemplate.Template) {
	return func(t *samtemplate.Template) {
		t.Resources[id] = samtemplate.Resource{Type: typ, Properties: props}
	}
}

func deleteResource(id string) func(*samtemplate.Template) {
	return func(t *samtemplate.Template) { delete(t.Resources, id) }
}

func setProp(id, key string, v any) func(*samtemplate.Template) {
	return func(t *samtemplate.Template) { t.Resources[id].Properties[key] = v }
}

func deleteProp(id, key string) func(*samtemplate.Template) {
	return func(t *samtemplate.Template) { delete(t.Resources[id].Properties, key) }
}

func setAttr(id string, f func(*samtemplate.Resource)) func(*samtemplate.Template) {
	return func(t *samtemplate.Template) {
		r := t.Resources[id]
		f(&r)
		t.Resources[id] = r
	}
}

func setIntegration(id, key string, v any) func(*samtemplate.Template) {
	return func(t *samtemplate.Template) {
		t.Resources[id].Properties["Integration"].(map[string]any)[key] = v
	}
}

func editStatement(fn string, i int, key string, v any) func(*samtemplate.Template) {
	return func(t *samtemplate.Template) {
		doc := t.Resources[fn].Properties["Policies"].([]any)[0].(map[string]any)
		doc["Statement"].([]any)[i].(map[string]any)[key] = v
	}
}

func addPolicy(fn string, p any) func(*samtemplate.Template) {
	return func(t *samtemplate.Template) {
		props := t.Resources[fn].Properties
		props["Policies"] = append(props["Policies"].([]any), p)
	}
}

func addFunction(id string) func(*samtemplate.Template) {
	return addResourceWithMetadata(id, "AWS::Serverless::Function",
		map[string]any{"CodeUri": ".", "Policies": []any{map[string]any{"Statement": []any{map[string]any{
			"Effect": "Allow", "Action": "dynamodb:Query", "Resource": map[string]any{"Fn::Sub": "${JobsTable.Arn}/index/byOwner"}}}}}},
		map[string]any{"BuildMethod": "makefile"})
}

func addResourceWithMetadata(id, typ string, props, md map[string]any) func(*samtemplate.Template) {
	return func(t *samtemplate.Template) {
		t.Resources[id] = samtemplate.Resource{Type: typ, Properties: props, Metadata: md}
	}
}

// ---------------------------------------------------------------- checks

// checkNoRestAPI: this stack extends the existing REST API; it must not
// create an API, explicitly or through a SAM function event.
func checkNoRestAPI(t *samtemplate.Template) error {
	var errs []error
	for _, typ := range []string{"AWS::ApiGateway::RestApi", "AWS::Serverless::Api", "AWS::Serverless::HttpApi", "AWS::ApiGatewayV2::Api"} {
		for _, id := range samtemplate.ResourcesOfType(t, typ) {
			errs = append(errs, fmt.Errorf("%s is an %s: this stack must not create an API", id, typ))
		}
	}
	for _, id := range samtemplate.ResourcesOfType(t, "AWS::Serverless::Function") {
		props, err := samtemplate.FunctionProperties(t, id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		events, _ := props["Events"].(map[string]any)
		for _, name := range slices.Sorted(maps.Keys(events)) {
			e, _ := events[name].(map[string]any)
			if typ := e["Type"]; typ == "Api" || typ == "HttpApi" {
				errs = append(errs, fmt.Errorf("%s event %s is of type %v: SAM would create an implicit API", id, name, typ))
			}
		}
	}
	return errors.Join(errs...)
}

// checkFunctionConfig: every function as SAM will build and run it.
func checkFunctionConfig(t *samtemplate.Template) error {
	var errs []error
	fns := samtemplate.ResourcesOfType(t, "AWS::Serverless::Function")
	if len(fns) == 0 {
		return errors.New("no AWS::Serverless::Function")
	}
	for _, id := range fns {
		props, err := samtemplate.FunctionProperties(t, id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		want := map[string]any{
			"Runtime":       "provided.al2023",
			"Architectures": []any{"arm64"},
			"MemorySize":    float64(256),
			"Handler":       "bootstrap",
		}
		for _, k := range slices.Sorted(maps.Keys(want)) {
			if got := props[k]; !reflect.DeepEqual(got, want[k]) {
				errs = append(errs, fmt.Errorf("%s %s = %s, want %s", id, k, samtemplate.Render(got), samtemplate.Render(want[k])))
			}
		}
		if got := t.Resources[id].Metadata["BuildMethod"]; got != "makefile" {
			errs = append(errs, fmt.Errorf("%s Metadata.BuildMethod = %v, want makefile", id, got))
		}
		if got, ok := props["Timeout"].(float64); !ok || got >= apiGatewayLimitSeconds {
			errs = append(errs, fmt.Errorf("%s Timeout = %v, want a number under API Gateway's %d s", id, props["Timeout"], apiGatewayLimitSeconds))
		}
		if err := checkLogGroup(t, id, props); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// checkLogGroup: function id logs to its own log group, <id>Logs, named
// after the stage and the function and kept LogRetentionDays (Lambda's
// default group would keep logs forever).
func checkLogGroup(t *samtemplate.Template, id string, props map[string]any) error {
	lc, _ := props["LoggingConfig"].(map[string]any)
	if got := samtemplate.Render(lc["LogGroup"]); got != "!Ref "+id+"Logs" {
		return fmt.Errorf("%s LoggingConfig.LogGroup = %s, want !Ref %sLogs (its own log group)", id, got, id)
	}
	g, ok := t.Resources[id+"Logs"]
	if !ok || g.Type != "AWS::Logs::LogGroup" {
		return fmt.Errorf("%sLogs: want the AWS::Logs::LogGroup of %s", id, id)
	}
	wantName := `!Sub "/aws/lambda/jobs-api-${Stage}-` + id + `"`
	if got := samtemplate.Render(g.Properties["LogGroupName"]); got != wantName {
		return fmt.Errorf("%sLogs LogGroupName = %s, want %s", id, got, wantName)
	}
	if got := samtemplate.Render(g.Properties["RetentionInDays"]); got != "!Ref LogRetentionDays" {
		return fmt.Errorf("%sLogs RetentionInDays = %s, want !Ref LogRetentionDays", id, got)
	}
	return nil
}

// checkFunctionIAM: each function's grants are exactly wantGrants[fn]:
// no other action, no other resource, no "*", no managed policy, no role
// of its own, no event source that makes SAM add a policy.
func checkFunctionIAM(t *samtemplate.Template) error {
	var errs []error
	for _, id := range samtemplate.ResourcesOfType(t, "AWS::Serverless::Function") {
		want, ok := wantGrants[id]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: no IAM expectation in wantGrants; add its least-privilege grants", id))
			continue
		}
		props, err := samtemplate.FunctionProperties(t, id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		events, _ := props["Events"].(map[string]any)
		for _, name := range slices.Sorted(maps.Keys(events)) {
			e, _ := events[name].(map[string]any)
			if typ, _ := e["Type"].(string); contains(pollingEventTypes, typ) {
				errs = append(errs, fmt.Errorf("%s event %s is of type %s: SAM would attach a policy to its role beyond wantGrants; use an AWS::Lambda::EventSourceMapping", id, name, typ))
			}
		}
		got, err := samtemplate.FunctionPolicyActions(t, id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for action, resources := range got {
			for _, r := range resources {
				// "*" anywhere: every resource, or every queue, index, ... of a kind.
				if strings.Contains(r, "*") || strings.Contains(action, "*") {
					errs = append(errs, fmt.Errorf("%s: %s on %s: wildcards are not least privilege", id, action, r))
				}
			}
		}
		if !reflect.DeepEqual(got, want) {
			errs = append(errs, fmt.Errorf("%s grants\n  %v\nwant exactly\n  %v", id, got, want))
		}
	}
	for id := range wantGrants {
		if r, ok := t.Resources[id]; !ok || r.Type != "AWS::Serverless::Function" {
			errs = append(errs, fmt.Errorf("%s: expected an AWS::Serverless::Function", id))
		}
	}
	return errors.Join(errs...)
}

// checkMakefileTargets: SAM's makefile builder runs `make build-<LogicalId>`
// with ARTIFACTS_DIR set; each must build a main under cmd/ into
// $ARTIFACTS_DIR/bootstrap. `make -n` prints the recipe without running it.
func checkMakefileTargets(t *samtemplate.Template) error {
	var errs []error
	for _, id := range samtemplate.ResourcesOfType(t, "AWS::Serverless::Function") {
		out, err := exec.Command("make", "-s", "-n", "-C", "../..", "build-"+id, "ARTIFACTS_DIR=/artifacts").CombinedOutput()
		m := regexp.MustCompile(`go build .* -o /artifacts/bootstrap \./cmd/([a-z0-9]+)\n`).FindSubmatch(out)
		if err != nil || m == nil {
			errs = append(errs, fmt.Errorf("Makefile has no build-%s target for SAM's makefile builder: %s", id, bytes.TrimSpace(out)))
			continue
		}
		if _, err := os.Stat(filepath.Join("../../cmd", string(m[1]), "main.go")); err != nil {
			errs = append(errs, fmt.Errorf("build-%s builds ./cmd/%s, which has no main.go", id, m[1]))
		}
	}
	return errors.Join(errs...)
}

// checkAPIMethods: each non-OPTIONS method is a Cognito-authorized Lambda
// proxy method on the expected path and function of wantMethods.
func checkAPIMethods(t *samtemplate.Template) error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	for _, id := range samtemplate.ResourcesOfType(t, "AWS::ApiGateway::Method") {
		p := t.Resources[id].Properties
		if p["HttpMethod"] == "OPTIONS" {
			continue
		}
		want, ok := wantMethods[id]
		if !ok {
			bad("%s (%v): not in wantMethods; add its verb, path and function", id, p["HttpMethod"])
			continue
		}
		if p["HttpMethod"] != want.verb {
			bad("%s HttpMethod = %v, want %s", id, p["HttpMethod"], want.verb)
		}
		if got := t.Resources[id].Condition; got != want.condition {
			bad("%s Condition = %q, want %q", id, got, want.condition)
		}
		if got := samtemplate.Render(p["RestApiId"]); got != "!Ref RestApiId" {
			bad("%s RestApiId = %s, want !Ref RestApiId (the existing API)", id, got)
		}
		if path, err := samtemplate.ResourcePath(t, p["ResourceId"], externalResources); err != nil || path != want.path {
			bad("%s path = %q (%v), want %s", id, path, err, want.path)
		}
		if p["AuthorizationType"] != "COGNITO_USER_POOLS" {
			bad("%s AuthorizationType = %v, want COGNITO_USER_POOLS", id, p["AuthorizationType"])
		}
		if p["AuthorizerId"] == nil {
			bad("%s has no AuthorizerId", id)
		}
		integ, _ := p["Integration"].(map[string]any)
		if integ["Type"] != "AWS_PROXY" || integ["IntegrationHttpMethod"] != "POST" {
			bad("%s Integration Type/IntegrationHttpMethod = %v/%v, want AWS_PROXY/POST", id, integ["Type"], integ["IntegrationHttpMethod"])
		}
		if fn, err := samtemplate.IntegrationFunction(t, id); err != nil || fn != want.function {
			bad("%s invokes %q (%v), want %s", id, fn, err, want.function)
		}
		// A method on a resource of the existing API that the stack may let
		// go of (POST /v1/jobs, under a condition) may have existed before
		// this stack and must outlive the stack letting go of it
		// (ManagePostMethod=false): deleting it would break production.
		// Resource import needs a DeletionPolicy as well. An unconditional
		// one (GET /v1/jobs) is this stack's own and goes with it: retained,
		// it would outlive its function and block the stack's re-creation.
		if name, arg, _ := samtemplate.IntrinsicName(p["ResourceId"]); name == "Ref" && externalResources[fmt.Sprint(arg)] != "" && want.condition != "" {
			if got := t.Resources[id].DeletionPolicy; got != "RetainExceptOnCreate" {
				bad("%s is on the existing API's %s but DeletionPolicy = %q, want RetainExceptOnCreate", id, externalResources[fmt.Sprint(arg)], got)
			}
		}
	}
	for _, id := range slices.Sorted(maps.Keys(wantMethods)) {
		if _, ok := t.Resources[id]; !ok && wantMethods[id].condition == "" {
			bad("%s is missing", id)
		}
	}
	return errors.Join(errs...)
}

// checkOptionsMethods: every API resource this stack creates answers CORS
// preflight with a MOCK OPTIONS method without authorization (browsers send
// no token on preflight), allowing exactly the resource's methods and the
// headers they take, and echoing only allowed origins. A preflight on a
// resource of the existing API comes and goes with the methods there the
// stack may let go of, and outlives the stack letting go of it.
func checkOptionsMethods(t *samtemplate.Template) error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	// by resource (Render of ResourceId): verbs, OPTIONS method, other methods
	verbs := map[string][]string{}
	options := map[string]string{}
	methods := map[string][]string{}
	for _, id := range samtemplate.ResourcesOfType(t, "AWS::ApiGateway::Method") {
		p := t.Resources[id].Properties
		res := samtemplate.Render(p["ResourceId"])
		verb, _ := p["HttpMethod"].(string)
		verbs[res] = append(verbs[res], verb)
		if verb == "OPTIONS" {
			options[res] = id
		} else {
			methods[res] = append(methods[res], id)
		}
	}
	for _, rid := range samtemplate.ResourcesOfType(t, "AWS::ApiGateway::Resource") {
		res := "!Ref " + rid
		if len(verbs[res]) > 0 && options[res] == "" {
			bad("resource %s has methods %v but no OPTIONS method for CORS preflight", rid, verbs[res])
		}
	}
	for _, res := range slices.Sorted(maps.Keys(options)) {
		id := options[res]
		p := t.Resources[id].Properties
		if p["AuthorizationType"] != "NONE" || p["AuthorizerId"] != nil || p["ApiKeyRequired"] == true {
			bad("%s must not require authorization: AuthorizationType=%v AuthorizerId=%v ApiKeyRequired=%v",
				id, p["AuthorizationType"], samtemplate.Render(p["AuthorizerId"]), p["ApiKeyRequired"])
		}
		integ, _ := p["Integration"].(map[string]any)
		if integ["Type"] != "MOCK" {
			bad("%s Integration.Type = %v, want MOCK", id, integ["Type"])
		}
		reqTpl, _ := integ["RequestTemplates"].(map[string]any)
		if s, _ := reqTpl["application/json"].(string); !strings.Contains(s, `"statusCode": 204`) {
			bad("%s RequestTemplates application/json = %q, want it to select status 204", id, s)
		}
		var resp map[string]any
		for _, r := range asList(integ["IntegrationResponses"]) {
			if m, _ := r.(map[string]any); m["StatusCode"] == "204" {
				resp = m
			}
		}
		if resp == nil {
			bad("%s has no 204 integration response", id)
			continue
		}
		params, _ := resp["ResponseParameters"].(map[string]any)
		header := func(h string) string {
			s, _ := params["method.response.header."+h].(string)
			return strings.Trim(s, "'")
		}
		allowed := strings.Split(header("Access-Control-Allow-Methods"), ",")
		sort.Strings(allowed)
		wantVerbs := append([]string(nil), verbs[res]...)
		sort.Strings(wantVerbs)
		if !reflect.DeepEqual(allowed, wantVerbs) {
			bad("%s Access-Control-Allow-Methods = %v, want the resource's methods %v", id, allowed, wantVerbs)
		}
		wantHeaders := append([]string(nil), preflightHeaders...)
		for _, m := range methods[res] {
			for _, h := range wantMethods[m].headers {
				if !contains(wantHeaders, h) {
					wantHeaders = append(wantHeaders, h)
				}
			}
		}
		sort.Strings(wantHeaders)
		var gotHeaders []string
		for _, h := range strings.Split(header("Access-Control-Allow-Headers"), ",") {
			gotHeaders = append(gotHeaders, strings.TrimSpace(h))
		}
		sort.Strings(gotHeaders)
		if !reflect.DeepEqual(gotHeaders, wantHeaders) {
			bad("%s Access-Control-Allow-Headers = %q, want exactly %v (Authorization, Content-Type and its methods' headers)",
				id, header("Access-Control-Allow-Headers"), wantHeaders)
		}
		if name, arg, _ := samtemplate.IntrinsicName(p["ResourceId"]); name == "Ref" && externalResources[fmt.Sprint(arg)] != "" {
			path := externalResources[fmt.Sprint(arg)]
			var conds []string
			for _, m := range methods[res] {
				if c := wantMethods[m].condition; c != "" && !contains(conds, c) {
					conds = append(conds, c)
				}
			}
			if got := t.Resources[id].Condition; len(conds) != 1 || got != conds[0] {
				bad("%s is on the existing API's %s but Condition = %q, want the one Condition of the methods there the stack may let go of %v",
					id, path, got, conds)
			}
			if got := t.Resources[id].DeletionPolicy; got != "RetainExceptOnCreate" {
				bad("%s is on the existing API's %s but DeletionPolicy = %q, want RetainExceptOnCreate", id, path, got)
			}
		}
		if header("Vary") != "Origin" {
			bad("%s Vary = %q, want Origin", id, header("Vary"))
		}
		if _, static := params["method.response.header.Access-Control-Allow-Origin"]; static {
			bad("%s sets a static Access-Control-Allow-Origin; it must echo only allowed origins", id)
		}
		respTpl, _ := resp["ResponseTemplates"].(map[string]any)
		vtl := samtemplate.Render(respTpl["application/json"])
		if !strings.Contains(vtl, "${AllowedOrigins}") || !strings.Contains(vtl, "$context.responseOverride.header.Access-Control-Allow-Origin = $origin") {
			bad("%s response template must set Access-Control-Allow-Origin to the Origin only when it is in AllowedOrigins; got %s", id, vtl)
		}
		declared := map[string]bool{}
		for _, mr := range asList(p["MethodResponses"]) {
			if m, _ := mr.(map[string]any); m["StatusCode"] == "204" {
				rp, _ := m["ResponseParameters"].(map[string]any)
				for k := range rp {
					declared[k] = true
				}
			}
		}
		for _, h := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers", "Access-Control-Max-Age", "Vary"} {
			if !declared["method.response.header."+h] {
				bad("%s MethodResponses 204 does not declare %s, so API Gateway would not send it", id, h)
			}
		}
	}
	return errors.Join(errs...)
}

// checkInvokePermissions: each Lambda method's function may be invoked by
// API Gateway for that method and path only (any stage), and no permission
// is broader.
func checkInvokePermissions(t *samtemplate.Template) error {
	var errs []error
	allowed := map[string]string{} // SourceArn -> function
	for id, want := range wantMethods {
		if _, ok := t.Resources[id]; ok || want.condition != "" {
			allowed[samtemplate.MethodSourceArn("RestApiId", want.verb, want.path)] = want.function
		}
	}
	found := map[string]bool{}
	for _, id := range samtemplate.ResourcesOfType(t, "AWS::Lambda::Permission") {
		if id == workerCheckPermission { // checkWorkerCheck's
			continue
		}
		p := t.Resources[id].Properties
		name, arg, _ := samtemplate.IntrinsicName(p["SourceArn"])
		arn, _ := arg.(string)
		fn := samtemplate.Render(p["FunctionName"])
		switch {
		case p["Principal"] != "apigateway.amazonaws.com" || p["Action"] != "lambda:InvokeFunction":
			errs = append(errs, fmt.Errorf("%s: Principal/Action = %v/%v, want apigateway.amazonaws.com/lambda:InvokeFunction", id, p["Principal"], p["Action"]))
		case name != "Fn::Sub" || allowed[arn] == "":
			errs = append(errs, fmt.Errorf("%s SourceArn = %s: not one method's ARN (want one of %v)", id, samtemplate.Render(p["SourceArn"]), slices.Sorted(maps.Keys(allowed))))
		case fn != "!Ref "+allowed[arn]+"Aliaslive":
			// The alias the integration invokes, not the function:
			// permission on the unqualified function does not cover it.
			errs = append(errs, fmt.Errorf("%s FunctionName = %s, want !Ref %sAliaslive for %s", id, fn, allowed[arn], arn))
		default:
			found[arn] = true
		}
	}
	for _, arn := range slices.Sorted(maps.Keys(allowed)) {
		if !found[arn] {
			errs = append(errs, fmt.Errorf("no permission lets API Gateway invoke %s from %s", allowed[arn], arn))
		}
	}
	return errors.Join(errs...)
}

// checkGatewayResponses: errors API Gateway answers itself (authorizer 401,
// 403, 429, 5xx) carry CORS headers so the dashboards can read them.
func checkGatewayResponses(t *samtemplate.Template) error {
	var errs []error
	byType := map[string]map[string]any{}
	for _, id := range samtemplate.ResourcesOfType(t, "AWS::ApiGateway::GatewayResponse") {
		p := t.Resources[id].Properties
		if samtemplate.Render(p["RestApiId"]) != "!Ref RestApiId" {
			errs = append(errs, fmt.Errorf("%s is not on the existing API", id))
		}
		rt, _ := p["ResponseType"].(string)
		byType[rt] = p
	}
	for _, rt := range []string{"DEFAULT_4XX", "DEFAULT_5XX"} {
		p, ok := byType[rt]
		if !ok {
			errs = append(errs, fmt.Errorf("no gateway response %s", rt))
			continue
		}
		params, _ := p["ResponseParameters"].(map[string]any)
		if params["gatewayresponse.header.Access-Control-Allow-Origin"] == nil {
			errs = append(errs, fmt.Errorf("gateway response %s has no Access-Control-Allow-Origin", rt))
		}
		if params["gatewayresponse.header.Vary"] != "'Origin'" {
			errs = append(errs, fmt.Errorf("gateway response %s Vary = %v, want 'Origin'", rt, params["gatewayresponse.header.Vary"]))
		}
		tpls, _ := p["ResponseTemplates"].(map[string]any)
		if s, _ := tpls["application/json"].(string); !strings.Contains(s, `{"error":{"code":`) {
			errs = append(errs, fmt.Errorf("gateway response %s body %q is not the API's error shape", rt, s))
		}
	}
	return errors.Join(errs...)
}

// checkAlarms: every alarm notifies the operators' topic (AlarmTopicArn)
// when there is one; an alarm nobody hears is no alarm.
func checkAlarms(t *samtemplate.Template) error {
	want := map[string]any{"Fn::If": []any{"HasAlarmTopic", []any{map[string]any{"Ref": "AlarmTopicArn"}}, map[string]any{"Ref": "AWS::NoValue"}}}
	alarms := samtemplate.ResourcesOfType(t, "AWS::CloudWatch::Alarm")
	if len(alarms) == 0 {
		return errors.New("no AWS::CloudWatch::Alarm")
	}
	var errs []error
	for _, id := range alarms {
		if got := t.Resources[id].Properties["AlarmActions"]; !reflect.DeepEqual(got, want) {
			errs = append(errs, fmt.Errorf("%s AlarmActions = %s, want %s", id, samtemplate.Render(got), samtemplate.Render(want)))
		}
	}
	return errors.Join(errs...)
}

// checkJobsTable: the table's keys, indexes and protection.
func checkJobsTable(t *samtemplate.Template) error {
	r, ok := t.Resources["JobsTable"]
	if !ok || r.Type != "AWS::DynamoDB::Table" {
		return errors.New("JobsTable: want an AWS::DynamoDB::Table")
	}
	var errs []error
	want := func(what string, got, want any) {
		if !reflect.DeepEqual(got, want) {
			errs = append(errs, fmt.Errorf("JobsTable %s = %s, want %s", what, samtemplate.Render(got), samtemplate.Render(want)))
		}
	}
	p := r.Properties
	want("TableName", p["TableName"], map[string]any{"Fn::Sub": "Jobs-${Stage}"})
	want("BillingMode", p["BillingMode"], "PAY_PER_REQUEST")
	want("PointInTimeRecoverySpecification", p["PointInTimeRecoverySpecification"], map[string]any{"PointInTimeRecoveryEnabled": true})
	want("DeletionProtectionEnabled", p["DeletionProtectionEnabled"], true)
	want("DeletionPolicy", r.DeletionPolicy, "RetainExceptOnCreate")
	want("UpdateReplacePolicy", r.UpdateReplacePolicy, "Retain")
	want("TimeToLiveSpecification", p["TimeToLiveSpecification"], map[string]any{"AttributeName": jobsddb.AttrExpiresAt, "Enabled": true})
	td := tableShape(p)
	want("AttributeDefinitions", td.attrs, map[string]string{
		jobsddb.AttrJobID: "S", jobsddb.AttrStatusShard: "S", jobsddb.AttrOwnerID: "S", jobsddb.AttrCreatedAtID: "S",
	})
	want("key", td.key, []string{jobsddb.AttrJobID + " HASH"})
	want("indexes", td.indexes, map[string][]string{
		jobsddb.IndexByStatus: {jobsddb.AttrStatusShard + " HASH", jobsddb.AttrCreatedAtID + " RANGE"},
		jobsddb.IndexByOwner:  {jobsddb.AttrOwnerID + " HASH", jobsddb.AttrCreatedAtID + " RANGE"},
	})
	want("projections", td.projections, map[string]string{
		jobsddb.IndexByStatus: "INCLUDE " + jobsddb.AttrExpiresAt,
		jobsddb.IndexByOwner:  "INCLUDE " + jobsddb.AttrStatus + "," + jobsddb.AttrExpiresAt,
	})
	return errors.Join(errs...)
}

// checkIndexWrites holds every index of the jobs table to the rules that
// keep it off a hot partition (README, Data model): no index is
// partitioned by the bare status (a handful of key values, each taking a
// whole status's writes), and none is keyed on or projects an attribute
// outside jobsddb.IndexableAttrs, the attributes a progress report never
// changes (the capacity model checks that on replayed reports), so the
// pipeline's reports write no index entry. ALL projects every attribute.
func checkIndexWrites(t *samtemplate.Template) error {
	r, ok := t.Resources["JobsTable"]
	if !ok {
		return errors.New("no JobsTable")
	}
	var errs []error
	for _, g := range asList(r.Properties["GlobalSecondaryIndexes"]) {
		m, _ := g.(map[string]any)
		name, _ := m["IndexName"].(string)
		for _, k := range asList(m["KeySchema"]) {
			km, _ := k.(map[string]any)
			attr, _ := km["AttributeName"].(string)
			if attr == jobsddb.AttrStatus && km["KeyType"] == "HASH" {
				errs = append(errs, fmt.Errorf("%s is partitioned by %s: one key value takes every write of a status", name, attr))
			}
			if !slices.Contains(jobsddb.IndexableAttrs, attr) {
				errs = append(errs, fmt.Errorf("%s is keyed on %s, which progress reports may change", name, attr))
			}
		}
		proj, _ := m["Projection"].(map[string]any)
		switch proj["ProjectionType"] {
		case "ALL":
			errs = append(errs, fmt.Errorf("%s projects ALL: every progress report rewrites it", name))
		case "INCLUDE":
			for _, a := range asList(proj["NonKeyAttributes"]) {
				if s, _ := a.(string); !slices.Contains(jobsddb.IndexableAttrs, s) {
					errs = append(errs, fmt.Errorf("%s projects %s, which progress reports may change", name, s))
				}
			}
		}
	}
	return errors.Join(errs...)
}

// table is the part of a table definition the code depends on.
type table struct {
	attrs       map[string]string   // name -> type
	key         []string            // "name KEYTYPE"
	indexes     map[string][]string // GSI name -> key
	projections map[string]string   // GSI name -> projection type
	billing     string
}

func tableShape(p map[string]any) table {
	tb := table{attrs: map[string]string{}, indexes: map[string][]string{}, projections: map[string]string{}}
	tb.billing, _ = p["BillingMode"].(string)
	for _, a := range asList(p["AttributeDefinitions"]) {
		m, _ := a.(map[string]any)
		name, _ := m["AttributeName"].(string)
		tb.attrs[name], _ = m["AttributeType"].(string)
	}
	keys := func(v any) []string {
		var out []string
		for _, k := range asList(v) {
			m, _ := k.(map[string]any)
			out = append(out, fmt.Sprint(m["AttributeName"], " ", m["KeyType"]))
		}
		return out
	}
	tb.key = keys(p["KeySchema"])
	for _, g := range asList(p["GlobalSecondaryIndexes"]) {
		m, _ := g.(map[string]any)
		name, _ := m["IndexName"].(string)
		tb.indexes[name] = keys(m["KeySchema"])
		proj, _ := m["Projection"].(map[string]any)
		pt, _ := proj["ProjectionType"].(string)
		var nk []string
		for _, a := range asList(proj["NonKeyAttributes"]) {
			nk = append(nk, fmt.Sprint(a))
		}
		tb.projections[name] = strings.TrimSpace(pt + " " + strings.Join(nk, ","))
	}
	return tb
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if strings.TrimSpace(e) == s {
			return true
		}
	}
	return false
}
