package trace

import (
	"strconv"
	"strings"
)

// namer turns trace identifiers into unique DNS-1123 names, deterministically in the
// order it is asked.
type namer struct{ used map[string]bool }

func newNamer() *namer { return &namer{used: map[string]bool{}} }

// name joins parts with "-", lower-cases them, replaces every character a DNS-1123
// subdomain does not allow with "-", and appends -2, -3, … if the name was given before.
func (n *namer) name(parts ...string) string {
	base := sanitize(strings.Join(parts, "-"))
	name := base
	for i := 2; n.used[name]; i++ {
		name = base + "-" + strconv.Itoa(i)
	}
	n.used[name] = true
	return name
}

// sanitize makes s a DNS-1123 subdomain of at most 200 characters (room for a suffix).
func sanitize(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9'
		if !ok {
			if !dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = true
			continue
		}
		b.WriteRune(r)
		dash = false
	}
	out := strings.TrimRight(b.String(), "-")
	if len(out) > 200 {
		out = strings.TrimRight(out[:200], "-")
	}
	if out == "" {
		out = "x"
	}
	return out
}
