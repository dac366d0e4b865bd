package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/ferryhq/ferry/internal/text"
)

// What the agent and AWS refuse, checked here first, so that a mistake in
// ferry.yml is reported at its line with a hint before anything is sent,
// instead of as a raw error from a server, SSM or the SDK. The agent's
// own rules are in internal/agent/spec.go (Validate); each function below
// names the rule it mirrors, and TestConfigMirrorsTheAgent feeds the same
// values to both.

// Limits of the agent's spec (internal/agent/spec.go).
const (
	maxVars      = 256  // variables per environment
	maxValue     = 4096 // bytes of one value or start word
	maxPath      = 1024 // bytes of a path, the interpreter, a find_links entry
	maxURL       = 8192 // bytes of a URL
	maxGitURL    = 2048 // bytes of a repository URL
	maxStart     = 64   // words of the start command
	maxHooks     = 16   // commands of one kind of hook
	maxShared    = 64   // shared paths
	maxNameBytes = 128  // bytes of a variable or field name
)

// plain refuses what the agent's plain() refuses: more than max bytes,
// invalid UTF-8, control characters (a newline above all). The message
// never repeats the value, which may be a secret.
func plain(v string, max int) error {
	if len(v) > max {
		return fmt.Errorf("is %d bytes, more than the %d the agent accepts", len(v), max)
	}
	if !utf8.ValidString(v) {
		return errors.New("is not UTF-8")
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("holds a control character (%q)", r)
		}
	}
	return nil
}

// portablePart mirrors the agent's rule for one path component: no
// Windows device name (CON, NUL, COM1, also as nul.txt), no trailing dot
// or space, none of < > " | ? * :. A spec may target either platform, so
// the rule holds on both.
func portablePart(part string) error {
	if part == "." {
		return nil
	}
	if strings.HasSuffix(part, ".") || strings.HasSuffix(part, " ") {
		return fmt.Errorf("component %q ends with a dot or a space, which Windows drops", part)
	}
	if strings.ContainsAny(part, `<>"|?*:`) {
		return fmt.Errorf("component %q holds a character Windows forbids in names (one of < > \" | ? * :)", part)
	}
	base, _, _ := strings.Cut(part, ".")
	switch strings.ToUpper(strings.TrimRight(base, " ")) {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
		"COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9", "COM¹", "COM²", "COM³",
		"LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9", "LPT¹", "LPT²", "LPT³":
		return fmt.Errorf("component %q is a Windows device name", part)
	}
	return nil
}

func splitPath(p string) []string {
	if len(p) >= 2 && p[1] == ':' {
		p = p[2:]
	}
	return strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == '\\' })
}

// isAbs accepts both platforms' absolute forms, as the agent does.
func isAbs(p string) bool {
	if strings.HasPrefix(p, "/") {
		return true
	}
	return len(p) >= 3 && p[1] == ':' && (p[2] == '\\' || p[2] == '/') && ((p[0] >= 'A' && p[0] <= 'Z') || (p[0] >= 'a' && p[0] <= 'z'))
}

// relInside mirrors the agent's relInside: a relative path that stays in
// its directory, portable to Windows, not an option, not the directory
// itself.
func relInside(p string) error {
	if p == "" {
		return errors.New("is empty")
	}
	if err := plain(p, maxPath); err != nil {
		return err
	}
	if isAbs(p) || strings.HasPrefix(p, `\`) || strings.HasPrefix(p, "/") || strings.Contains(p, ":") {
		return fmt.Errorf("%q must be relative", p)
	}
	if strings.HasPrefix(p, "-") {
		return fmt.Errorf("%q must not start with '-'", p)
	}
	parts := splitPath(p)
	for _, part := range parts {
		if part == ".." {
			return fmt.Errorf("%q must not leave its directory", p)
		}
		if err := portablePart(part); err != nil {
			return fmt.Errorf("%q: %v", p, err)
		}
	}
	only := true
	for _, part := range parts {
		only = only && part == "."
	}
	if only {
		return fmt.Errorf("%q names the directory itself", p)
	}
	return nil
}

// checkRoot mirrors the agent's checkRoot for a server's root: absolute
// (either platform's form) or ~/ relative, local (no UNC or device path),
// without '..', each component portable, not a filesystem root.
func checkRoot(root string) error {
	if err := plain(root, maxPath); err != nil {
		return err
	}
	if strings.HasPrefix(root, "~/") || strings.HasPrefix(root, `~\`) {
		if err := relInside(root[2:]); err != nil {
			return fmt.Errorf("%q: %v", root, err)
		}
		return nil
	}
	if sep := func(c byte) bool { return c == '/' || c == '\\' }; len(root) >= 2 && sep(root[0]) && sep(root[1]) {
		return fmt.Errorf("%q is a network, device or \\\\?\\ path", root)
	}
	if !isAbs(root) {
		return fmt.Errorf("%q must be an absolute path (or start with ~/)", root)
	}
	parts := splitPath(root)
	for _, part := range parts {
		if part == ".." {
			return fmt.Errorf("%q must not contain '..'", root)
		}
		if err := portablePart(part); err != nil {
			return fmt.Errorf("%q: %v", root, err)
		}
	}
	if len(parts) == 0 {
		return fmt.Errorf("%q is a filesystem root", root)
	}
	return nil
}

// checkURL mirrors the agent's checkURL for http(s): at most maxURL bytes,
// no control character, one of schemes, with a host. Messages show the
// URL with its credentials hidden.
func checkURL(raw string, schemes ...string) error {
	if err := plain(raw, maxURL); err != nil {
		return err
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q is not a URL", RedactURL(raw))
	}
	for _, s := range schemes {
		if u.Scheme == s && u.Host != "" {
			return nil
		}
	}
	kinds := strings.Join(schemes, "/")
	if kinds == "http/https" {
		kinds = "http(s)"
	}
	return fmt.Errorf("%q is not an %s URL with a host", RedactURL(raw), kinds)
}

// checkRepository is what the servers may fetch with source: git. The
// agent (checkGitURL) takes absolute paths and http(s), ssh and file URLs
// and refuses a leading '-'; ferry.yml asks more, because git reads some
// URLs as commands or options: an absolute path on the server, or an
// https, ssh or file URL only (no ext:: or fd::
// remote helpers, no transport::address form, no http in clear), no host
// or user starting with '-' (ssh would read -oProxyCommand=… as an
// option), no spaces, and no password: a repository URL travels in the
// command that SSM shows to anyone who may list commands.
func checkRepository(raw string) (string, error) {
	const hint = "use https://host/org/app.git, ssh://git@host/org/app.git or file:///srv/git/app.git"
	if err := plain(raw, maxGitURL); err != nil {
		return hint, err
	}
	if strings.HasPrefix(raw, "-") {
		return hint, errors.New("must not start with '-' (git would read it as an option)")
	}
	if i := strings.Index(raw, "::"); i >= 0 && !strings.Contains(raw[:i], "/") {
		return hint, fmt.Errorf("%q uses git's transport::address form (%s::), which runs a remote helper", RedactURL(raw), raw[:i])
	}
	if strings.ContainsAny(raw, " \t") {
		return hint, errors.New("must not contain spaces")
	}
	if isAbs(raw) {
		for _, part := range splitPath(raw) {
			if part == ".." {
				return hint, fmt.Errorf("%q must not contain '..'", raw)
			}
		}
		return "", nil // a repository on the server itself: git's local transport
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		if strings.Contains(raw, "@") && strings.Contains(raw, ":") {
			return hint, fmt.Errorf("%q is scp-like syntax, which the agent does not accept", RedactURL(raw))
		}
		return hint, fmt.Errorf("%q is not a URL", RedactURL(raw))
	}
	switch u.Scheme {
	case "https", "ssh":
		if u.Host == "" {
			return hint, fmt.Errorf("%q has no host", RedactURL(raw))
		}
		if strings.HasPrefix(u.Hostname(), "-") || strings.HasPrefix(u.User.Username(), "-") {
			return hint, fmt.Errorf("%q has a host or user starting with '-', which ssh reads as an option", RedactURL(raw))
		}
	case "file":
		if u.Opaque != "" || (u.Host != "" && u.Host != "localhost") || !strings.HasPrefix(u.Path, "/") {
			return hint, fmt.Errorf("%q is not a local file URL (file:///path)", raw)
		}
	case "http":
		return "use https: over http the code (and any credentials) cross the network in clear", fmt.Errorf("%q is http", RedactURL(raw))
	default:
		return hint, fmt.Errorf("%q uses the %s transport; only https, ssh and file are allowed", RedactURL(raw), u.Scheme)
	}
	if _, has := u.User.Password(); has {
		return "give the servers credentials of their own (an ssh deploy key, a git credential helper): the URL is visible to anyone who may list SSM commands",
			fmt.Errorf("%q holds a password", RedactURL(raw))
	}
	if u.User != nil && u.Scheme == "https" {
		return "give the servers credentials of their own (a git credential helper): a user name in an https URL is often a token, and the URL is visible to anyone who may list SSM commands",
			fmt.Errorf("%q holds a user name", RedactURL(raw))
	}
	return "", nil
}

// urlCreds is the credentials part of a URL written into any text:
// scheme://user:password@ or scheme://token@.
var urlCreds = text.Pattern(`([A-Za-z][A-Za-z0-9+.-]*://)([^/\s:@"'<>]*)(:[^/\s@"'<>]*)?@`)

// RedactURL hides the credentials of every URL in s, as the agent does:
// a password becomes ***, and so does a user given without a password
// (often a token). Names elsewhere in s stay.
func RedactURL(s string) string {
	return urlCreds().ReplaceAllStringFunc(s, func(m string) string {
		sub := urlCreds().FindStringSubmatch(m)
		switch {
		case sub[3] != "":
			return sub[1] + sub[2] + ":***@"
		case sub[2] != "":
			return sub[1] + "***@"
		}
		return m
	})
}

// AWS's rules (Regions, S3, SSM), as their documentation and the botocore
// model state them.
var (
	// regionRe is a Region's form: us-east-1, eu-west-3, ap-southeast-4,
	// us-gov-west-1, cn-north-1, us-isob-east-1.
	regionRe = text.Pattern(`^[a-z]{2}(-[a-z]+){1,2}-[0-9]{1,2}$`)
	// documentRe is SendCommand's DocumentName pattern (a name or an ARN).
	documentRe = text.Pattern(`^[a-zA-Z0-9_\-.:/]{3,128}$`)
	// maxConcurrencyRe and maxErrorsRe are SendCommand's patterns (at most 7 characters).
	maxConcurrencyRe = text.Pattern(`^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$`)
	maxErrorsRe      = text.Pattern(`^([1-9][0-9]*|[0]|[1-9][0-9]%|[0-9]%|100%)$`)
	// tagKeyRe is what a tag key may hold for the tag:Key filters and targets.
	tagKeyRe = text.Pattern(`^[\p{L}\p{Z}\p{N}_.:/=+@-]{1,128}$`)
	// prefixRe is a key prefix of plain path segments.
	prefixRe = text.Pattern(`^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$`)
	bucketRe = text.Pattern(`^[a-z0-9][a-z0-9.-]*[a-z0-9]$`)
)

// checkBucket applies S3's naming rules for general purpose buckets.
func checkBucket(b string) error {
	switch {
	case len(b) < 3 || len(b) > 63:
		return fmt.Errorf("is %d characters; bucket names have 3 to 63", len(b))
	case !bucketRe().MatchString(b):
		return errors.New("may hold only lowercase letters, digits, '.' and '-', and must begin and end with a letter or digit")
	case strings.Contains(b, ".."):
		return errors.New("must not contain two adjacent periods")
	case net.ParseIP(b) != nil:
		return errors.New("must not be formatted as an IP address")
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(b, p) {
			return fmt.Errorf("must not start with %q, which S3 reserves", p)
		}
	}
	for _, s := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(b, s) {
			return fmt.Errorf("must not end with %q, which S3 reserves", s)
		}
	}
	return nil
}
