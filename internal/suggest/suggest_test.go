package suggest

import "testing"

func TestNearest(t *testing.T) {
	cmds := []string{"validate", "plan", "apply", "show", "output", "state", "import", "force-unlock", "fmt", "sandbox", "version", "help"}
	for _, tc := range []struct{ name, want string }{
		{"aply", "apply"},
		{"paln", "plan"},
		{"valdiate", "validate"},
		{"force", "force-unlock"}, // the only option it is a prefix of
		{"s", ""},                 // too short for a prefix
		{"xyzzy", ""},
		{"stat", "state"},
		{"output", ""}, // an exact match is not a suggestion
	} {
		if got := Nearest(tc.name, cmds); got != tc.want {
			t.Errorf("Nearest(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
	// Ties go to the first in sorted order, whatever the options' order.
	if a, b := Nearest("bat", []string{"cat", "bar"}), Nearest("bat", []string{"bar", "cat"}); a != "bar" || b != "bar" {
		t.Errorf("tie: %q, %q, want bar", a, b)
	}
}
