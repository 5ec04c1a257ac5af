package apigw

import (
	"context"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/deepfoundai/jobs-api/internal/jobs"
)

// JobList is the body of GET /v1/jobs: a page of jobs and, when more
// follow, the cursor that fetches them. The batch form (ids=) never has a
// cursor.
type JobList struct {
	Jobs       []JobResponse `json:"jobs"`
	NextCursor string        `json:"nextCursor,omitempty"`
}

// listParams are the query parameters GET /v1/jobs accepts. Anything else is
// a 400, so a typo ("statuses=") is an error rather than an unfiltered list.
var listParams = map[string]bool{"status": true, "limit": true, "cursor": true, "scope": true, "order": true, "ids": true}

// maxIDsParam bounds the raw ids parameter before it is split.
const maxIDsParam = jobs.MaxBatchIDs * (jobs.MaxIDLength + 1)

// ListJobs serves GET /v1/jobs. Without ids: a page of the caller's jobs
// (scope=mine, the default) or, for admins, of every job (scope=all), newest
// first unless order=oldest, filtered by status=A,B, limit jobs per page,
// continued with cursor. With ids=a,b,c: those of the jobs the caller may
// see, in the order asked; unknown, foreign and expired ids are simply
// absent; with an ETag (304 for a matching If-None-Match) and, while any of
// them is unfinished, Retry-After. Admins see each job's ownerId.
func (h *Handler) ListJobs(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	return h.serve(ctx, req, h.listJobs)
}

func (h *Handler) listJobs(ctx context.Context, req *events.APIGatewayProxyRequest, caller jobs.Caller) (events.APIGatewayProxyResponse, error) {
	params, err := queryParams(req)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	var (
		found []jobs.Job
		next  string
	)
	ids, batch := params["ids"]
	switch {
	case batch && len(params) > 1:
		err = jobs.Errorf(jobs.EINVALID, "ids: cannot be combined with other parameters")
	case batch:
		var list []string
		if list, err = splitIDs(ids); err == nil {
			found, err = h.Service.BatchGet(ctx, caller, list)
		}
	default:
		var lr jobs.ListRequest
		if lr, err = listRequest(params); err == nil {
			var page jobs.Page
			page, err = h.Service.List(ctx, caller, lr)
			found, next = page.Jobs, page.NextCursor
		}
	}
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	body := JobList{Jobs: make([]JobResponse, len(found)), NextCursor: next}
	for i, j := range found {
		body.Jobs[i] = JobView(j, caller)
	}
	if !batch {
		return h.CORS.respond(req, http.StatusOK, body, nil), nil
	}
	// The batch form is what a dashboard polls: the same contract as a
	// job's GET (ETag, 304, Retry-After while anything in it may change).
	hdr := map[string]string{"ETag": BatchETag(found, caller.IsAdmin())}
	if ra, ok := h.Polling.BatchRetryAfter(found); ok {
		hdr["Retry-After"] = ra
	}
	if NotModified(headerValues(req, "If-None-Match"), hdr["ETag"]) {
		return h.CORS.respond(req, http.StatusNotModified, nil, hdr), nil
	}
	return h.CORS.respond(req, http.StatusOK, body, hdr), nil
}

// queryParams merges queryStringParameters and multiValueQueryStringParameters
// (API Gateway fills both) into one value per name: status may repeat and
// its values are joined with commas; any other repeated name is a 400.
func queryParams(req *events.APIGatewayProxyRequest) (map[string]string, error) {
	all := map[string][]string{}
	for k, vs := range req.MultiValueQueryStringParameters {
		all[k] = append(all[k], vs...)
	}
	for k, v := range req.QueryStringParameters {
		if _, ok := all[k]; !ok {
			all[k] = []string{v}
		}
	}
	names := make([]string, 0, len(all))
	for k := range all {
		names = append(names, k)
	}
	sort.Strings(names) // the first bad name, reported the same way every time
	out := make(map[string]string, len(all))
	for _, k := range names {
		vs := all[k]
		switch {
		case !listParams[k]:
			return nil, jobs.Errorf(jobs.EINVALID, "%s: unknown query parameter; use status, limit, cursor, scope, order or ids", jobs.Clip(k, 32))
		case len(vs) > 1 && k != "status":
			return nil, jobs.Errorf(jobs.EINVALID, "%s: give it once", k)
		}
		out[k] = strings.Join(vs, ",")
	}
	return out, nil
}

func listRequest(p map[string]string) (jobs.ListRequest, error) {
	lr := jobs.ListRequest{Scope: jobs.Scope(p["scope"]), Order: jobs.Order(p["order"]), Cursor: p["cursor"]}
	if _, ok := p["scope"]; ok && lr.Scope == "" {
		return lr, jobs.Errorf(jobs.EINVALID, "scope: one of mine, all")
	}
	if _, ok := p["order"]; ok && lr.Order == "" {
		return lr, jobs.Errorf(jobs.EINVALID, "order: one of newest, oldest")
	}
	if v, ok := p["limit"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > jobs.MaxPageSize {
			return lr, jobs.Errorf(jobs.EINVALID, "limit: an integer from 1 to %d", jobs.MaxPageSize)
		}
		lr.Limit = n
	}
	if _, ok := p["cursor"]; ok && lr.Cursor == "" {
		return lr, jobs.Errorf(jobs.EINVALID, "cursor: empty; leave it out for the first page")
	}
	if v, ok := p["status"]; ok {
		for _, s := range strings.Split(v, ",") {
			st, err := jobs.ParseStatus(strings.ToUpper(strings.TrimSpace(s)))
			if err != nil {
				return lr, jobs.Errorf(jobs.EINVALID, "status: %s", jobs.ErrorMessage(err))
			}
			lr.Statuses = append(lr.Statuses, st)
		}
	}
	return lr, nil
}

func splitIDs(v string) ([]string, error) {
	if v == "" || len(v) > maxIDsParam {
		return nil, jobs.Errorf(jobs.EINVALID, "ids: 1 to %d comma-separated job ids", jobs.MaxBatchIDs)
	}
	return strings.Split(v, ","), nil
}
