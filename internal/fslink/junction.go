package fslink

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
)

// Junctions (NTFS mount points) are how the Windows agent links
// directories: unlike symbolic links they need no privilege, and unlike
// copies they share the data. Their reparse data is a fixed layout (MS-FSCC
// 2.1.2.5, "Mount Point Reparse Data Buffer"), encoded here without any
// Windows call so that the encoding is tested on every platform:
//
//	ReparseTag           uint32  0xA0000003 (IO_REPARSE_TAG_MOUNT_POINT)
//	ReparseDataLength    uint16  bytes from SubstituteNameOffset to the end
//	Reserved             uint16  0
//	SubstituteNameOffset uint16  into PathBuffer, bytes
//	SubstituteNameLength uint16  bytes, without the terminating NUL
//	PrintNameOffset      uint16
//	PrintNameLength      uint16
//	PathBuffer           UTF-16LE: substitute name, NUL, print name, NUL
//
// The substitute name is the NT path the I/O manager follows: the target's
// Win32 path behind the \??\ prefix. The print name is what people see.

// reparseTagMountPoint is IO_REPARSE_TAG_MOUNT_POINT.
const reparseTagMountPoint = 0xA0000003

// maxReparseData is MAXIMUM_REPARSE_DATA_BUFFER_SIZE: file systems refuse
// larger reparse data.
const maxReparseData = 16 * 1024

// ntPrefix turns a Win32 path into the NT namespace a junction stores.
const ntPrefix = `\??\`

var errNotJunction = errors.New("not a junction")

// junctionData encodes the reparse data of a junction to target, an
// absolute Win32 path with a drive letter (C:\Apps\Billing\releases\x).
func junctionData(target string) ([]byte, error) {
	target = strings.ReplaceAll(target, "/", `\`)
	target = strings.TrimPrefix(target, `\\?\`)
	if len(target) < 3 || target[1] != ':' || target[2] != '\\' {
		return nil, fmt.Errorf("junction target %q is not an absolute drive path", target)
	}
	if len(target) > 3 {
		target = strings.TrimRight(target, `\`)
	}
	sub := utf16.Encode([]rune(ntPrefix + target))
	shown := utf16.Encode([]rune(target))
	pathBytes := 2 * (len(sub) + 1 + len(shown) + 1)
	dataLen := 8 + pathBytes
	if 8+dataLen > maxReparseData || 2*len(sub) > 0xFFFF {
		return nil, fmt.Errorf("junction target %q is too long for reparse data", target)
	}
	b := make([]byte, 8+dataLen)
	le := binary.LittleEndian
	le.PutUint32(b[0:], reparseTagMountPoint)
	le.PutUint16(b[4:], uint16(dataLen))
	le.PutUint16(b[6:], 0)
	le.PutUint16(b[8:], 0)                       // substitute name offset
	le.PutUint16(b[10:], uint16(2*len(sub)))     // substitute name length
	le.PutUint16(b[12:], uint16(2*(len(sub)+1))) // print name offset, past the NUL
	le.PutUint16(b[14:], uint16(2*len(shown)))   // print name length
	off := 16
	for _, c := range sub {
		le.PutUint16(b[off:], c)
		off += 2
	}
	off += 2 // NUL
	for _, c := range shown {
		le.PutUint16(b[off:], c)
		off += 2
	}
	return b, nil
}

// parseJunctionData decodes the target of a junction's reparse data as
// FSCTL_GET_REPARSE_POINT returns it: the substitute name without its NT
// prefix. Other reparse points (symbolic links, deduplication, cloud files)
// are errNotJunction.
func parseJunctionData(b []byte) (string, error) {
	le := binary.LittleEndian
	if len(b) < 16 {
		return "", fmt.Errorf("reparse data of %d bytes is truncated", len(b))
	}
	if le.Uint32(b[0:]) != reparseTagMountPoint {
		return "", errNotJunction
	}
	dataLen := int(le.Uint16(b[4:]))
	if 8+dataLen > len(b) || dataLen < 8 {
		return "", fmt.Errorf("reparse data length %d exceeds the %d bytes read", dataLen, len(b))
	}
	subOff, subLen := int(le.Uint16(b[8:])), int(le.Uint16(b[10:]))
	path := b[16 : 8+dataLen]
	if subOff%2 != 0 || subLen%2 != 0 || subOff+subLen > len(path) {
		return "", errors.New("junction substitute name lies outside its buffer")
	}
	u := make([]uint16, subLen/2)
	for i := range u {
		u[i] = le.Uint16(path[subOff+2*i:])
	}
	name := string(utf16.Decode(u))
	if rest, ok := strings.CutPrefix(name, ntPrefix); ok {
		if unc, ok := strings.CutPrefix(rest, `UNC\`); ok {
			return `\\` + unc, nil
		}
		return rest, nil
	}
	return name, nil // a volume GUID path or another NT name: as stored
}
