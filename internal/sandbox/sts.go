package sandbox

import (
	"encoding/xml"
	"fmt"
	"net/http"
)

// The sandbox's identity, as its STS endpoint answers GetCallerIdentity:
// ferry records it as the AWS principal of every attempt made through the
// sandbox, as it records the real caller's ARN on AWS.
const (
	Account   = "000000000000"
	CallerARN = "arn:aws:iam::" + Account + ":user/ferry-sandbox"
	callerID  = "AIDASANDBOXFERRY00000"
)

// sts is a minimal STS endpoint (the query protocol, as the SDKs speak
// it): GetCallerIdentity, and an error for every other action.
type sts struct{}

type stsCaller struct {
	XMLName xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ GetCallerIdentityResponse"`
	Arn     string   `xml:"GetCallerIdentityResult>Arn"`
	UserID  string   `xml:"GetCallerIdentityResult>UserId"`
	Account string   `xml:"GetCallerIdentityResult>Account"`
	Request string   `xml:"ResponseMetadata>RequestId"`
}

type stsError struct {
	XMLName xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ ErrorResponse"`
	Type    string   `xml:"Error>Type"`
	Code    string   `xml:"Error>Code"`
	Message string   `xml:"Error>Message"`
	Request string   `xml:"RequestId"`
}

func (sts) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	const requestID = "sandbox-sts-request"
	if err := r.ParseForm(); err != nil || r.Method != http.MethodPost {
		stsWrite(w, http.StatusBadRequest, stsError{Type: "Sender", Code: "InvalidRequest", Message: "POST a form-encoded query request", Request: requestID})
		return
	}
	switch action := r.PostForm.Get("Action"); action {
	case "GetCallerIdentity":
		stsWrite(w, http.StatusOK, stsCaller{Arn: CallerARN, UserID: callerID, Account: Account, Request: requestID})
	default:
		stsWrite(w, http.StatusBadRequest, stsError{Type: "Sender", Code: "InvalidAction",
			Message: fmt.Sprintf("the sandbox's STS answers GetCallerIdentity only, not %q", action), Request: requestID})
	}
}

func stsWrite(w http.ResponseWriter, status int, v any) {
	b, err := xml.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_, _ = w.Write(append([]byte(xml.Header), b...))
}
