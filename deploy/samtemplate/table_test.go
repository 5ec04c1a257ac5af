package samtemplate_test

import (
	"testing"

	"github.com/deepfoundai/jobs-api/deploy/samtemplate"
)

func TestTableInputErrors(t *testing.T) {
	t.Parallel()
	tpl, err := samtemplate.Parse([]byte(`
Resources:
  NoName: {Type: AWS::DynamoDB::Table, Properties: {KeySchema: [{AttributeName: id, KeyType: HASH}], AttributeDefinitions: [{AttributeName: id, AttributeType: S}]}}
  NoKeys: {Type: AWS::DynamoDB::Table, Properties: {TableName: t}}
  Queue: {Type: AWS::SQS::Queue, Properties: {}}
`))
	if err != nil {
		t.Fatal(err)
	}
	r, err := samtemplate.NewResolver(tpl, samtemplate.ResolveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"NoName", "NoKeys", "Queue", "Missing"} {
		if _, err := samtemplate.TableInput(tpl, r, id); err == nil {
			t.Errorf("TableInput(%s) succeeded, want an error", id)
		}
	}
}
