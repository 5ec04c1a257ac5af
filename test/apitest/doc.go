// Package apitest holds end-to-end tests of the Jobs API's Lambda handlers
// (API Gateway proxy events in, proxy responses out) over a real
// DynamoDB-compatible server: the lifecycle flows a dashboard and the video
// pipeline go through. It has no code of its own.
package apitest
