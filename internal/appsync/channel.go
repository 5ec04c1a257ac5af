// Package appsync publishes the jobs table's committed changes to an AWS
// AppSync Events API, where signed-in dashboards receive them over a
// WebSocket: the consumer of the table's DynamoDB stream (StreamHandler) and
// the Events API's HTTP publish client (Client).
package appsync

import "strings"

// Namespace is the channel namespace of job events (template.yaml's
// JobEventsNamespace).
const Namespace = "jobs"

// OwnerlessSegment is the channel segment of jobs recorded without an owner,
// which only admins may see. Cognito subs are UUIDs, so no user's channel
// has this name.
const OwnerlessSegment = "ownerless"

// AllJobsChannel is the wildcard channel admins subscribe to.
const AllJobsChannel = "/" + Namespace + "/*"

// Channel is the channel of the jobs of ownerID (a Cognito sub):
// "/jobs/<sub>". A user may subscribe to their own channel only; admins
// subscribe to AllJobsChannel (template.yaml's onSubscribe handler).
func Channel(ownerID string) string {
	if ownerID == "" {
		ownerID = OwnerlessSegment
	}
	return "/" + Namespace + "/" + ownerID
}

// ValidSegment reports whether s may be a channel segment of the Events
// API: 1 to 50 letters, digits and '-'.
func ValidSegment(s string) bool {
	if s == "" || len(s) > 50 {
		return false
	}
	return strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") == ""
}
