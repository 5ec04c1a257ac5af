package samtemplate

import (
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// tableProps is the part of an AWS::DynamoDB::Table's properties that shapes
// the data: what a local engine needs to hold the same items and answer the
// same queries. PITR, TTL, deletion protection and billing have no local
// effect (TTL is switched on by the template in AWS; readers already treat
// expired items as gone).
type tableProps struct {
	TableName              string
	AttributeDefinitions   []types.AttributeDefinition
	KeySchema              []types.KeySchemaElement
	GlobalSecondaryIndexes []struct {
		IndexName  string
		KeySchema  []types.KeySchemaElement
		Projection struct {
			ProjectionType   types.ProjectionType
			NonKeyAttributes []string
		}
	}
	LocalSecondaryIndexes []json.RawMessage
}

// TableInput converts the template's AWS::DynamoDB::Table resource logicalID
// into a CreateTableInput (on-demand billing), resolving its intrinsics
// (TableName: !Sub Jobs-${Stage}) with r. The template stays the one
// definition of the table's keys and indexes.
func TableInput(tpl *Template, r *Resolver, logicalID string) (*ddb.CreateTableInput, error) {
	res, ok := tpl.Resources[logicalID]
	if !ok || res.Type != "AWS::DynamoDB::Table" {
		return nil, fmt.Errorf("samtemplate: template has no AWS::DynamoDB::Table %s", logicalID)
	}
	resolved, err := r.Value(res.Properties)
	if err != nil {
		return nil, fmt.Errorf("samtemplate: %s: %w", logicalID, err)
	}
	b, err := json.Marshal(resolved)
	if err != nil {
		return nil, fmt.Errorf("samtemplate: %s: %w", logicalID, err)
	}
	var p tableProps
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("samtemplate: %s: %w", logicalID, err)
	}
	switch {
	case p.TableName == "":
		return nil, fmt.Errorf("samtemplate: %s: TableName is required here", logicalID)
	case len(p.KeySchema) == 0 || len(p.AttributeDefinitions) == 0:
		return nil, fmt.Errorf("samtemplate: %s: KeySchema and AttributeDefinitions are required", logicalID)
	case len(p.LocalSecondaryIndexes) > 0:
		return nil, fmt.Errorf("samtemplate: %s: LocalSecondaryIndexes are not supported", logicalID)
	}
	in := &ddb.CreateTableInput{
		TableName:            aws.String(p.TableName),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: p.AttributeDefinitions,
		KeySchema:            p.KeySchema,
	}
	for _, g := range p.GlobalSecondaryIndexes {
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
			IndexName: aws.String(g.IndexName),
			KeySchema: g.KeySchema,
			Projection: &types.Projection{
				ProjectionType:   g.Projection.ProjectionType,
				NonKeyAttributes: g.Projection.NonKeyAttributes,
			},
		})
	}
	return in, nil
}
