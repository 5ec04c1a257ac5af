// Command deploycheck guards deploys of the jobs-api stack: it refuses a
// CloudFormation change set that would remove resources, replace stateful
// ones or touch the REST API, and finds the change set sam deploy created.
// deploy/scripts/deploy.sh runs it; see docs/deploy.md.
package main

import (
	"os"

	"github.com/deepfoundai/jobs-api/deploy/changeset"
)

func main() {
	os.Exit(changeset.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
