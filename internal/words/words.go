// Package words has the few rules of English that messages need: plurals,
// articles and sizes in bytes.
package words

import (
	"fmt"
	"strings"
)

// Count is n with noun, plural when n is not 1: "1 merchant", "2
// merchants", "0 resource instances". Nouns ending in a consonant and y
// take -ies ("2 entries"), in s, x, sh or ch -es ("2 addresses"), the
// others -s: the rules of every noun wxmedia counts.
func Count(n int, noun string) string {
	return fmt.Sprintf("%d %s", n, Noun(n, noun))
}

// Noun is noun in the number that n asks for, without n.
func Noun(n int, noun string) string {
	if n == 1 {
		return noun
	}
	switch {
	case strings.HasSuffix(noun, "y") && len(noun) > 1 && !strings.ContainsRune("aeiou", rune(noun[len(noun)-2])):
		return noun[:len(noun)-1] + "ies"
	case strings.HasSuffix(noun, "s") || strings.HasSuffix(noun, "x") || strings.HasSuffix(noun, "sh") || strings.HasSuffix(noun, "ch"):
		return noun + "es"
	}
	return noun + "s"
}

// Article is "a" or "an" before word, chosen by its first letter: "an
// object", "a tuple", "a list of string". Words that sound otherwise
// ("a unique …") are not among those wxmedia puts it before.
func Article(word string) string {
	if word != "" && strings.ContainsRune("aeiouAEIOU", rune(word[0])) {
		return "an " + word
	}
	return "a " + word
}

// Be is the verb "to be" agreeing with a count of n: "is" for 1, else
// "are".
func Be(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}

// Size is a byte count the way messages write sizes and limits: "2 MiB",
// "512 KiB", or "1000 bytes" when it is not a whole number of either.
func Size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
