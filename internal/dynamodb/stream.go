package dynamodb

import (
	"fmt"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/deepfoundai/jobs-api/internal/jobs"
)

// The table's stream (StreamViewType NEW_IMAGE) carries each committed write
// as the item it left, in the Lambda event's attribute value shape. These
// functions read a job from such an image and, for the local server, make
// one from an item as PutItem wrote it.

// JobFromStreamImage reads the job an INSERT or MODIFY stream record's
// NewImage holds. Errors are EINTERNAL: an image that does not decode is not
// a job this service wrote.
func JobFromStreamImage(image map[string]events.DynamoDBAttributeValue) (jobs.Job, error) {
	if len(image) == 0 {
		return jobs.Job{}, jobs.Errorf(jobs.EINTERNAL, "stream record without a NewImage (is the stream's view type NEW_IMAGE?)")
	}
	av := make(map[string]types.AttributeValue, len(image))
	for k, v := range image {
		c, err := fromStream(v)
		if err != nil {
			return jobs.Job{}, jobs.Wrap(jobs.EINTERNAL, err, "stream image attribute "+k)
		}
		av[k] = c
	}
	return decode(av)
}

// StreamImage is item as a stream record's image carries it (the local
// server turns its table's committed writes into stream records).
func StreamImage(item map[string]types.AttributeValue) (map[string]events.DynamoDBAttributeValue, error) {
	out := make(map[string]events.DynamoDBAttributeValue, len(item))
	for k, v := range item {
		c, err := toStream(v)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", k, err)
		}
		out[k] = c
	}
	return out, nil
}

func fromStream(v events.DynamoDBAttributeValue) (types.AttributeValue, error) {
	switch v.DataType() {
	case events.DataTypeString:
		return &types.AttributeValueMemberS{Value: v.String()}, nil
	case events.DataTypeNumber:
		return &types.AttributeValueMemberN{Value: v.Number()}, nil
	case events.DataTypeBoolean:
		return &types.AttributeValueMemberBOOL{Value: v.Boolean()}, nil
	case events.DataTypeNull:
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case events.DataTypeBinary:
		return &types.AttributeValueMemberB{Value: v.Binary()}, nil
	case events.DataTypeStringSet:
		return &types.AttributeValueMemberSS{Value: v.StringSet()}, nil
	case events.DataTypeNumberSet:
		return &types.AttributeValueMemberNS{Value: v.NumberSet()}, nil
	case events.DataTypeBinarySet:
		return &types.AttributeValueMemberBS{Value: v.BinarySet()}, nil
	case events.DataTypeMap:
		m := map[string]types.AttributeValue{}
		for k, e := range v.Map() {
			c, err := fromStream(e)
			if err != nil {
				return nil, err
			}
			m[k] = c
		}
		return &types.AttributeValueMemberM{Value: m}, nil
	case events.DataTypeList:
		var l []types.AttributeValue
		for _, e := range v.List() {
			c, err := fromStream(e)
			if err != nil {
				return nil, err
			}
			l = append(l, c)
		}
		return &types.AttributeValueMemberL{Value: l}, nil
	}
	return nil, fmt.Errorf("unknown attribute value type %v", v.DataType())
}

func toStream(v types.AttributeValue) (events.DynamoDBAttributeValue, error) {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return events.NewStringAttribute(v.Value), nil
	case *types.AttributeValueMemberN:
		return events.NewNumberAttribute(v.Value), nil
	case *types.AttributeValueMemberBOOL:
		return events.NewBooleanAttribute(v.Value), nil
	case *types.AttributeValueMemberNULL:
		return events.NewNullAttribute(), nil
	case *types.AttributeValueMemberB:
		return events.NewBinaryAttribute(v.Value), nil
	case *types.AttributeValueMemberSS:
		return events.NewStringSetAttribute(v.Value), nil
	case *types.AttributeValueMemberNS:
		return events.NewNumberSetAttribute(v.Value), nil
	case *types.AttributeValueMemberBS:
		return events.NewBinarySetAttribute(v.Value), nil
	case *types.AttributeValueMemberM:
		m := map[string]events.DynamoDBAttributeValue{}
		for k, e := range v.Value {
			c, err := toStream(e)
			if err != nil {
				return events.DynamoDBAttributeValue{}, err
			}
			m[k] = c
		}
		return events.NewMapAttribute(m), nil
	case *types.AttributeValueMemberL:
		l := make([]events.DynamoDBAttributeValue, 0, len(v.Value))
		for _, e := range v.Value {
			c, err := toStream(e)
			if err != nil {
				return events.DynamoDBAttributeValue{}, err
			}
			l = append(l, c)
		}
		return events.NewListAttribute(l), nil
	}
	return events.DynamoDBAttributeValue{}, fmt.Errorf("unsupported attribute value %T", v)
}
