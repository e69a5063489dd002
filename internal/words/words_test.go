package words

import "testing"

func TestWords(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{Count(1, "merchant"), "1 merchant"},
		{Count(2, "address"), "2 addresses"},
		{Be(1) + " " + Be(2), "is are"},
		{Count(0, "merchant"), "0 merchants"},
		{Count(2, "resource instance"), "2 resource instances"},
		{Count(1, "cache entry"), "1 cache entry"},
		{Count(3, "cache entry"), "3 cache entries"},
		{Count(2, "key"), "2 keys"},
		{Article("object"), "an object"},
		{Article("tuple"), "a tuple"},
		{Article("list of string"), "a list of string"},
		{Article("unknown value"), "an unknown value"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
