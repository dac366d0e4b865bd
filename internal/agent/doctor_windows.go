package agent

import (
	"fmt"
	"os"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

// freeDisk is the space the agent's account may still write under dir.
func freeDisk(dir string) (uint64, error) {
	p, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return 0, err
	}
	var free, total, totalFree uint64
	if err := windows.GetDiskFreeSpaceEx(p, &free, &total, &totalFree); err != nil {
		return 0, err
	}
	return free, nil
}

// platformChecks: long paths (a venv's site-packages passes 260
// characters easily) and 64-bit PowerShell.
func platformChecks() []Check {
	return []Check{longPaths(), ps64(os.Getenv)}
}

func longPaths() Check {
	c := Check{Name: "long paths"}
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, `SYSTEM\CurrentControlSet\Control\FileSystem`, registry.QUERY_VALUE)
	if err != nil {
		c.Detail = fmt.Sprintf("cannot read LongPathsEnabled: %v", err)
		c.Fix = `set HKLM\SYSTEM\CurrentControlSet\Control\FileSystem LongPathsEnabled = 1 (DWORD)`
		return c
	}
	defer k.Close()
	v, _, err := k.GetIntegerValue("LongPathsEnabled")
	if err != nil || v != 1 {
		c.Detail = "LongPathsEnabled is not 1: paths over 260 characters (deep venvs) fail"
		c.Fix = `New-ItemProperty -Path HKLM:\SYSTEM\CurrentControlSet\Control\FileSystem -Name LongPathsEnabled -Value 1 -PropertyType DWORD -Force`
		return c
	}
	c.OK, c.Detail = true, "LongPathsEnabled = 1"
	return c
}
