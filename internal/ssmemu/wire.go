package ssmemu

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

const (
	targetPrefix = "AmazonSSM."
	contentType  = "application/x-amz-json-1.1"
	maxBodyBytes = 1 << 20
)

// apiError is an error the service answers with: an HTTP status and a JSON
// body {"__type": ..., "Message": ...}.
type apiError struct {
	status  int
	typ     string
	message string
	// lowerMessage spells the member "message", for the shapes whose model
	// says so (InvalidInstanceInformationFilterValue) and for the service
	// framework's own errors.
	lowerMessage bool
}

func (e *apiError) Error() string { return e.typ + ": " + e.message }

func clientErr(typ, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, typ: typ, message: fmt.Sprintf(format, args...)}
}

func validationErr(format string, args ...any) *apiError {
	return clientErr("ValidationException", format, args...)
}

type handler func(e *Emulator, body []byte, call *Call) (any, error)

var handlers = map[string]handler{
	"SendCommand":                 (*Emulator).sendCommand,
	"GetCommandInvocation":        (*Emulator).getCommandInvocation,
	"ListCommandInvocations":      (*Emulator).listCommandInvocations,
	"ListCommands":                (*Emulator).listCommands,
	"CancelCommand":               (*Emulator).cancelCommand,
	"DescribeInstanceInformation": (*Emulator).describeInstanceInformation,
	"GetCalendarState":            (*Emulator).getCalendarState,
}

// ServeHTTP answers one AWS JSON 1.1 request. It does not verify SigV4
// signatures but, like the service, refuses a request without an
// Authorization header: every real client signs, so an unsigned request
// means a broken client.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("x-amzn-RequestId", newUUID())
	call := Call{At: time.Now()}
	defer func() {
		if v := recover(); v != nil {
			e.opts.Logf("ssmemu: panic in %s: %v", call.Operation, v)
			writeError(w, &apiError{status: http.StatusInternalServerError, typ: "InternalServerError", message: "internal error"})
		}
	}()
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
	call.Operation = op
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		writeError(w, clientErr("UnknownOperationException", "requests are POST /"))
		return
	}
	if r.Header.Get("Authorization") == "" {
		// The shape AWS's JSON services answer unsigned requests with (observed:
		// HTTP 400, namespaced __type, lower-case "message").
		writeError(w, &apiError{status: http.StatusBadRequest, typ: "com.amazon.coral.service#MissingAuthenticationTokenException",
			message: "Request is missing Authentication Token", lowerMessage: true})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		writeError(w, clientErr("SerializationException", "read request body: %v", err))
		return
	}
	if len(body) > maxBodyBytes {
		writeError(w, &apiError{status: http.StatusRequestEntityTooLarge, typ: "RequestEntityTooLargeException", message: "request body too large"})
		return
	}
	h, known := handlers[op]
	if !ok || !known {
		err := clientErr("UnknownOperationException", "unknown operation %q", op)
		e.finishCall(&call, err)
		writeError(w, err)
		return
	}
	noteInstances(body, &call)
	if e.throttle.hit(op) {
		err := clientErr("ThrottlingException", "Rate exceeded")
		e.finishCall(&call, err)
		writeError(w, err)
		return
	}
	e.mu.Lock()
	closed := e.closed
	e.mu.Unlock()
	if closed {
		err := &apiError{status: http.StatusInternalServerError, typ: "InternalServerError", message: "emulator is closed"}
		e.finishCall(&call, err)
		writeError(w, err)
		return
	}
	out, err := h(e, body, &call)
	e.finishCall(&call, err)
	if err != nil {
		writeError(w, err)
		return
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		writeError(w, &apiError{status: http.StatusInternalServerError, typ: "InternalServerError", message: "encode response"})
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(http.StatusOK)
	w.Write(bytes.TrimRight(buf.Bytes(), "\n"))
}

func (e *Emulator) finishCall(call *Call, err error) {
	if err != nil {
		if ae, ok := err.(*apiError); ok {
			call.Error = ae.typ
		} else {
			call.Error = "InternalServerError"
		}
	}
	e.log.add(*call)
}

// noteInstances records which instances a request concerns, for per-instance
// call counts; it must not fail, so malformed bodies are simply not noted.
func noteInstances(body []byte, call *Call) {
	var probe struct {
		InstanceId  string
		InstanceIds []string
		CommandId   string
	}
	if json.Unmarshal(body, &probe) != nil {
		return
	}
	if probe.InstanceId != "" {
		call.InstanceIDs = append(call.InstanceIDs, probe.InstanceId)
	}
	call.InstanceIDs = append(call.InstanceIDs, probe.InstanceIds...)
	call.CommandID = probe.CommandId
}

func writeError(w http.ResponseWriter, err error) {
	ae, ok := err.(*apiError)
	if !ok {
		ae = &apiError{status: http.StatusInternalServerError, typ: "InternalServerError", message: err.Error()}
	}
	body := map[string]string{"__type": ae.typ}
	if ae.lowerMessage {
		body["message"] = ae.message
	} else {
		body["Message"] = ae.message
	}
	b, _ := json.Marshal(body)
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(ae.status)
	w.Write(b)
}

// decode reads a request body into in; an empty body is an empty object.
func decode(body []byte, in any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(in); err != nil {
		return clientErr("SerializationException", "cannot parse request body: %v", err)
	}
	return nil
}

func newUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("read random bytes: %v", err))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
