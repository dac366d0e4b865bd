package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// The generic webhook's signature headers. A receiver recomputes
// HMAC-SHA256 over TIMESTAMP + "." + BODY with the shared secret, compares
// it in constant time with the hex after "sha256=", and refuses a
// timestamp older than a few minutes (replays).
const (
	HeaderTimestamp = "X-Ferry-Timestamp"
	HeaderSignature = "X-Ferry-Signature"
)

// Sign returns the X-Ferry-Signature value for a body sent at timestamp
// (Unix seconds, as in X-Ferry-Timestamp): "sha256=" and the hex HMAC.
func Sign(secret, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp))
	mac.Write([]byte("."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks a signature as a receiver would, within tolerance of now.
func Verify(secret, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) bool {
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return false
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return false
	}
	return hmac.Equal([]byte(Sign(secret, timestamp, body)), []byte(strings.TrimSpace(signature)))
}

// WebhookPayload is the generic webhook's JSON body, version 1. Times
// are RFC 3339 in UTC; durations are seconds.
type WebhookPayload struct {
	Version         int            `json:"version"`
	Event           Event          `json:"event"`
	Delivery        string         `json:"delivery"`
	Title           string         `json:"title"`
	Text            string         `json:"text"`
	App             string         `json:"app"`
	Environment     string         `json:"environment"`
	SHA             string         `json:"sha"`
	Ref             string         `json:"ref,omitempty"`
	Deployer        string         `json:"deployer,omitempty"`
	Approvers       []string       `json:"approvers,omitempty"`
	Started         time.Time      `json:"started,omitzero"`
	EstimateSeconds float64        `json:"estimate_seconds,omitempty"`
	Changes         []string       `json:"changes,omitempty"`
	Status          string         `json:"status"`
	Finished        time.Time      `json:"finished,omitzero"`
	DurationSeconds float64        `json:"duration_seconds,omitempty"`
	Health          string         `json:"health,omitempty"`
	Error           string         `json:"error,omitempty"`
	Hints           []string       `json:"hints,omitempty"`
	Emergency       *EmergencyInfo `json:"emergency,omitempty"`
	URL             string         `json:"url,omitempty"`
}

func webhookPayload(d *delivery) ([]byte, error) {
	m := d.Msg
	utc := func(t time.Time) time.Time {
		if t.IsZero() {
			return t
		}
		return t.UTC()
	}
	return json.Marshal(WebhookPayload{
		Version: 1, Event: m.Event, Delivery: d.ID, Title: d.Title, Text: d.Body,
		App: m.App, Environment: m.Environment, SHA: m.SHA, Ref: m.Ref, Deployer: m.Deployer, Approvers: m.Approvers,
		Started: utc(m.Started), EstimateSeconds: m.Estimate.Seconds(), Changes: m.Changes,
		Status: m.StatusText(), Finished: utc(m.Finished), DurationSeconds: m.Duration.Seconds(),
		Health: m.Health, Error: m.Error, Hints: m.Hints, Emergency: m.Emergency, URL: m.URL,
	})
}
