// Command smoke checks a deployed stage the way the dashboards use it:
// every CORS preflight over HTTP/1.1 and HTTP/2 from every allowed origin,
// one unauthenticated request (401 with CORS headers), and each method once
// with a Cognito ID token (a smoke job is submitted, read, listed and
// cancelled). make smoke STAGE=prod ID_TOKEN=... runs it; docs/deploy.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"

	"github.com/deepfoundai/jobs-api/deploy/samconfig"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("smoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "", "the stage's base URL (default: the stack's ApiUrl output, without /v1/jobs)")
	cfgPath := fs.String("config", "samconfig.toml", "SAM CLI config: stack, region and AllowedOrigins")
	env := fs.String("env", "prod", "the config environment")
	origins := fs.String("origins", "", "comma-separated origins (default: the config's AllowedOrigins)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	c := Config{BaseURL: *url, Token: os.Getenv("ID_TOKEN")}
	if *origins == "" || c.BaseURL == "" {
		d, err := samconfig.Load(*cfgPath, *env)
		if err != nil {
			fmt.Fprintln(stderr, "smoke:", err)
			return 2
		}
		if *origins == "" {
			*origins = d.Overrides["AllowedOrigins"]
		}
		if c.BaseURL == "" {
			if c.BaseURL, err = stackURL(ctx, d.StackName, d.Region); err != nil {
				fmt.Fprintln(stderr, "smoke:", err)
				return 2
			}
		}
	}
	for _, o := range strings.Split(*origins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			c.Origins = append(c.Origins, o)
		}
	}
	failed := 0
	for _, r := range Run(ctx, c) {
		if r.Err != nil {
			failed++
			fmt.Fprintf(stdout, "FAIL %s: %v\n", r.Name, r.Err)
		} else {
			fmt.Fprintf(stdout, "ok   %s\n", r.Name)
		}
	}
	if failed > 0 {
		fmt.Fprintf(stderr, "smoke: %d check(s) failed against %s\n", failed, c.BaseURL)
		return 1
	}
	fmt.Fprintf(stdout, "smoke: every check passed against %s\n", c.BaseURL)
	return 0
}

// stackURL reads the stack's ApiUrl output (…/<stage>/v1/jobs) and returns
// the stage's base URL.
func stackURL(ctx context.Context, stack, region string) (string, error) {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
	if err != nil {
		return "", err
	}
	out, err := cloudformation.NewFromConfig(cfg).DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: &stack})
	if err != nil {
		return "", fmt.Errorf("stack %s: %w", stack, err)
	}
	for _, s := range out.Stacks {
		for _, o := range s.Outputs {
			if aws.ToString(o.OutputKey) == "ApiUrl" {
				return strings.TrimSuffix(aws.ToString(o.OutputValue), "/v1/jobs"), nil
			}
		}
	}
	return "", errors.New("stack " + stack + " has no ApiUrl output: pass -url")
}
