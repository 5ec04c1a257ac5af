package changeset

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// ErrNoChanges is returned by ChangeSetARN when sam deploy found nothing to
// change, so it created no change set.
var ErrNoChanges = errors.New("deploycheck: sam deploy reported no changes to deploy")

var (
	changeSetARN = regexp.MustCompile(`arn:aws[a-z-]*:cloudformation:[a-z0-9-]+:[0-9]{12}:changeSet/[A-Za-z][-A-Za-z0-9]*/[-A-Za-z0-9]+`)
	ansiEscape   = regexp.MustCompile("\x1b\\[[0-9;]*m")
)

// ChangeSetARN finds the change set `sam deploy --no-execute-changeset`
// created, in its output. SAM CLI prints "Changeset created successfully.
// <arn>" (or, with --output json in recent versions, a
// {"status":"CHANGESET_CREATED","changeset_id":"<arn>"} line) and offers no
// other machine-readable way to learn the ARN. Exactly one distinct ARN
// must appear; when none does and SAM said there was nothing to deploy,
// the error is ErrNoChanges.
func ChangeSetARN(samOutput string) (string, error) {
	text := ansiEscape.ReplaceAllString(samOutput, "")
	var arns []string
	for _, a := range changeSetARN.FindAllString(text, -1) {
		if !contains(arns, a) {
			arns = append(arns, a)
		}
	}
	switch {
	case len(arns) == 1:
		return arns[0], nil
	case len(arns) > 1:
		return "", fmt.Errorf("deploycheck: sam deploy output names %d change sets (%s); want one", len(arns), strings.Join(arns, ", "))
	case strings.Contains(text, "No changes to deploy") || strings.Contains(text, `"NO_CHANGES"`):
		return "", ErrNoChanges
	default:
		return "", errors.New("deploycheck: no change set ARN in sam deploy output")
	}
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
