package ssmemu

import (
	"fmt"
	"maps"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Platform is an instance's operating-system family as DescribeInstanceInformation
// reports it; it decides which documents an instance accepts.
type Platform string

// The platforms an emulated instance can declare. Only Linux instances execute
// anything; Windows ones exist so that preflight checks can be tested.
const (
	PlatformLinux   Platform = "Linux"
	PlatformWindows Platform = "Windows"
)

// PingStatus is the agent connection state SSM reports; anything but Online
// stops delivery of new work to the instance.
type PingStatus string

// The PingStatus values of the botocore model.
const (
	PingOnline         PingStatus = "Online"
	PingConnectionLost PingStatus = "ConnectionLost"
	PingInactive       PingStatus = "Inactive"
)

// Instance describes one emulated managed node. Dir plays the machine: it is
// the default working directory of every script run there.
type Instance struct {
	// ID must look like an EC2 instance ID: "i-" and 8 or 17 lowercase hex digits.
	ID string
	// Dir must exist for Linux instances; scripts run there unless the
	// workingDirectory parameter says otherwise.
	Dir string
	// Platform defaults to Linux.
	Platform Platform
	// PingStatus defaults to Online.
	PingStatus PingStatus
	// AgentVersion defaults to a recent SSM Agent version string.
	AgentVersion string
	// IPAddress defaults to 127.0.0.1.
	IPAddress string
	// ComputerName defaults to a name derived from the ID.
	ComputerName string
	// PlatformName and PlatformVersion are reported as given (defaults depend on Platform).
	PlatformName    string
	PlatformVersion string
	// Tags are matched by SendCommand Targets ("tag:Key", "tag-key") and by
	// DescribeInstanceInformation tag filters.
	Tags map[string]string
}

// instanceIDHex is stricter than the model's pattern (\w): real EC2 IDs are hex.
var instanceIDHex = regexp.MustCompile(`^i-([0-9a-f]{8}|[0-9a-f]{17})$`)

// instance is the emulator's live record of a node.
type instance struct {
	Instance
	lastPing time.Time
	regDate  time.Time
}

func normalizeInstance(in Instance) (Instance, error) {
	if !instanceIDHex.MatchString(in.ID) {
		return in, fmt.Errorf("instance id %q: want i- followed by 8 or 17 hex digits", in.ID)
	}
	if in.Platform == "" {
		in.Platform = PlatformLinux
	}
	switch in.Platform {
	case PlatformLinux, PlatformWindows:
	default:
		return in, fmt.Errorf("instance %s: unsupported platform %q", in.ID, in.Platform)
	}
	if in.PingStatus == "" {
		in.PingStatus = PingOnline
	}
	if !validPing(in.PingStatus) {
		return in, fmt.Errorf("instance %s: unknown ping status %q", in.ID, in.PingStatus)
	}
	if in.Platform == PlatformLinux {
		st, err := os.Stat(in.Dir)
		if err != nil {
			return in, fmt.Errorf("instance %s: directory: %w", in.ID, err)
		}
		if !st.IsDir() {
			return in, fmt.Errorf("instance %s: %s is not a directory", in.ID, in.Dir)
		}
	}
	if in.AgentVersion == "" {
		in.AgentVersion = "3.3.1142.0"
	}
	if in.IPAddress == "" {
		in.IPAddress = "127.0.0.1"
	}
	if in.ComputerName == "" {
		in.ComputerName = "emu-" + strings.TrimPrefix(in.ID, "i-") + ".local"
	}
	if in.PlatformName == "" {
		if in.Platform == PlatformWindows {
			in.PlatformName, in.PlatformVersion = "Microsoft Windows Server 2022 Datacenter", "10.0.20348"
		} else {
			in.PlatformName, in.PlatformVersion = "Debian GNU/Linux", "12"
		}
	}
	in.Tags = maps.Clone(in.Tags)
	if in.Tags == nil {
		in.Tags = map[string]string{}
	}
	return in, nil
}

func validPing(p PingStatus) bool {
	return p == PingOnline || p == PingConnectionLost || p == PingInactive
}

// sortedTagKeys keeps filter evaluation deterministic.
func sortedTagKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// AddInstance registers a node at runtime, as when a new server joins the fleet.
func (e *Emulator) AddInstance(in Instance) error {
	n, err := normalizeInstance(in)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.instances[n.ID]; ok {
		return fmt.Errorf("instance %s already exists", n.ID)
	}
	now := time.Now()
	e.instances[n.ID] = &instance{Instance: n, lastPing: now, regDate: now}
	e.order = append(e.order, n.ID)
	e.wakeAllLocked()
	return nil
}

// RemoveInstance deregisters a node, as when a server is terminated: its
// pending invocations become Undeliverable and running scripts are killed.
func (e *Emulator) RemoveInstance(id string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.instances[id]; !ok {
		return fmt.Errorf("instance %s: not found", id)
	}
	delete(e.instances, id)
	for i, v := range e.order {
		if v == id {
			e.order = append(e.order[:i:i], e.order[i+1:]...)
			break
		}
	}
	for _, c := range e.commands {
		if inv := c.byInstance[id]; inv != nil {
			inv.instanceGoneLocked(time.Now())
		}
	}
	e.wakeAllLocked()
	return nil
}

// SetPingStatus changes an instance's connection state at runtime, so tests
// can take a server offline in the middle of a deploy and bring it back.
func (e *Emulator) SetPingStatus(id string, status PingStatus) error {
	if !validPing(status) {
		return fmt.Errorf("unknown ping status %q", status)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	in, ok := e.instances[id]
	if !ok {
		return fmt.Errorf("instance %s: not found", id)
	}
	if in.PingStatus == PingOnline || status == PingOnline {
		in.lastPing = time.Now()
	}
	in.PingStatus = status
	e.wakeAllLocked()
	return nil
}

// Instances returns a snapshot of the registered nodes in registration order.
func (e *Emulator) Instances() []Instance {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Instance, 0, len(e.order))
	for _, id := range e.order {
		in := e.instances[id].Instance
		in.Tags = maps.Clone(in.Tags)
		out = append(out, in)
	}
	return out
}
