package ssmemu

import (
	"slices"
	"strconv"
	"strings"
)

const defaultInstancePageSize = 10 // documented default for DescribeInstanceInformation

// instanceFilter keeps an instance when it returns true.
type instanceFilter func(*instance) bool

func (e *Emulator) describeInstanceInformation(body []byte, _ *Call) (any, error) {
	var in describeInstanceInformationInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var v violations
	v.intRange(in.MaxResults, "maxResults", 5, 50)
	for i, f := range in.InstanceInformationFilterList {
		at := "instanceInformationFilterList." + strconv.Itoa(i+1) + ".member"
		v.required(f.Key, f.Key == nil, at+".key")
		v.enum(f.Key, at+".key", "InstanceIds", "AgentVersion", "PingStatus", "PlatformTypes", "ActivationIds", "IamRole", "ResourceType", "AssociationStatus")
		v.required(f.ValueSet, f.ValueSet == nil, at+".valueSet")
		v.listLen(f.ValueSet, at+".valueSet", 1, 100)
	}
	for i, f := range in.Filters {
		at := "filters." + strconv.Itoa(i+1) + ".member"
		v.required(f.Key, f.Key == nil, at+".key")
		v.strLen(f.Key, at+".key", 1, 0)
		v.required(f.Values, f.Values == nil, at+".values")
		v.listLen(f.Values, at+".values", 1, 100)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if len(in.InstanceInformationFilterList) > 0 && len(in.Filters) > 0 {
		// Documented: "Attempting to use InstanceInformationFilterList and
		// Filters leads to an exception error."
		return nil, validationErr("InstanceInformationFilterList and Filters cannot be used together")
	}
	offset, err := decodeToken("DescribeInstanceInformation", in.NextToken)
	if err != nil {
		return nil, err
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	var filters []instanceFilter
	for _, f := range in.InstanceInformationFilterList {
		flt, err := e.instanceFilterLocked(*f.Key, f.ValueSet, true)
		if err != nil {
			return nil, err
		}
		filters = append(filters, flt)
	}
	for _, f := range in.Filters {
		flt, err := e.instanceFilterLocked(*f.Key, f.Values, false)
		if err != nil {
			return nil, err
		}
		filters = append(filters, flt)
	}
	var out []instanceInformationJSON
	for _, id := range e.order {
		inst := e.instances[id]
		keep := true
		for _, f := range filters {
			keep = keep && f(inst)
		}
		if keep {
			out = append(out, instanceJSON(inst))
		}
	}
	size := defaultInstancePageSize
	if in.MaxResults != nil {
		size = *in.MaxResults
	}
	items, next := page("DescribeInstanceInformation", out, offset, size)
	if items == nil {
		items = []instanceInformationJSON{}
	}
	return struct {
		InstanceInformationList []instanceInformationJSON `json:"InstanceInformationList"`
		NextToken               *string                   `json:"NextToken,omitempty"`
	}{items, next}, nil
}

func instanceJSON(in *instance) instanceInformationJSON {
	return instanceInformationJSON{
		InstanceId:       in.ID,
		PingStatus:       string(in.PingStatus),
		LastPingDateTime: epochTime(in.lastPing),
		AgentVersion:     in.AgentVersion,
		IsLatestVersion:  false,
		PlatformType:     string(in.Platform),
		PlatformName:     in.PlatformName,
		PlatformVersion:  in.PlatformVersion,
		ResourceType:     "EC2Instance",
		IPAddress:        in.IPAddress,
		ComputerName:     in.ComputerName,
		SourceId:         in.ID,
		SourceType:       "AWS::EC2::Instance",
	}
}

// instanceFilterLocked builds one filter. The legacy list's keys are an enum
// (checked by validation); Filters' keys are free strings, so an unknown one
// is InvalidFilterKey. Values are checked where the API has a closed set.
func (e *Emulator) instanceFilterLocked(key string, values []string, legacy bool) (instanceFilter, error) {
	in := func(s string) bool { return slices.Contains(values, s) }
	switch {
	case key == "InstanceIds":
		for _, id := range values {
			// Documented: naming a node that is not valid or not yours is an error.
			if _, ok := e.instances[id]; !ok {
				return nil, clientErr("InvalidInstanceId", "instance %s is not a managed node", id)
			}
		}
		return func(i *instance) bool { return in(i.ID) }, nil
	case key == "PingStatus":
		for _, s := range values {
			if !validPing(PingStatus(s)) {
				return nil, &apiError{status: 400, typ: "InvalidInstanceInformationFilterValue", lowerMessage: true,
					message: "PingStatus values are Online, ConnectionLost and Inactive, not " + s}
			}
		}
		return func(i *instance) bool { return in(string(i.PingStatus)) }, nil
	case key == "PlatformTypes" || (!legacy && key == "PlatformType"):
		for _, s := range values {
			if s != "Windows" && s != "Linux" && s != "MacOS" {
				return nil, &apiError{status: 400, typ: "InvalidInstanceInformationFilterValue", lowerMessage: true,
					message: "platform types are Windows, Linux and MacOS, not " + s}
			}
		}
		return func(i *instance) bool { return in(string(i.Platform)) }, nil
	case key == "AgentVersion":
		return func(i *instance) bool { return in(i.AgentVersion) }, nil
	case key == "ResourceType":
		return func(*instance) bool { return in("EC2Instance") }, nil
	case key == "ActivationIds", key == "IamRole", key == "AssociationStatus":
		return func(*instance) bool { return false }, nil
	case !legacy && (key == "SourceIds"):
		return func(i *instance) bool { return in(i.ID) }, nil
	case !legacy && (key == "SourceTypes"):
		return func(*instance) bool { return in("AWS::EC2::Instance") }, nil
	case !legacy && key == "tag-key":
		return func(i *instance) bool {
			for _, k := range sortedTagKeys(i.Tags) {
				if in(k) {
					return true
				}
			}
			return false
		}, nil
	case !legacy && strings.HasPrefix(key, "tag:") && len(key) > len("tag:"):
		name := strings.TrimPrefix(key, "tag:")
		return func(i *instance) bool {
			v, ok := i.Tags[name]
			return ok && in(v)
		}, nil
	}
	return nil, clientErr("InvalidFilterKey", "filter key %s is not supported", key)
}
