package arguments

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/wxmedia/wxmedia/uploader"
)

func stateFlagSet(sub string, c *Common, s *State) *flag.FlagSet {
	fs := newFlagSet("state "+sub, c)
	s.register(fs)
	return fs
}

// StateList is the command line of wxmedia state list.
type StateList struct {
	Common
	State
	// Addrs are the addresses to list under, as given; none for all.
	Addrs []string
}

func stateListFlags(s *StateList) *flag.FlagSet { return stateFlagSet("list", &s.Common, &s.State) }

// ParseStateList parses the arguments of wxmedia state list.
func ParseStateList(args []string) (*StateList, error) {
	s := new(StateList)
	pos, err := parse(stateListFlags(s), args)
	if err != nil {
		return nil, err
	}
	s.Addrs = pos
	return s, nil
}

// StateShow is the command line of wxmedia state show.
type StateShow struct {
	Common
	State
	Addr string
}

func stateShowFlags(s *StateShow) *flag.FlagSet { return stateFlagSet("show", &s.Common, &s.State) }

// ParseStateShow parses the arguments of wxmedia state show.
func ParseStateShow(args []string) (*StateShow, error) {
	s := new(StateShow)
	pos, err := parse(stateShowFlags(s), args)
	if err != nil {
		return nil, err
	}
	if len(pos) != 1 {
		return nil, errors.New("state show needs exactly one resource instance address")
	}
	s.Addr = pos[0]
	return s, nil
}

// StateRm is the command line of wxmedia state rm.
type StateRm struct {
	Common
	State
	Addrs []string
}

func stateRmFlags(s *StateRm) *flag.FlagSet { return stateFlagSet("rm", &s.Common, &s.State) }

// ParseStateRm parses the arguments of wxmedia state rm.
func ParseStateRm(args []string) (*StateRm, error) {
	s := new(StateRm)
	pos, err := parse(stateRmFlags(s), args)
	if err != nil {
		return nil, err
	}
	if len(pos) == 0 {
		return nil, errors.New("state rm needs at least one resource address")
	}
	s.Addrs = pos
	return s, nil
}

// StateMv is the command line of wxmedia state mv.
type StateMv struct {
	Common
	State
	Src, Dst string
}

func stateMvFlags(s *StateMv) *flag.FlagSet { return stateFlagSet("mv", &s.Common, &s.State) }

// ParseStateMv parses the arguments of wxmedia state mv.
func ParseStateMv(args []string) (*StateMv, error) {
	s := new(StateMv)
	pos, err := parse(stateMvFlags(s), args)
	if err != nil {
		return nil, err
	}
	if len(pos) != 2 {
		return nil, errors.New("state mv needs exactly two addresses: SRC DST")
	}
	s.Src, s.Dst = pos[0], pos[1]
	return s, nil
}

// StatePull is the command line of wxmedia state pull.
type StatePull struct {
	Common
	State
}

func statePullFlags(s *StatePull) *flag.FlagSet { return stateFlagSet("pull", &s.Common, &s.State) }

// ParseStatePull parses the arguments of wxmedia state pull.
func ParseStatePull(args []string) (*StatePull, error) {
	s := new(StatePull)
	pos, err := parse(statePullFlags(s), args)
	if err != nil {
		return nil, err
	}
	if len(pos) != 0 {
		return nil, errors.New("state pull takes no arguments")
	}
	return s, nil
}

// StatePush is the command line of wxmedia state push.
type StatePush struct {
	Common
	State
	// Force is -force: push even when the lineage differs or the serial is
	// behind.
	Force bool
	// Path is the document to push, "-" for stdin.
	Path string
}

func statePushFlags(s *StatePush) *flag.FlagSet {
	fs := stateFlagSet("push", &s.Common, &s.State)
	fs.BoolVar(&s.Force, "force", false, "push even when the lineage differs or the serial is behind")
	return fs
}

// ParseStatePush parses the arguments of wxmedia state push.
func ParseStatePush(args []string) (*StatePush, error) {
	s := new(StatePush)
	pos, err := parse(statePushFlags(s), args)
	if err != nil {
		return nil, err
	}
	if len(pos) != 1 {
		return nil, errors.New("state push needs exactly one file (- for stdin)")
	}
	s.Path = pos[0]
	return s, nil
}

// CacheFilter holds the selector flags of state cache list and rm; an
// empty field selects every value.
type CacheFilter struct {
	MchID, API, Service string
}

func (c *CacheFilter) register(fs *flag.FlagSet) {
	fs.StringVar(&c.MchID, "mchid", "", "only entries of this merchant ID")
	var apis []string
	for _, spec := range uploader.Specs() {
		apis = append(apis, string(spec.API))
	}
	fs.StringVar(&c.API, "api", "", "only entries of this API: "+strings.Join(apis, ", "))
	fs.StringVar(&c.Service, "service", "", "only entries of this service: wechatpay, a sandbox ID or an endpoint URL")
}

// StateCacheList is the command line of wxmedia state cache list.
type StateCacheList struct {
	Common
	State
	Filter CacheFilter
	// JSON is -json: the entries as a JSON array.
	JSON bool
	// Digests are SHA-256 digests or prefixes of them; none for all.
	Digests []string
}

func stateCacheListFlags(s *StateCacheList) *flag.FlagSet {
	fs := stateFlagSet("cache list", &s.Common, &s.State)
	s.Filter.register(fs)
	fs.BoolVar(&s.JSON, "json", false, "print the entries as a JSON array")
	return fs
}

// ParseStateCacheList parses the arguments of wxmedia state cache list.
func ParseStateCacheList(args []string) (*StateCacheList, error) {
	s := new(StateCacheList)
	pos, err := parse(stateCacheListFlags(s), args)
	if err != nil {
		return nil, err
	}
	s.Digests = pos
	return s, nil
}

// MinDigestPrefix is the shortest SHA-256 prefix state cache rm takes, as
// git takes abbreviated object names.
const MinDigestPrefix = 6

// StateCacheRm is the command line of wxmedia state cache rm.
type StateCacheRm struct {
	Common
	State
	Filter CacheFilter
	// All is -all: remove every entry.
	All bool
	// Digests are SHA-256 digests or prefixes of them, lower-case.
	Digests []string
}

func stateCacheRmFlags(s *StateCacheRm) *flag.FlagSet {
	fs := stateFlagSet("cache rm", &s.Common, &s.State)
	s.Filter.register(fs)
	fs.BoolVar(&s.All, "all", false, "remove every entry")
	return fs
}

// ParseStateCacheRm parses the arguments of wxmedia state cache rm.
func ParseStateCacheRm(args []string) (*StateCacheRm, error) {
	s := new(StateCacheRm)
	pos, err := parse(stateCacheRmFlags(s), args)
	if err != nil {
		return nil, err
	}
	if !s.All && len(pos) == 0 && s.Filter == (CacheFilter{}) {
		return nil, errors.New("state cache rm needs SHA-256 digests, -mchid/-api/-service, or -all")
	}
	if s.All && (len(pos) > 0 || s.Filter != (CacheFilter{})) {
		return nil, errors.New("-all cannot be combined with other selectors")
	}
	for _, p := range pos {
		if len(p) < MinDigestPrefix || len(p) > 64 || strings.Trim(strings.ToLower(p), "0123456789abcdef") != "" {
			return nil, withHints(fmt.Errorf("%q is not a SHA-256 or a prefix of one (%d to 64 hex digits)", p, MinDigestPrefix),
				"wxmedia state cache list shows the digests")
		}
		s.Digests = append(s.Digests, strings.ToLower(p))
	}
	return s, nil
}
