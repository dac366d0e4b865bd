package proc

import (
	"encoding/binary"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/windows"
)

var (
	iphlpapi                = windows.NewLazySystemDLL("iphlpapi.dll")
	procGetExtendedTcpTable = iphlpapi.NewProc("GetExtendedTcpTable")
)

const (
	tcpTableOwnerPIDListener = 3 // TCP_TABLE_OWNER_PID_LISTENER
	afInet                   = 2
	afInet6                  = 23
)

// listener asks GetExtendedTcpTable for the listening sockets with their
// owners' PIDs, IPv4 then IPv6, and names the one on port.
func listener(port int) (int, string, bool) {
	for _, family := range []uintptr{afInet, afInet6} {
		// Wine lists the socket with owner 0: no name to give.
		if pid, ok := tcpOwner(family, port); ok && pid != 0 {
			return pid, programName(pid), true
		}
	}
	return 0, "", false
}

func tcpOwner(family uintptr, port int) (int, bool) {
	if procGetExtendedTcpTable.Find() != nil {
		return 0, false
	}
	var size uint32
	procGetExtendedTcpTable.Call(0, uintptr(unsafe.Pointer(&size)), 0, family, tcpTableOwnerPIDListener, 0) //nolint:errcheck
	if size == 0 {
		return 0, false
	}
	buf := make([]byte, size)
	r, _, _ := procGetExtendedTcpTable.Call(uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&size)), 0, family, tcpTableOwnerPIDListener, 0)
	if r != 0 || len(buf) < 4 {
		return 0, false
	}
	n := int(binary.LittleEndian.Uint32(buf))
	// MIB_TCPROW_OWNER_PID: state, local addr, local port, remote addr,
	// remote port, pid (6 DWORDs); MIB_TCP6ROW_OWNER_PID: local addr (16),
	// scope, local port, remote addr (16), scope, remote port, state, pid.
	rowSize, portAt, pidAt := 24, 8, 20
	if family == afInet6 {
		rowSize, portAt, pidAt = 56, 20, 52
	}
	for i := 0; i < n; i++ {
		row := 4 + i*rowSize
		if row+rowSize > len(buf) {
			break
		}
		// The port is in network byte order in the low 16 bits.
		p := int(buf[row+portAt])<<8 | int(buf[row+portAt+1])
		if p == port {
			return int(binary.LittleEndian.Uint32(buf[row+pidAt:])), true
		}
	}
	return 0, false
}

func programName(pid int) string {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	if err != nil {
		return ""
	}
	defer windows.CloseHandle(h) //nolint:errcheck
	buf := make([]uint16, windows.MAX_LONG_PATH)
	n := uint32(len(buf))
	if err := windows.QueryFullProcessImageName(h, 0, &buf[0], &n); err != nil {
		return ""
	}
	return filepath.Base(windows.UTF16ToString(buf[:n]))
}
