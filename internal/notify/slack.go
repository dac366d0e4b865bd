package notify

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/ferryhq/ferry/internal/text"
)

// Slack Block Kit limits: a header's text, a section's text, the blocks
// of one message.
const (
	slackHeaderMax  = 150
	slackSectionMax = 3000
	slackBlocksMax  = 50
)

type slackText struct {
	Type  string `json:"type"`
	Text  string `json:"text"`
	Emoji bool   `json:"emoji,omitempty"`
}

type slackBlock struct {
	Type     string      `json:"type"`
	Text     *slackText  `json:"text,omitempty"`
	Elements []slackText `json:"elements,omitempty"`
}

type slackMessage struct {
	// Text is the fallback shown in notifications and by clients that do
	// not draw blocks.
	Text   string       `json:"text"`
	Blocks []slackBlock `json:"blocks"`
}

// slackPayload is a header block with the title, section blocks with the
// body (split at lines to fit), and a context line naming what it is.
func slackPayload(d *delivery) ([]byte, error) {
	m := d.Msg
	msg := slackMessage{Text: slackEscape(d.Title)}
	msg.Blocks = append(msg.Blocks, slackBlock{Type: "header",
		Text: &slackText{Type: "plain_text", Text: truncate(d.Title, slackHeaderMax), Emoji: true}})
	for _, chunk := range chunks(slackEscape(d.Body), slackSectionMax) {
		if len(msg.Blocks) == slackBlocksMax-1 {
			break
		}
		msg.Blocks = append(msg.Blocks, slackBlock{Type: "section", Text: &slackText{Type: "mrkdwn", Text: chunk}})
	}
	ctx := "ferry · " + string(m.Event) + " · " + m.App + " · " + m.Environment
	if m.SHA != "" {
		ctx += " · " + text.Short(m.SHA)
	}
	msg.Blocks = append(msg.Blocks, slackBlock{Type: "context", Elements: []slackText{{Type: "mrkdwn", Text: slackEscape(ctx)}}})
	return json.Marshal(msg)
}

// slackEscape applies Slack's three escapes to text from commits and
// people: a subject holding <!channel> would otherwise ping everyone.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// truncate cuts s to at most max characters, marking the cut.
func truncate(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}

// chunks splits s at line ends into pieces of at most max characters
// (a longer line is cut); empty text gives no piece.
func chunks(s string, max int) []string {
	var out []string
	var cur strings.Builder
	flush := func() {
		if strings.TrimSpace(cur.String()) != "" {
			out = append(out, strings.TrimRight(cur.String(), "\n"))
		}
		cur.Reset()
	}
	for _, line := range strings.Split(s, "\n") {
		line = truncate(line, max)
		if utf8.RuneCountInString(cur.String())+utf8.RuneCountInString(line)+1 > max {
			flush()
		}
		cur.WriteString(line)
		cur.WriteString("\n")
	}
	flush()
	return out
}
