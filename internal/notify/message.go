package notify

import (
	"fmt"
	"slices"
	"time"
)

// Event is what a notification is about.
type Event string

// The events a channel can subscribe to with on: [...].
const (
	// Start is sent before a deployment (the SOP's pre-deployment message).
	Start Event = "start"
	// Emergency is the start of an emergency deployment. It is delivered
	// once to every channel that lists emergency or start: stakeholders who
	// want to hear before each deployment hear of this one too.
	Emergency Event = "emergency"
	// Success is a deployment that ended deployed and healthy.
	Success Event = "success"
	// Failure is a deployment that failed, whether or not anything changed.
	Failure Event = "failure"
	// Rollback is a failure after the switch that was rolled back (or a
	// rollback that failed). Channels that list failure get it too.
	Rollback Event = "rollback"
)

// Events lists every event, in the order of a deployment.
var Events = []Event{Start, Emergency, Success, Failure, Rollback}

// pre reports whether e is told before the deployment (the pre template).
func (e Event) pre() bool { return e == Start || e == Emergency }

// wanted reports whether a channel subscribed to on gets e. An empty list
// means every event.
func (e Event) wanted(on []Event) bool {
	if len(on) == 0 || slices.Contains(on, e) {
		return true
	}
	switch e {
	case Emergency:
		return slices.Contains(on, Start)
	case Rollback:
		return slices.Contains(on, Failure)
	}
	return false
}

// Message is everything a notification can tell; templates see these
// fields. Pre-deployment messages use the first group, post-deployment
// ones both.
type Message struct {
	Event Event
	// App and Environment say what is deployed where.
	App         string
	Environment string
	// SHA is the exact commit; Ref the branch or ref it was asked as.
	SHA string
	Ref string
	// Deployer is who runs the deployment; Approvers who approved it,
	// where known (e.g. the GitHub environment's reviewers).
	Deployer  string
	Approvers []string
	// Started is when the deployment began.
	Started time.Time
	// Estimate is the expected duration, from history; zero when unknown.
	Estimate time.Duration
	// Changes are the commit subjects since the serving release.
	Changes []string
	// Emergency is set for an emergency deployment.
	Emergency *EmergencyInfo
	// URL links to the run (a CI job), when there is one.
	URL string

	// Status is how it ended: "deployed", "failed", "rolled back",
	// "rollback failed"; empty means the event's own word.
	Status string
	// Finished is when it ended; Duration how long it took.
	Finished time.Time
	Duration time.Duration
	// Health is the health check's verdict as a sentence.
	Health string
	// Error and Hints are the failure and what to do, on failure.
	Error string
	Hints []string

	// Location is the zone times are shown in (the environment's
	// windows.timezone); nil means UTC.
	Location *time.Location
}

// EmergencyInfo is what an emergency deployment tells.
type EmergencyInfo struct {
	Actor  string `json:"actor"`
	Reason string `json:"reason"`
	// Overridden are the rules it overrode ("window Tue-Thu 10:00-14:00").
	Overridden []string `json:"overridden,omitempty"`
}

// StatusText is Status, or the event's own word when it is empty.
func (m *Message) StatusText() string {
	if m.Status != "" {
		return m.Status
	}
	switch m.Event {
	case Success:
		return "deployed"
	case Failure:
		return "failed"
	case Rollback:
		return "rolled back"
	case Emergency:
		return "emergency deployment starting"
	}
	return "starting"
}

func (m *Message) loc() *time.Location {
	if m.Location == nil {
		return time.UTC
	}
	return m.Location
}

func validEvent(s string) (Event, error) {
	for _, e := range Events {
		if string(e) == s {
			return e, nil
		}
	}
	return "", fmt.Errorf("unknown event %q", s)
}
