package ssmemu

import (
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Defaults documented for SendCommand and for the AWS-RunShellScript document.
const (
	defaultTimeoutSeconds   = 3600
	defaultExecutionTimeout = 3600
	defaultMaxConcurrency   = "50"
	defaultMaxErrors        = "0"
)

// executionTimeout's allowedPattern in the AWS-RunShellScript document: 1..172800.
var execTimeoutPattern = regexp.MustCompile(`^(([1-9][0-9]{0,4})|(1[0-6][0-9]{4})|(17[0-1][0-9]{3})|(172[0-7][0-9]{2})|(172800))$`)

func (e *Emulator) sendCommand(body []byte, call *Call) (any, error) {
	var in sendCommandInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := validateSendCommand(&in); err != nil {
		return nil, err
	}
	doc, version, err := resolveDocument(in.DocumentName, in.DocumentVersion)
	if err != nil {
		return nil, err
	}
	hasIDs, hasTargets := len(in.InstanceIds) > 0, len(in.Targets) > 0
	if hasIDs && hasTargets {
		return nil, validationErr("InstanceIds and Targets cannot both be specified")
	}
	if !hasIDs && !hasTargets {
		return nil, validationErr("either InstanceIds or Targets must be specified")
	}
	cmds, workDir, execTimeout, err := runShellParameters(in.Parameters)
	if err != nil {
		return nil, err
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, &apiError{status: 500, typ: "InternalServerError", message: "emulator is closed"}
	}

	var targetIDs []string
	if hasIDs {
		if err := e.checkInstanceIDsLocked(in.InstanceIds, doc); err != nil {
			return nil, err
		}
		targetIDs = in.InstanceIds
	} else {
		targetIDs, err = e.resolveTargetsLocked(in.Targets)
		if err != nil {
			return nil, err
		}
	}

	now := time.Now()
	timeout := defaultTimeoutSeconds
	if in.TimeoutSeconds != nil {
		timeout = *in.TimeoutSeconds
	}
	c := &command{
		id:              newUUID(),
		doc:             doc,
		documentVersion: version,
		comment:         deref(in.Comment),
		params:          in.Parameters,
		instanceIDs:     slices.Clone(in.InstanceIds),
		targets:         in.Targets,
		requested:       now,
		visibleAt:       now.Add(e.visibilityDelay),
		timeoutSeconds:  timeout,
		execTimeout:     e.scaled(execTimeout),
		commands:        cmds,
		workingDir:      workDir,
		maxConcurrency:  orDefault(in.MaxConcurrency, defaultMaxConcurrency),
		maxErrors:       orDefault(in.MaxErrors, defaultMaxErrors),
		bucket:          deref(in.OutputS3BucketName),
		keyPrefix:       deref(in.OutputS3KeyPrefix),
		s3Region:        deref(in.OutputS3Region),
		serviceRole:     deref(in.ServiceRoleArn),
		notification:    notificationJSON{NotificationEvents: []string{}},
		alarm:           in.AlarmConfiguration,
		byInstance:      map[string]*invocation{},
		wake:            make(chan struct{}, 1),
	}
	// Documented: a command not started within TimeoutSeconds never runs, and
	// it expires (undelivered invocations become Delivery Timed Out) after
	// TimeoutSeconds plus the execution timeout.
	c.deliverBy = now.Add(e.scaled(timeout))
	c.expires = now.Add(e.scaled(timeout + execTimeout))
	if c.instanceIDs == nil {
		c.instanceIDs = []string{}
	}
	if c.targets == nil {
		c.targets = []targetJSON{}
	}
	if c.params == nil {
		c.params = map[string][]string{}
	}
	if n := in.NotificationConfig; n != nil {
		c.notification = notificationJSON{NotificationArn: deref(n.NotificationArn), NotificationEvents: n.NotificationEvents, NotificationType: deref(n.NotificationType)}
		if c.notification.NotificationEvents == nil {
			c.notification.NotificationEvents = []string{}
		}
	}
	if cw := in.CloudWatchOutputConfig; cw != nil {
		c.cloudWatch = cloudWatchJSON{CloudWatchLogGroupName: deref(cw.CloudWatchLogGroupName), CloudWatchOutputEnabled: cw.CloudWatchOutputEnabled != nil && *cw.CloudWatchOutputEnabled}
	}
	c.maxConc = resolveRate(c.maxConcurrency, len(targetIDs), true)
	c.maxErr = resolveRate(c.maxErrors, len(targetIDs), false)
	for _, id := range targetIDs {
		inv := &invocation{cmd: c, instanceID: id, detail: detailPending, responseCode: -1}
		if inst := e.instances[id]; inst != nil && inst.Platform != doc.platform {
			// Only reachable through Targets: InstanceIds were checked above.
			inv.finishLocked(detailInvalidPlatform, -1, now)
		}
		c.invocations = append(c.invocations, inv)
		c.byInstance[id] = inv
	}
	e.commands[c.id] = c
	e.commandOrder = append(e.commandOrder, c)
	call.CommandID = c.id

	out := e.commandJSONLocked(c)
	if hasTargets {
		// Observed: a Targets command answers TargetCount 0 until it is resolved.
		out.TargetCount = 0
	}
	e.wg.Add(1)
	go e.schedule(c)
	return map[string]any{"Command": out}, nil
}

func validateSendCommand(in *sendCommandInput) error {
	var v violations
	v.required(in.DocumentName, in.DocumentName == nil, "documentName")
	v.listLen(in.InstanceIds, "instanceIds", 0, 50)
	v.memberPattern(in.InstanceIds, "instanceIds", patInstanceID)
	if len(in.Targets) > 5 {
		v.add(len(in.Targets), "targets", "Member must have length less than or equal to 5")
	}
	for i, t := range in.Targets {
		at := "targets." + strconv.Itoa(i+1) + ".member"
		v.strLen(t.Key, at+".key", 1, 163)
		v.pattern(t.Key, at+".key", patTargetKey)
		v.listLen(t.Values, at+".values", 0, 50)
	}
	v.pattern(in.DocumentName, "documentName", patDocumentARN)
	v.pattern(in.DocumentVersion, "documentVersion", patDocVersion)
	v.strLen(in.DocumentHash, "documentHash", 0, 256)
	v.enum(in.DocumentHashType, "documentHashType", "Sha256", "Sha1")
	v.intRange(in.TimeoutSeconds, "timeoutSeconds", 30, 2592000)
	v.strLen(in.Comment, "comment", 0, 100)
	v.strLen(in.OutputS3Region, "outputS3Region", 3, 20)
	v.strLen(in.OutputS3BucketName, "outputS3BucketName", 3, 63)
	v.strLen(in.OutputS3KeyPrefix, "outputS3KeyPrefix", 0, 500)
	v.strLen(in.MaxConcurrency, "maxConcurrency", 1, 7)
	v.pattern(in.MaxConcurrency, "maxConcurrency", patMaxConcurrency)
	v.strLen(in.MaxErrors, "maxErrors", 1, 7)
	v.pattern(in.MaxErrors, "maxErrors", patMaxErrors)
	if n := in.NotificationConfig; n != nil {
		for _, ev := range n.NotificationEvents {
			v.enum(&ev, "notificationConfig.notificationEvents.member", "All", "InProgress", "Success", "TimedOut", "Cancelled", "Failed")
		}
		v.enum(n.NotificationType, "notificationConfig.notificationType", "Command", "Invocation")
	}
	if cw := in.CloudWatchOutputConfig; cw != nil {
		v.strLen(cw.CloudWatchLogGroupName, "cloudWatchOutputConfig.cloudWatchLogGroupName", 1, 512)
	}
	return v.err()
}

// resolveDocument accepts a document by name or by the ARN of an AWS-owned
// document, and the versions the AWS documents have ($DEFAULT, $LATEST, 1).
func resolveDocument(name, version *string) (document, string, error) {
	n := *name
	if strings.HasPrefix(n, "arn:") {
		if i := strings.LastIndex(n, ":document/"); i >= 0 {
			n = n[i+len(":document/"):]
		}
	}
	doc, ok := documents[n]
	if !ok || !patDocumentName.re().MatchString(n) {
		return document{}, "", clientErr("InvalidDocument", "document %s does not exist", *name)
	}
	v := "$DEFAULT"
	if version != nil {
		v = *version
		if v != "$DEFAULT" && v != "$LATEST" && v != "1" {
			return document{}, "", clientErr("InvalidDocumentVersion", "document %s has no version %s", n, v)
		}
	}
	return doc, v, nil
}

// runShellParameters checks Parameters against the parameters both AWS
// run-script documents declare: commands (StringList, required),
// workingDirectory (String) and executionTimeout (String, 1..172800).
func runShellParameters(p map[string][]string) (commands []string, workDir string, execTimeout int, err error) {
	execTimeout = defaultExecutionTimeout
	for k := range p {
		switch k {
		case "commands", "workingDirectory", "executionTimeout":
		default:
			return nil, "", 0, clientErr("InvalidParameters", "document does not define parameter %q", k)
		}
	}
	commands = p["commands"]
	if len(commands) == 0 {
		return nil, "", 0, clientErr("InvalidParameters", "the required parameter commands is missing")
	}
	if wd, ok := p["workingDirectory"]; ok {
		if len(wd) != 1 {
			return nil, "", 0, clientErr("InvalidParameters", "workingDirectory takes exactly one value")
		}
		workDir = wd[0]
	}
	if et, ok := p["executionTimeout"]; ok {
		if len(et) != 1 || !execTimeoutPattern.MatchString(et[0]) {
			return nil, "", 0, clientErr("InvalidParameters", "executionTimeout must be one whole number of seconds between 1 and 172800")
		}
		execTimeout, _ = strconv.Atoi(et[0])
	}
	return commands, workDir, execTimeout, nil
}

// checkInstanceIDsLocked applies the service-side checks on explicit
// InstanceIds: duplicates, unknown (or not-hex) IDs, and documents meant for
// another platform (UnsupportedPlatformType, as the model documents for "a
// document for a Windows managed node sent to a Linux node").
func (e *Emulator) checkInstanceIDsLocked(ids []string, doc document) error {
	seen := map[string]bool{}
	var unknown []string
	for _, id := range ids {
		if seen[id] {
			return clientErr("DuplicateInstanceId", "instance %s is listed more than once", id)
		}
		seen[id] = true
		if _, ok := e.instances[id]; !ok {
			unknown = append(unknown, id)
		}
	}
	if len(unknown) > 0 {
		return clientErr("InvalidInstanceId", "instances [%s] are not managed nodes in a valid state", strings.Join(unknown, ", "))
	}
	for _, id := range ids {
		if p := e.instances[id].Platform; p != doc.platform {
			return clientErr("UnsupportedPlatformType", "cannot run %s on instance %s of platform type %s", doc.name, id, p)
		}
	}
	return nil
}

// resolveTargetsLocked evaluates Targets against instance tags. Several
// targets must all match (they narrow each other).
func (e *Emulator) resolveTargetsLocked(targets []targetJSON) ([]string, error) {
	var out []string
	for _, id := range e.order {
		inst := e.instances[id]
		all := true
		for _, t := range targets {
			ok, err := targetMatches(t, inst)
			if err != nil {
				return nil, err
			}
			if !ok {
				all = false
				break
			}
		}
		if all {
			out = append(out, id)
		}
	}
	return out, nil
}

func targetMatches(t targetJSON, inst *instance) (bool, error) {
	key := deref(t.Key)
	switch {
	case key == "InstanceIds":
		return slices.Contains(t.Values, inst.ID), nil
	case key == "tag-key":
		for _, k := range t.Values {
			if _, ok := inst.Tags[k]; ok {
				return true, nil
			}
		}
		return false, nil
	case strings.HasPrefix(key, "tag:"):
		v, ok := inst.Tags[strings.TrimPrefix(key, "tag:")]
		return ok && slices.Contains(t.Values, v), nil
	case strings.HasPrefix(key, "resource-groups:"):
		return false, clientErr("InvalidParameters", "resource group targets are not supported by this emulator")
	}
	return false, validationErr("target key %q is not InstanceIds, tag-key or tag:<name>", key)
}

// resolveRate turns MaxConcurrency/MaxErrors ("10" or "10%") into a count.
// Inferred rounding: concurrency rounds up and is at least 1, errors round down.
func resolveRate(s string, targets int, concurrency bool) int {
	if p, ok := strings.CutSuffix(s, "%"); ok {
		pct, _ := strconv.Atoi(p)
		f := float64(pct) * float64(targets) / 100
		if concurrency {
			return max(1, int(math.Ceil(f)))
		}
		return int(math.Floor(f))
	}
	n, _ := strconv.Atoi(s)
	return n
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func orDefault(s *string, def string) string {
	if s == nil {
		return def
	}
	return *s
}
