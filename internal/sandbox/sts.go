package sandbox

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
)

// The sandbox's STS: the one call ferry makes (GetCallerIdentity, for
// ferry doctor), in STS's query protocol (a form POST, an XML answer),
// as aws-sdk-go-v2, boto3 and the AWS CLI speak it. A request not signed
// with the sandbox's access key is refused as real STS refuses an
// unknown key.

// Account and CallerARN are whom the sandbox's credentials belong to.
const (
	Account   = "123456789012"
	CallerARN = "arn:aws:iam::" + Account + ":user/ferry-sandbox"
	callerID  = "AIDASANDBOXFERRYUSER"
	stsXMLNS  = "https://sts.amazonaws.com/doc/2011-06-15/"
)

type stsServer struct{ requests atomic.Int64 }

type stsIdentity struct {
	XMLName xml.Name `xml:"GetCallerIdentityResponse"`
	XMLNS   string   `xml:"xmlns,attr"`
	Result  struct {
		Arn     string `xml:"Arn"`
		UserID  string `xml:"UserId"`
		Account string `xml:"Account"`
	} `xml:"GetCallerIdentityResult"`
	RequestID string `xml:"ResponseMetadata>RequestId"`
}

type stsError struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	XMLNS   string   `xml:"xmlns,attr"`
	Error   struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Error"`
	RequestID string `xml:"RequestId"`
}

func (s *stsServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := fmt.Sprintf("sandbox-sts-%06d", s.requests.Add(1))
	fail := func(status int, code, msg string) {
		var e stsError
		e.XMLNS, e.RequestID = stsXMLNS, id
		e.Error.Type, e.Error.Code, e.Error.Message = "Sender", code, msg
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(status)
		xml.NewEncoder(w).Encode(e)
	}
	if r.Method != http.MethodPost {
		fail(http.StatusMethodNotAllowed, "InvalidAction", "STS takes POST requests")
		return
	}
	if !strings.Contains(r.Header.Get("Authorization"), "Credential="+AccessKeyID+"/") {
		fail(http.StatusForbidden, "InvalidClientTokenId", "The security token included in the request is invalid.")
		return
	}
	if err := r.ParseForm(); err != nil {
		fail(http.StatusBadRequest, "MalformedInput", err.Error())
		return
	}
	if a := r.PostForm.Get("Action"); a != "GetCallerIdentity" {
		fail(http.StatusBadRequest, "InvalidAction", fmt.Sprintf("Could not find operation %s for version %s (the sandbox answers GetCallerIdentity only)", a, r.PostForm.Get("Version")))
		return
	}
	var out stsIdentity
	out.XMLNS, out.RequestID = stsXMLNS, id
	out.Result.Arn, out.Result.UserID, out.Result.Account = CallerARN, callerID, Account
	w.Header().Set("Content-Type", "text/xml")
	xml.NewEncoder(w).Encode(out)
}
