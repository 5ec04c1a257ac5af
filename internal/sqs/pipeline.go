// Package sqs hands jobs to the video pipeline through an Amazon SQS queue.
package sqs

import (
	"context"
	"encoding/json"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/deepfoundai/jobs-api/internal/awsenv"
	"github.com/deepfoundai/jobs-api/internal/jobs"
)

// API is the subset of the SQS client the pipeline uses.
type API interface {
	SendMessage(ctx context.Context, in *awssqs.SendMessageInput, optFns ...func(*awssqs.Options)) (*awssqs.SendMessageOutput, error)
}

// DefaultTimeout bounds one hand-off, retries included.
const DefaultTimeout = 3 * time.Second

// Pipeline is a jobs.Pipeline on one queue.
type Pipeline struct {
	client   API
	queueURL string
	Timeout  time.Duration
}

var _ jobs.Pipeline = (*Pipeline)(nil)

// New returns a pipeline that sends to queueURL.
func New(client API, queueURL string) *Pipeline {
	return &Pipeline{client: client, queueURL: queueURL}
}

// NewClientFromEnv builds an SQS client from the Lambda environment (see
// awsenv.Load), honouring AWS_ENDPOINT_URL_SQS.
func NewClientFromEnv() (*awssqs.Client, error) {
	env, err := awsenv.Load()
	if err != nil {
		return nil, err
	}
	return awssqs.New(awssqs.Options{
		Region:       env.Region,
		Credentials:  env.Credentials,
		HTTPClient:   env.HTTPClient,
		Retryer:      env.Retryer(),
		BaseEndpoint: awsenv.Endpoint("SQS"),
	}), nil
}

// Message is the body the pipeline receives: the job's ID, owner and what
// to make. The pipeline reports back with status events keyed by jobId.
type Message struct {
	JobID     string         `json:"jobId"`
	OwnerID   string         `json:"ownerId"`
	CreatedAt string         `json:"createdAt"`
	Request   MessageRequest `json:"request"`
}

// MessageRequest is the generation request.
type MessageRequest struct {
	Prompt          string `json:"prompt"`
	DurationSeconds int    `json:"durationSeconds"`
	AspectRatio     string `json:"aspectRatio"`
	Resolution      string `json:"resolution"`
}

// Enqueue sends j as a Message. Failures are EUNAVAILABLE.
func (p *Pipeline) Enqueue(ctx context.Context, j jobs.Job) error {
	body, err := json.Marshal(Message{
		JobID: j.ID, OwnerID: j.OwnerID, CreatedAt: jobs.FormatTime(j.CreatedAt),
		Request: MessageRequest{Prompt: j.Spec.Prompt, DurationSeconds: j.Spec.DurationSeconds, AspectRatio: j.Spec.AspectRatio, Resolution: j.Spec.Resolution},
	})
	if err != nil {
		return jobs.Wrap(jobs.EINTERNAL, err, "encode pipeline message")
	}
	d := p.Timeout
	if d <= 0 {
		d = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if _, err := p.client.SendMessage(ctx, &awssqs.SendMessageInput{
		QueueUrl:    aws.String(p.queueURL),
		MessageBody: aws.String(string(body)),
	}); err != nil {
		return jobs.Wrap(jobs.EUNAVAILABLE, err, "The video pipeline is not accepting jobs; retry shortly.")
	}
	return nil
}
