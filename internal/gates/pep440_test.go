package gates

import (
	"sort"
	"testing"
)

func TestPEP440Normalization(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"1.0", "1.0"},
		{"v1.0", "1.0"},
		{"1.0.0", "1.0.0"},
		{"1!2.0", "1!2.0"},
		{"1.0a1", "1.0a1"},
		{"1.0-alpha.1", "1.0a1"},
		{"1.0.beta2", "1.0b2"},
		{"1.0c3", "1.0rc3"},
		{"1.0pre4", "1.0rc4"},
		{"1.0preview", "1.0rc0"},
		{"1.0RC1", "1.0rc1"},
		{"1.0-1", "1.0.post1"},
		{"1.0.post", "1.0.post0"},
		{"1.0rev2", "1.0.post2"},
		{"1.0r3", "1.0.post3"},
		{"1.0_post_4", "1.0.post4"},
		{"1.0dev", "1.0.dev0"},
		{"1.0-dev5", "1.0.dev5"},
		{"1.0a1.post2.dev3", "1.0a1.post2.dev3"},
		{"1.0+Ubuntu-1", "1.0+ubuntu-1"},
		{" 2.31.0 ", "2.31.0"},
	} {
		v, err := parsePEP440(tc.in)
		if err != nil {
			t.Errorf("parse %q: %v", tc.in, err)
			continue
		}
		if got := v.String(); got != tc.want {
			t.Errorf("%q normalizes to %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{"", "abc", "1.0-beta-x", "1..0", "1.0+", "latest", "1.0 beta 1 2", "99999999999999999999999"} {
		if _, err := parsePEP440(bad); err == nil {
			t.Errorf("%q parsed as a version", bad)
		}
	}
}

func TestPEP440Ordering(t *testing.T) {
	// Strictly increasing, following PEP 440's examples of ordering.
	ordered := []string{
		"0.9",
		"1.0.dev0",
		"1.0.dev456",
		"1.0a1.dev1",
		"1.0a1",
		"1.0a2.dev456",
		"1.0a12.dev456",
		"1.0a12",
		"1.0b1.dev456",
		"1.0b2",
		"1.0b2.post345.dev456",
		"1.0b2.post345",
		"1.0rc1.dev456",
		"1.0rc1",
		"1.0",
		"1.0.post456.dev34",
		"1.0.post456",
		"1.0.1",
		"1.1.dev1",
		"1.2",
		"1.10",
		"2.0",
		"10.0",
		"2013.10",
		"1!0.1",
		"1!1.0",
	}
	for i := 0; i+1 < len(ordered); i++ {
		a, b := ordered[i], ordered[i+1]
		if c, ok := compareVersionStrings(a, b); !ok || c != -1 {
			t.Errorf("compare(%s, %s) = %d, want -1", a, b, c)
		}
		if c, _ := compareVersionStrings(b, a); c != 1 {
			t.Errorf("compare(%s, %s) = %d, want 1", b, a, c)
		}
	}
	// Sorting a shuffled copy gives the same order back.
	shuffled := []string{}
	for i := len(ordered) - 1; i >= 0; i -= 2 {
		shuffled = append(shuffled, ordered[i])
	}
	for i := len(ordered) - 2; i >= 0; i -= 2 {
		shuffled = append(shuffled, ordered[i])
	}
	sort.Slice(shuffled, func(i, j int) bool { c, _ := compareVersionStrings(shuffled[i], shuffled[j]); return c < 0 })
	for i := range ordered {
		if shuffled[i] != ordered[i] {
			t.Fatalf("sorted = %v", shuffled)
		}
	}
}

func TestPEP440Equality(t *testing.T) {
	for _, pair := range [][2]string{
		{"1.0", "1.0.0"},
		{"1.0", "1.0.0.0"},
		{"1.0", "1.0+local.7"},
		{"1.0", "v1.0"},
		{"0!1.0", "1.0"},
		{"1.0rc1", "1.0c1"},
		{"1.0.post0", "1.0-0"},
		{"1.0a", "1.0a0"},
	} {
		if c, ok := compareVersionStrings(pair[0], pair[1]); !ok || c != 0 {
			t.Errorf("compare(%s, %s) = %d, %v; want equal", pair[0], pair[1], c, ok)
		}
	}
	if _, ok := compareVersionStrings("1.0", "not-a-version"); ok {
		t.Error("a non-PEP 440 string compared as a version")
	}
}
