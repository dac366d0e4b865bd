package fslink

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"unicode/utf16"
)

// The junction encoding is checked field by field against the layout of
// MS-FSCC 2.1.2.5 (Wine 8 cannot create junctions, so this is where the
// bytes FSCTL_SET_REPARSE_POINT receives are proven).
func TestJunctionDataLayout(t *testing.T) {
	target := `D:\Apps\Billing\releases\20260101T000000Z-0123456789ab`
	b, err := junctionData(target)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	sub := `\??\` + target
	if got := le.Uint32(b[0:]); got != 0xA0000003 {
		t.Fatalf("tag %#x, want IO_REPARSE_TAG_MOUNT_POINT", got)
	}
	wantPath := 2 * (len(sub) + 1 + len(target) + 1)
	if got := int(le.Uint16(b[4:])); got != 8+wantPath || len(b) != 8+got {
		t.Fatalf("ReparseDataLength %d, buffer %d bytes; want %d and %d", got, len(b), 8+wantPath, 16+wantPath)
	}
	if le.Uint16(b[6:]) != 0 {
		t.Fatal("Reserved must be 0")
	}
	subOff, subLen := le.Uint16(b[8:]), le.Uint16(b[10:])
	prOff, prLen := le.Uint16(b[12:]), le.Uint16(b[14:])
	if subOff != 0 || int(subLen) != 2*len(sub) || int(prOff) != 2*len(sub)+2 || int(prLen) != 2*len(target) {
		t.Fatalf("offsets: substitute %d+%d, print %d+%d", subOff, subLen, prOff, prLen)
	}
	str := func(off, n uint16) string {
		u := make([]uint16, n/2)
		for i := range u {
			u[i] = le.Uint16(b[16+int(off)+2*i:])
		}
		return string(utf16.Decode(u))
	}
	if got := str(subOff, subLen); got != sub {
		t.Fatalf("substitute name %q, want %q", got, sub)
	}
	if got := str(prOff, prLen); got != target {
		t.Fatalf("print name %q", got)
	}
	for _, at := range []int{16 + int(subLen), 16 + int(prOff) + int(prLen)} {
		if b[at] != 0 || b[at+1] != 0 {
			t.Fatalf("names must be NUL-terminated (byte %d)", at)
		}
	}
}

func TestJunctionDataRoundTrip(t *testing.T) {
	long := `C:\Apps\` + strings.Repeat(`segment-0123456789\`, 30) + "current"
	for in, want := range map[string]string{
		`C:\Apps\Billing\releases\r1`:     `C:\Apps\Billing\releases\r1`,
		`C:/Apps/Billing/releases/r1/`:    `C:\Apps\Billing\releases\r1`,
		`\\?\D:\Apps\Billing\releases\r2`: `D:\Apps\Billing\releases\r2`,
		`E:\Données\应用\r3`:                `E:\Données\应用\r3`,
		long:                              long,
	} {
		b, err := junctionData(in)
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		got, err := parseJunctionData(b)
		if err != nil || got != want {
			t.Fatalf("%s: read back %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{`relative\dir`, `\Apps\x`, `D:relative`, `\\server\share\x`, `C:\` + strings.Repeat("x", 9000)} {
		if _, err := junctionData(bad); err == nil {
			t.Errorf("junctionData(%.40q) must fail", bad)
		}
	}
}

func TestParseJunctionDataRefuses(t *testing.T) {
	good, _ := junctionData(`C:\x`)
	symlink := bytes.Clone(good)
	binary.LittleEndian.PutUint32(symlink, 0xA000000C) // IO_REPARSE_TAG_SYMLINK
	if _, err := parseJunctionData(symlink); !errors.Is(err, errNotJunction) {
		t.Fatalf("a symbolic link's data: %v, want errNotJunction", err)
	}
	for name, b := range map[string][]byte{
		"truncated header": good[:10],
		"length too large": func() []byte {
			c := bytes.Clone(good)
			binary.LittleEndian.PutUint16(c[4:], 4000)
			return c
		}(),
		"name outside buffer": func() []byte {
			c := bytes.Clone(good)
			binary.LittleEndian.PutUint16(c[10:], 3000)
			return c
		}(),
	} {
		if _, err := parseJunctionData(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// A junction made by another tool to a UNC path or a volume GUID.
	vol := `\??\Volume{01234567-89ab-cdef-0123-456789abcdef}\`
	u := utf16.Encode([]rune(vol))
	b := make([]byte, 16+2*len(u)+4)
	binary.LittleEndian.PutUint32(b, reparseTagMountPoint)
	binary.LittleEndian.PutUint16(b[4:], uint16(len(b)-8))
	binary.LittleEndian.PutUint16(b[10:], uint16(2*len(u)))
	binary.LittleEndian.PutUint16(b[12:], uint16(2*len(u)+2))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[16+2*i:], c)
	}
	if got, err := parseJunctionData(b); err != nil || got != `Volume{01234567-89ab-cdef-0123-456789abcdef}\` {
		t.Fatalf("volume junction: %q, %v", got, err)
	}
}
