package cli

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/gates"
	"github.com/ferryhq/ferry/internal/transport"
)

// sentinel is the value every time.Duration gets below: as milliseconds
// it is 1234567; as nanoseconds (1234567890123), microseconds or seconds
// (1234.567890123) it is recognisable anywhere in the output.
const sentinel = 1234567890123 * time.Nanosecond

// fill sets every field reachable from v, every duration to sentinel,
// making one element of each slice and map and following pointers, so
// that a field added anywhere (in the agent's result, a gate's report,
// the ssm transport's structures) is in the output.
func fill(v reflect.Value, depth int) {
	if depth > 8 || !v.CanSet() {
		return
	}
	switch {
	case v.Type() == reflect.TypeOf(time.Duration(0)):
		v.SetInt(int64(sentinel))
		return
	case v.Type() == reflect.TypeOf(time.Time{}):
		v.Set(reflect.ValueOf(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)))
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), depth+1)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), depth+1)
			}
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0), depth+1)
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return
		}
		v.Set(reflect.MakeMap(v.Type()))
		e := reflect.New(v.Type().Elem()).Elem()
		fill(e, depth+1)
		v.SetMapIndex(reflect.ValueOf("k").Convert(v.Type().Key()), e)
	case reflect.String:
		v.SetString("s")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(1)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1.5)
	}
}

// No duration anywhere in a --json result is written in anything but
// milliseconds: every result type, filled to its last nested field.
func TestNoDurationReachesJSONButInMilliseconds(t *testing.T) {
	t.Parallel()
	var res agent.Result
	fill(reflect.ValueOf(&res).Elem(), 0)
	var rep gates.Report
	fill(reflect.ValueOf(&rep).Elem(), 0)
	targets := targetsJSON([]transport.TargetResult{{Target: "i-0a", Result: res}})
	for name, result := range map[string]any{
		"deploy":   &deployResult{Environment: "e", Gates: &rep, Targets: targets, Steps: []stepRecord{{Name: "plan", DurationMS: sentinel.Milliseconds()}}},
		"status":   &envResult{Environment: "e", Targets: targets},
		"check":    &rep,
		"validate": validateResult{File: "ferry.yml"},
	} {
		var b bytes.Buffer
		if err := writeEnvelope(&b, nil, name, nil, result); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		for _, bad := range []string{"1234567890", "1234.56789"} {
			if strings.Contains(out, bad) {
				i := strings.Index(out, bad)
				t.Errorf("%s: a duration in nanoseconds, microseconds or seconds: …%s…", name, out[max(0, i-200):min(len(out), i+20)])
			}
		}
		if name != "validate" && !strings.Contains(out, "1234567") {
			t.Errorf("%s: the filled durations are not in the output at all:\n%.3000s", name, out)
		}
	}
}
