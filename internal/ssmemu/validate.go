package ssmemu

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// violations collects shape-constraint failures and reports them the way the
// service framework does: "N validation error(s) detected: Value 'v' at
// 'path' failed to satisfy constraint: Member must ...", joined by "; ".
// Constraints come from botocore's model for each member.
type violations []string

func (v *violations) add(value any, at, constraint string) {
	*v = append(*v, fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: %s", render(value), at, constraint))
}

func render(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case []string:
		return "[" + strings.Join(x, ", ") + "]"
	case *string:
		if x == nil {
			return "null"
		}
		return *x
	case *int:
		if x == nil {
			return "null"
		}
		return fmt.Sprint(*x)
	}
	return fmt.Sprint(v)
}

func (v violations) err() error {
	if len(v) == 0 {
		return nil
	}
	noun := "error"
	if len(v) > 1 {
		noun = "errors"
	}
	return validationErr("%d validation %s detected: %s", len(v), noun, strings.Join(v, "; "))
}

func (v *violations) required(value any, isNil bool, at string) {
	if isNil {
		v.add(value, at, "Member must not be null")
	}
}

func (v *violations) strLen(s *string, at string, minLen, maxLen int) {
	if s == nil {
		return
	}
	if minLen > 0 && len(*s) < minLen {
		v.add(s, at, fmt.Sprintf("Member must have length greater than or equal to %d", minLen))
	}
	if maxLen > 0 && len(*s) > maxLen {
		v.add(s, at, fmt.Sprintf("Member must have length less than or equal to %d", maxLen))
	}
}

func (v *violations) pattern(s *string, at string, re *modelPattern) {
	if s == nil || re.re().MatchString(*s) {
		return
	}
	v.add(s, at, "Member must satisfy regular expression pattern: "+re.src)
}

func (v *violations) enum(s *string, at string, values ...string) {
	if s == nil {
		return
	}
	for _, ok := range values {
		if *s == ok {
			return
		}
	}
	v.add(s, at, "Member must satisfy enum value set: ["+strings.Join(values, ", ")+"]")
}

func (v *violations) intRange(n *int, at string, lo, hi int) {
	if n == nil {
		return
	}
	if *n < lo {
		v.add(n, at, fmt.Sprintf("Member must have value greater than or equal to %d", lo))
	}
	if *n > hi {
		v.add(n, at, fmt.Sprintf("Member must have value less than or equal to %d", hi))
	}
}

func (v *violations) listLen(l []string, at string, minLen, maxLen int) {
	if l == nil {
		return
	}
	if len(l) < minLen {
		v.add(l, at, fmt.Sprintf("Member must have length greater than or equal to %d", minLen))
	}
	if maxLen > 0 && len(l) > maxLen {
		v.add(l, at, fmt.Sprintf("Member must have length less than or equal to %d", maxLen))
	}
}

// memberPattern checks every element of a list and reports the list once, as
// the framework does for list-member constraints.
func (v *violations) memberPattern(l []string, at string, re *modelPattern) {
	for _, s := range l {
		if !re.re().MatchString(s) {
			v.add(l, at, "Member must satisfy constraint: [Member must satisfy regular expression pattern: "+re.src+"]")
			return
		}
	}
}

// modelPattern keeps the model's source text for messages and matches the
// whole value, as the service's (Java) validation does.
type modelPattern struct {
	src string
	// re is compiled at first use: the emulator is linked into ferry, and
	// compiling at init (\p{L} alone costs milliseconds) would slow every
	// start of ferry, which mostly never runs it.
	re func() *regexp.Regexp
}

func pat(src string) *modelPattern {
	return &modelPattern{src: src, re: sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(?:` + src + `)$`) })}
}

// Patterns from botocore's ssm service-2.json.
var (
	patInstanceID     = pat(`(^i-(\w{8}|\w{17})$)|(^mi-\w{17}$)`)
	patDocumentARN    = pat(`^[a-zA-Z0-9_\-.:/]{3,128}$`)
	patDocumentName   = pat(`^[a-zA-Z0-9_\-.]{3,128}$`)
	patDocVersion     = pat(`([$]LATEST|[$]DEFAULT|^[1-9][0-9]*$)`)
	patTargetKey      = pat(`^[\p{L}\p{Z}\p{N}_.:/=\-@]*$|resource-groups:ResourceTypeFilters|resource-groups:Name`)
	patMaxConcurrency = pat(`^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$`)
	patMaxErrors      = pat(`^([1-9][0-9]*|[0]|[1-9][0-9]%|[0-9]%|100%)$`)
)
