package notify

import (
	"encoding/json"
	"strings"
)

// Teams Workflows webhooks take the Bot Framework "message" envelope with
// one Adaptive Card attachment; Workflows render Adaptive Cards only (not
// the old connector MessageCard), up to schema 1.4 reliably.
type teamsEnvelope struct {
	Type        string            `json:"type"`
	Attachments []teamsAttachment `json:"attachments"`
}

type teamsAttachment struct {
	ContentType string    `json:"contentType"`
	ContentURL  *string   `json:"contentUrl"`
	Content     teamsCard `json:"content"`
}

type teamsCard struct {
	Schema  string           `json:"$schema"`
	Type    string           `json:"type"`
	Version string           `json:"version"`
	Body    []teamsTextBlock `json:"body"`
	MSTeams map[string]any   `json:"msteams,omitempty"`
}

type teamsTextBlock struct {
	Type    string `json:"type"`
	Text    string `json:"text"`
	Wrap    bool   `json:"wrap"`
	Size    string `json:"size,omitempty"`
	Weight  string `json:"weight,omitempty"`
	Color   string `json:"color,omitempty"`
	Spacing string `json:"spacing,omitempty"`
	Style   string `json:"style,omitempty"`
}

// teamsMax bounds the card's text: Teams refuses messages over about
// 28 KB.
const teamsMax = 20000

// teamsPayload is the title as a heading (green on success, red on a
// failure) and one TextBlock per body line: a single block's newlines
// are not kept by every Teams client.
func teamsPayload(d *delivery) ([]byte, error) {
	color := "Default"
	switch d.Msg.Event {
	case Success:
		color = "Good"
	case Failure, Rollback:
		color = "Attention"
	case Emergency:
		color = "Warning"
	}
	card := teamsCard{
		Schema:  "http://adaptivecards.io/schemas/adaptive-card.json",
		Type:    "AdaptiveCard",
		Version: "1.4",
		Body:    []teamsTextBlock{{Type: "TextBlock", Text: d.Title, Wrap: true, Size: "Large", Weight: "Bolder", Color: color, Style: "heading"}},
		MSTeams: map[string]any{"width": "Full"},
	}
	size := len(d.Title)
	for _, line := range strings.Split(d.Body, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		if size += len(line); size > teamsMax {
			card.Body = append(card.Body, teamsTextBlock{Type: "TextBlock", Text: "…", Wrap: true, Spacing: "None"})
			break
		}
		card.Body = append(card.Body, teamsTextBlock{Type: "TextBlock", Text: line, Wrap: true, Spacing: "None"})
	}
	return json.Marshal(teamsEnvelope{Type: "message", Attachments: []teamsAttachment{{
		ContentType: "application/vnd.microsoft.card.adaptive", Content: card,
	}}})
}
