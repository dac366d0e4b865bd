package ssmemu

import (
	"slices"
	"strconv"
	"time"
)

const defaultCommandPageSize = 50

func (e *Emulator) commandJSONLocked(c *command) commandJSON {
	status, details := c.statusLocked()
	completed, errs, delivTO := c.countsLocked()
	return commandJSON{
		CommandId:              c.id,
		DocumentName:           c.doc.name,
		DocumentVersion:        c.documentVersion,
		Comment:                c.comment,
		ExpiresAfter:           epochTime(c.expires),
		Parameters:             c.params,
		InstanceIds:            c.instanceIDs,
		Targets:                c.targets,
		RequestedDateTime:      epochTime(c.requested),
		Status:                 status,
		StatusDetails:          details,
		OutputS3Region:         c.s3Region,
		OutputS3BucketName:     c.bucket,
		OutputS3KeyPrefix:      c.keyPrefix,
		MaxConcurrency:         c.maxConcurrency,
		MaxErrors:              c.maxErrors,
		TargetCount:            len(c.invocations),
		CompletedCount:         completed,
		ErrorCount:             errs,
		DeliveryTimedOutCount:  delivTO,
		ServiceRole:            c.serviceRole,
		NotificationConfig:     c.notification,
		CloudWatchOutputConfig: c.cloudWatch,
		TimeoutSeconds:         c.timeoutSeconds,
		AlarmConfiguration:     c.alarm,
	}
}

// Output and its URLs exist only once an invocation has ended (documented:
// "If the command hasn't finished running, then this string is empty").
func (inv *invocation) outputsLocked() (stdout, stderr, stdoutURL, stderrURL string) {
	if !terminalDetail(inv.detail) {
		return "", "", "", ""
	}
	return inv.stdout, inv.stderr, inv.stdoutURL, inv.stderrURL
}

func (e *Emulator) getCommandInvocation(body []byte, _ *Call) (any, error) {
	var in getCommandInvocationInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var v violations
	v.required(in.CommandId, in.CommandId == nil, "commandId")
	v.required(in.InstanceId, in.InstanceId == nil, "instanceId")
	v.strLen(in.CommandId, "commandId", 36, 36)
	v.pattern(in.InstanceId, "instanceId", patInstanceID)
	v.strLen(in.PluginName, "pluginName", 4, 0)
	if err := v.err(); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.commands[*in.CommandId]
	// An unknown command is InvocationDoesNotExist too: it is what the
	// service answers while a new command is not yet visible.
	if c == nil || time.Now().Before(c.visibleAt) {
		return nil, clientErr("InvocationDoesNotExist", "no invocation of command %s on instance %s", *in.CommandId, *in.InstanceId)
	}
	inv := c.byInstance[*in.InstanceId]
	if inv == nil {
		return nil, clientErr("InvocationDoesNotExist", "no invocation of command %s on instance %s", *in.CommandId, *in.InstanceId)
	}
	if in.PluginName != nil && *in.PluginName != c.doc.plugin {
		return nil, clientErr("InvalidPluginName", "document %s has no step %s", c.doc.name, *in.PluginName)
	}
	stdout, stderr, outURL, errURL := inv.outputsLocked()
	elapsed := ""
	switch {
	case !inv.ended.IsZero() && !inv.started.IsZero():
		elapsed = isoDuration(inv.ended.Sub(inv.started))
	case !inv.started.IsZero():
		elapsed = isoDuration(time.Since(inv.started))
	}
	return getCommandInvocationOutput{
		CommandId:              c.id,
		InstanceId:             inv.instanceID,
		Comment:                c.comment,
		DocumentName:           c.doc.name,
		DocumentVersion:        c.documentVersion,
		PluginName:             c.doc.plugin,
		ResponseCode:           inv.responseCode,
		ExecutionStartDateTime: isoTime(inv.started),
		ExecutionElapsedTime:   elapsed,
		ExecutionEndDateTime:   isoTime(endIfStarted(inv)),
		Status:                 invocationStatus(inv.detail),
		StatusDetails:          inv.detail,
		StandardOutputContent:  stdout,
		StandardOutputUrl:      outURL,
		StandardErrorContent:   stderr,
		StandardErrorUrl:       errURL,
		CloudWatchOutputConfig: c.cloudWatch,
	}, nil
}

// endIfStarted: an invocation that never ran has no execution end.
func endIfStarted(inv *invocation) time.Time {
	if inv.started.IsZero() {
		return time.Time{}
	}
	return inv.ended
}

func validateListCommands(in *listCommandsInput) error {
	var v violations
	v.strLen(in.CommandId, "commandId", 36, 36)
	v.pattern(in.InstanceId, "instanceId", patInstanceID)
	v.intRange(in.MaxResults, "maxResults", 1, 50)
	if in.Filters != nil && (len(in.Filters) < 1 || len(in.Filters) > 5) {
		v.add(len(in.Filters), "filters", "Member must have length between 1 and 5")
	}
	for i, f := range in.Filters {
		at := "filters." + strconv.Itoa(i+1) + ".member"
		v.required(f.Key, f.Key == nil, at+".key")
		v.required(f.Value, f.Value == nil, at+".value")
		v.enum(f.Key, at+".key", "InvokedAfter", "InvokedBefore", "Status", "ExecutionStage", "DocumentName")
		v.strLen(f.Value, at+".value", 1, 128)
	}
	return v.err()
}

// commandFilter is a parsed CommandFilter; a command or invocation passes
// when it satisfies all filters.
type commandFilter func(c *command, status, details string, now time.Time) bool

func parseCommandFilters(in []commandFilterJSON, forInvocations bool) ([]commandFilter, error) {
	var out []commandFilter
	for _, f := range in {
		key, val := *f.Key, *f.Value
		switch key {
		case "InvokedAfter", "InvokedBefore":
			t, err := time.Parse(time.RFC3339, val)
			if err != nil {
				return nil, validationErr("filter %s: %q is not a timestamp like 2024-07-07T00:00:00Z", key, val)
			}
			after := key == "InvokedAfter"
			out = append(out, func(c *command, _, _ string, _ time.Time) bool {
				if after {
					return !c.requested.Before(t)
				}
				return !c.requested.After(t)
			})
		case "Status":
			out = append(out, func(_ *command, status, details string, _ time.Time) bool {
				return val == status || val == details || (val == "TimedOut" && (details == detailDeliveryTimedOut || details == detailExecutionTimedOut))
			})
		case "DocumentName":
			out = append(out, func(c *command, _, _ string, _ time.Time) bool { return c.doc.name == val })
		case "ExecutionStage":
			if forInvocations {
				// Documented: ExecutionStage is for ListCommands only.
				return nil, clientErr("InvalidFilterKey", "ExecutionStage cannot be used with ListCommandInvocations")
			}
			if val != "Executing" && val != "Complete" {
				return nil, validationErr("filter ExecutionStage: %q is not Executing or Complete", val)
			}
			out = append(out, func(c *command, status, details string, _ time.Time) bool {
				done := c.done || (status != "Pending" && status != "InProgress" && status != "Cancelling")
				return done == (val == "Complete")
			})
		}
	}
	return out, nil
}

func passes(filters []commandFilter, c *command, status, details string, now time.Time) bool {
	for _, f := range filters {
		if !f(c, status, details, now) {
			return false
		}
	}
	return true
}

func (e *Emulator) listCommands(body []byte, _ *Call) (any, error) {
	var in listCommandsInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := validateListCommands(&in); err != nil {
		return nil, err
	}
	filters, err := parseCommandFilters(in.Filters, false)
	if err != nil {
		return nil, err
	}
	offset, err := decodeToken("ListCommands", in.NextToken)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if in.CommandId != nil && e.commands[*in.CommandId] == nil {
		return nil, clientErr("InvalidCommandId", "command %s does not exist", *in.CommandId)
	}
	now := time.Now()
	var out []commandJSON
	for _, c := range slices.Backward(e.commandOrder) {
		if in.CommandId != nil && c.id != *in.CommandId {
			continue
		}
		if in.InstanceId != nil && c.byInstance[*in.InstanceId] == nil {
			continue
		}
		status, details := c.statusLocked()
		if !passes(filters, c, status, details, now) {
			continue
		}
		out = append(out, e.commandJSONLocked(c))
	}
	size := defaultCommandPageSize
	if in.MaxResults != nil {
		size = *in.MaxResults
	}
	items, next := page("ListCommands", out, offset, size)
	if items == nil {
		items = []commandJSON{}
	}
	return struct {
		Commands  []commandJSON `json:"Commands"`
		NextToken *string       `json:"NextToken,omitempty"`
	}{items, next}, nil
}

func (e *Emulator) listCommandInvocations(body []byte, _ *Call) (any, error) {
	var in listCommandsInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := validateListCommands(&in); err != nil {
		return nil, err
	}
	filters, err := parseCommandFilters(in.Filters, true)
	if err != nil {
		return nil, err
	}
	offset, err := decodeToken("ListCommandInvocations", in.NextToken)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := time.Now()
	var out []commandInvocationJSON
	for _, c := range slices.Backward(e.commandOrder) {
		// Unknown and not-yet-visible commands both answer an empty list.
		if in.CommandId != nil && c.id != *in.CommandId || now.Before(c.visibleAt) {
			continue
		}
		for _, inv := range c.invocations {
			if in.InstanceId != nil && inv.instanceID != *in.InstanceId {
				continue
			}
			if !passes(filters, c, invocationStatus(inv.detail), inv.detail, now) {
				continue
			}
			out = append(out, e.invocationJSONLocked(inv, in.Details))
		}
	}
	size := defaultCommandPageSize
	if in.MaxResults != nil {
		size = *in.MaxResults
	}
	items, next := page("ListCommandInvocations", out, offset, size)
	if items == nil {
		items = []commandInvocationJSON{}
	}
	return struct {
		CommandInvocations []commandInvocationJSON `json:"CommandInvocations"`
		NextToken          *string                 `json:"NextToken,omitempty"`
	}{items, next}, nil
}

func (e *Emulator) invocationJSONLocked(inv *invocation, details bool) commandInvocationJSON {
	c := inv.cmd
	_, _, outURL, errURL := inv.outputsLocked()
	j := commandInvocationJSON{
		CommandId:              c.id,
		InstanceId:             inv.instanceID,
		Comment:                c.comment,
		DocumentName:           c.doc.name,
		DocumentVersion:        c.documentVersion,
		RequestedDateTime:      epochTime(c.requested),
		Status:                 invocationStatus(inv.detail),
		StatusDetails:          inv.detail,
		StandardOutputUrl:      outURL,
		StandardErrorUrl:       errURL,
		CommandPlugins:         []commandPluginJSON{},
		ServiceRole:            c.serviceRole,
		NotificationConfig:     c.notification,
		CloudWatchOutputConfig: c.cloudWatch,
	}
	if details {
		output := ""
		if terminalDetail(inv.detail) {
			output = inv.pluginOutput
		}
		j.CommandPlugins = []commandPluginJSON{{
			Name:                   c.doc.plugin,
			Status:                 pluginStatus(inv.detail),
			StatusDetails:          inv.detail,
			ResponseCode:           inv.responseCode,
			ResponseStartDateTime:  epochPtr(inv.started),
			ResponseFinishDateTime: epochPtr(endIfStarted(inv)),
			Output:                 output,
			StandardOutputUrl:      outURL,
			StandardErrorUrl:       errURL,
			OutputS3Region:         e.s3.regionFor(c),
			OutputS3BucketName:     c.bucket,
			OutputS3KeyPrefix:      pluginPrefix(c, inv.instanceID),
		}}
	}
	return j
}

// pluginPrefix is the plugin's S3 "directory" as CommandPlugin documents it:
// <prefix>/<commandId>/<instanceId>/<plugin without colons>.
func pluginPrefix(c *command, instanceID string) string {
	if c.bucket == "" {
		return ""
	}
	return c.s3Prefix(instanceID)
}

func (e *Emulator) cancelCommand(body []byte, _ *Call) (any, error) {
	var in cancelCommandInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var v violations
	v.required(in.CommandId, in.CommandId == nil, "commandId")
	v.strLen(in.CommandId, "commandId", 36, 36)
	v.listLen(in.InstanceIds, "instanceIds", 0, 50)
	v.memberPattern(in.InstanceIds, "instanceIds", patInstanceID)
	if err := v.err(); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.commands[*in.CommandId]
	if c == nil {
		return nil, clientErr("InvalidCommandId", "command %s does not exist", *in.CommandId)
	}
	seen := map[string]bool{}
	for _, id := range in.InstanceIds {
		if seen[id] {
			return nil, clientErr("DuplicateInstanceId", "instance %s is listed more than once", id)
		}
		seen[id] = true
		if c.byInstance[id] == nil {
			return nil, clientErr("InvalidInstanceId", "command %s was not sent to instance %s", c.id, id)
		}
	}
	now := time.Now()
	if len(in.InstanceIds) == 0 {
		allDone := true
		for _, inv := range c.invocations {
			allDone = allDone && terminalDetail(inv.detail)
		}
		if !allDone {
			c.cancelAll = true
		}
	}
	for _, inv := range c.invocations {
		if len(in.InstanceIds) > 0 && !seen[inv.instanceID] {
			continue
		}
		inv.cancelLocked(now)
	}
	c.signal()
	return struct{}{}, nil
}

// cancelLocked: an invocation not yet started is Cancelled at once; a running
// one is Cancelling until its process group is dead.
func (inv *invocation) cancelLocked(now time.Time) {
	switch {
	case terminalDetail(inv.detail):
	case inv.running:
		inv.detail = detailCancelling
		inv.requestStopLocked(detailCancelled)
	default:
		inv.held = nil
		inv.finishLocked(detailCancelled, -1, now)
	}
}
