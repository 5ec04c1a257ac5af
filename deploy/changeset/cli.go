package changeset

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/deepfoundai/jobs-api/deploy/preflight"
	"github.com/deepfoundai/jobs-api/deploy/samconfig"
	"github.com/deepfoundai/jobs-api/deploy/samtemplate"
)

// Exit codes of Main.
const (
	ExitOK        = 0 // check: safe to execute; arn: ARN printed
	ExitBlocked   = 1 // check: at least one finding
	ExitError     = 2 // bad usage or unreadable input
	ExitNoChanges = 3 // arn: sam deploy created no change set
)

const usage = `usage:
  deploycheck check [-stack NAME] [-allow LOGICAL_ID,...] [-template template.yaml] [FILE]
      Reads 'aws cloudformation describe-change-set --output json' (FILE, or stdin
      when FILE is absent or -), prints the changes, and exits 1 listing why when
      the change set removes a resource, replaces a stateful one, touches a REST
      API, belongs to another stack or is not executable.
  deploycheck config [-template template.yaml] [-config samconfig.toml] -env ENV
      Parses [ENV.deploy.parameters] of the SAM CLI config with SAM CLI's own
      parameter-override rules and exits 1 listing every parameter that is
      missing, unknown, a placeholder, empty without a default, or outside its
      constraints.
  deploycheck preflight [-template template.yaml] [-config samconfig.toml] -env ENV
      Reads the live account (AWS credentials and region as the AWS CLI finds them;
      the config's region by default) and exits 1 listing every conflict the deploy
      would run into: methods or variable path parts already on the API, the
      owner's preflight, gateway responses, an OpenAPI-body API, the stage's owner,
      tables and log groups left behind. Warnings are printed and do not stop it.
  deploycheck arn [FILE]
      Prints the change set ARN from 'sam deploy --no-execute-changeset' output;
      exits 3 when SAM reported no changes to deploy.
`

// Main runs the deploycheck command with args (without the program name)
// and returns its exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return ExitError
	}
	switch args[0] {
	case "check":
		return runCheck(args[1:], stdin, stdout, stderr)
	case "arn":
		return runARN(args[1:], stdin, stdout, stderr)
	case "config":
		return runConfig(args[1:], stdout, stderr)
	case "preflight":
		return runPreflight(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return ExitOK
	default:
		fmt.Fprintf(stderr, "deploycheck: unknown command %q\n%s", args[0], usage)
		return ExitError
	}
}

func runCheck(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("deploycheck check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	p := DefaultPolicy()
	fs.StringVar(&p.Stack, "stack", p.Stack, "stack the change set must belong to (empty: any)")
	allow := fs.String("allow", "", "comma-separated logical IDs whose removal or replacement is accepted")
	tplPath := fs.String("template", "", "the template deployed (explains removals of resources whose Condition is false)")
	if err := fs.Parse(args); err != nil {
		return ExitError
	}
	if *tplPath != "" {
		tpl, err := samtemplate.Load(*tplPath)
		if err != nil {
			fmt.Fprintln(stderr, "deploycheck:", err)
			return ExitError
		}
		p.Template = tpl
	}
	p.Allow = map[string]bool{}
	for _, id := range strings.Split(*allow, ",") {
		if id = strings.TrimSpace(id); id != "" {
			p.Allow[id] = true
		}
	}
	in, closeIn, err := input(fs.Args(), stdin)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return ExitError
	}
	defer closeIn()
	cs, err := Decode(in)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return ExitError
	}
	Summary(stdout, cs)
	findings := Check(cs, p)
	allowed := Allowed(cs, p)
	if len(allowed) > 0 {
		fmt.Fprintf(stdout, "deploycheck: %d removal(s)/replacement(s) allowed with -allow; executing the change set does this:\n", len(allowed))
		for _, f := range allowed {
			fmt.Fprintln(stdout, "  - "+f.String())
		}
	}
	if len(findings) == 0 {
		if len(allowed) > 0 {
			fmt.Fprintln(stdout, "deploycheck: OK - nothing blocked; no REST API change; the allowed removals/replacements above happen")
		} else {
			fmt.Fprintln(stdout, "deploycheck: OK - no removal, no stateful replacement, no REST API change")
		}
		return ExitOK
	}
	fmt.Fprintf(stderr, "deploycheck: BLOCKED - %d reason(s) not to execute %s:\n", len(findings), cs.ChangeSetID)
	for _, f := range findings {
		fmt.Fprintln(stderr, "  - "+f.String())
	}
	return ExitBlocked
}

func runARN(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 1 {
		fmt.Fprint(stderr, usage)
		return ExitError
	}
	in, closeIn, err := input(args, stdin)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return ExitError
	}
	defer closeIn()
	b, err := io.ReadAll(in)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return ExitError
	}
	arn, err := ChangeSetARN(string(b))
	switch {
	case errors.Is(err, ErrNoChanges):
		fmt.Fprintln(stderr, err)
		return ExitNoChanges
	case err != nil:
		fmt.Fprintln(stderr, err)
		return ExitError
	}
	fmt.Fprintln(stdout, arn)
	return ExitOK
}

func input(args []string, stdin io.Reader) (io.Reader, func(), error) {
	switch {
	case len(args) == 0 || len(args) == 1 && args[0] == "-":
		return stdin, func() {}, nil
	case len(args) == 1:
		f, err := os.Open(args[0])
		if err != nil {
			return nil, nil, fmt.Errorf("deploycheck: %w", err)
		}
		return f, func() { f.Close() }, nil
	default:
		return nil, nil, fmt.Errorf("deploycheck: want at most one input file, got %d", len(args))
	}
}

func runConfig(args []string, stdout, stderr io.Writer) int {
	in, code := loadDeployInputs("config", args, stderr)
	if in == nil {
		return code
	}
	d := in.deploy
	problems := samconfig.Check(in.tpl, d.Overrides)
	if len(problems) == 0 {
		fmt.Fprintf(stdout, "deploycheck: %s [%s]: %d parameters, each set and within its constraints (stack %s, %s)\n",
			in.cfgPath, in.env, len(d.Overrides), d.StackName, d.Region)
		return ExitOK
	}
	fmt.Fprintf(stderr, "deploycheck: %s [%s]: %d problem(s) to fix before deploying (docs/deploy.md):\n", in.cfgPath, in.env, len(problems))
	for _, p := range problems {
		fmt.Fprintln(stderr, "  - "+p.String())
	}
	return ExitBlocked
}

func runPreflight(args []string, stdout, stderr io.Writer) int {
	in, code := loadDeployInputs("preflight", args, stderr)
	if in == nil {
		return code
	}
	tpl, d := in.tpl, in.deploy
	plan, err := preflight.NewPlan(tpl, d.Overrides, d.StackName, d.Region)
	if err != nil {
		fmt.Fprintln(stderr, "deploycheck:", err)
		return ExitBlocked
	}
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(d.Region))
	if err != nil {
		fmt.Fprintln(stderr, "deploycheck: AWS configuration:", err)
		return ExitError
	}
	findings, err := preflight.Run(ctx, preflight.Clients{
		APIGateway: apigateway.NewFromConfig(cfg), DynamoDB: dynamodb.NewFromConfig(cfg),
		Logs: cloudwatchlogs.NewFromConfig(cfg), CloudFormation: cloudformation.NewFromConfig(cfg),
	}, plan)
	if err != nil {
		fmt.Fprintln(stderr, "deploycheck:", err)
		return ExitError
	}
	for _, f := range findings {
		fmt.Fprintln(stderr, f)
	}
	if preflight.Refused(findings) {
		fmt.Fprintf(stderr, "deploycheck: pre-flight REFUSED: the deploy of stack %s into API %s would fail or break the API; fix the above first (docs/deploy.md)\n", d.StackName, plan.RestAPIID)
		return ExitBlocked
	}
	fmt.Fprintf(stdout, "deploycheck: pre-flight OK for stack %s on API %s (%d warning(s))\n", d.StackName, plan.RestAPIID, len(findings))
	return ExitOK
}

// deployInputs are what the config and preflight commands both read: the
// template and one samconfig.toml environment.
type deployInputs struct {
	tpl     *samtemplate.Template
	deploy  *samconfig.Deploy
	cfgPath string
	env     string
}

// loadDeployInputs parses the shared -template/-config/-env flags of the
// named subcommand and loads both files. On failure it returns nil and the
// exit code, having written the reason to stderr.
func loadDeployInputs(name string, args []string, stderr io.Writer) (*deployInputs, int) {
	fs := flag.NewFlagSet("deploycheck "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	tplPath := fs.String("template", "template.yaml", "the SAM template")
	cfgPath := fs.String("config", "samconfig.toml", "the SAM CLI config file")
	env := fs.String("env", "", "the config environment (samconfig.toml section), e.g. prod")
	if err := fs.Parse(args); err != nil {
		return nil, ExitError
	}
	if *env == "" || fs.NArg() > 0 {
		fmt.Fprint(stderr, usage)
		return nil, ExitError
	}
	tpl, err := samtemplate.Load(*tplPath)
	if err != nil {
		fmt.Fprintln(stderr, "deploycheck:", err)
		return nil, ExitError
	}
	d, err := samconfig.Load(*cfgPath, *env)
	if err != nil {
		fmt.Fprintf(stderr, "deploycheck: %s: %v\n", *cfgPath, err)
		return nil, ExitBlocked
	}
	return &deployInputs{tpl: tpl, deploy: d, cfgPath: *cfgPath, env: *env}, ExitOK
}
