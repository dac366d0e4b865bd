package gates

import "strings"

// credentialVars are the deploying job's credentials, which the app's
// tests and tools never see: in a pipeline that runs the gates inside
// `ferry deploy` (after the job made AWS credentials through OIDC), a
// test could otherwise read the deploy role's keys or ask GitHub for an
// OIDC token of its own.
var credentialVars = []string{
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
	"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME", "AWS_PROFILE",
	"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN",
	"ACTIONS_ID_TOKEN_REQUEST_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_URL", "GITHUB_TOKEN",
}

// withoutCredentials is list without the credential variables.
func withoutCredentials(list []string) []string {
	out := make([]string, 0, len(list))
	for _, kv := range list {
		k, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, c := range credentialVars {
			drop = drop || strings.EqualFold(k, c)
		}
		if !drop {
			out = append(out, kv)
		}
	}
	return out
}
