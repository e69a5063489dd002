package sandbox

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Faults are the failures the sandbox injects into upload requests.
// Probabilities are in [0, 1] and drawn independently per request, in the
// order Reset, P500, P429 (before the request is checked) and BadSig (after
// an identifier was issued).
type Faults struct {
	P500   float64       // answer 500 with the API's system error code
	P429   float64       // answer 429 with the API's rate-limit code
	Reset  float64       // read the request, then drop the connection without a reply; nothing is issued
	BadSig float64       // issue and count the identifier, but spoil the reply signature
	Delay  time.Duration // wait this long before handling each upload request; >= 0
	// Stall: read the request, then send nothing until the client goes
	// away; nothing is issued.
	Stall float64
	// Trickle: answer at once with headers and then a system-error body of
	// one byte a second; nothing is issued.
	Trickle float64
	// RateLimit is the most upload requests per second accepted per merchant
	// and API (burst: the same number, at least 1); more are answered 429.
	// 0 means no limit.
	RateLimit float64
	// Quota is the most uploads a merchant may make to one API per day
	// (China time); more are answered 429 with the page's rate-limit code
	// and its "the day's upload quota is reached" message. 0 means no quota.
	Quota int
	// ID spoils the identifiers issued: "long" (1,000,000 characters),
	// "control" (an escape sequence inside), "same" (one identifier for
	// every upload). "" issues good ones.
	ID string
	// Sign chooses the key of every upload reply: "" or "key" as the
	// request names (the platform public key, or the newest platform
	// certificate when the request names a certificate); "certificate" the
	// newest platform certificate even when the request named the public
	// key (a merchant in migration sees both); "unknown" a certificate
	// that GET /v3/certificates never lists.
	Sign string
}

// The values of Faults.ID.
var idFaults = []string{"long", "control", "same"}

// String renders f in ParseFaults' syntax, keys sorted, zero values left out.
func (f Faults) String() string {
	var parts []string
	add := func(k string, v float64) {
		if v != 0 {
			parts = append(parts, k+"="+strconv.FormatFloat(v, 'g', -1, 64))
		}
	}
	add("429", f.P429)
	add("500", f.P500)
	add("badsig", f.BadSig)
	if f.Delay != 0 {
		parts = append(parts, "delay="+f.Delay.String())
	}
	add("reset", f.Reset)
	add("stall", f.Stall)
	add("trickle", f.Trickle)
	add("quota", float64(f.Quota))
	add("rps", f.RateLimit)
	if f.ID != "" {
		parts = append(parts, "id="+f.ID)
	}
	if f.Sign != "" && f.Sign != "key" {
		parts = append(parts, "sign="+f.Sign)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// ParseFaults parses a fault specification such as
// "500=0.2,429=0.1,reset=0.05,badsig=0.02,delay=50ms,rps=20,quota=100". Keys:
// 500, 429, reset, badsig (probabilities 0..1), delay (a Go duration), rps (a
// rate limit, requests per second), quota (uploads per merchant, API and
// day), id (long, control or same: spoiled identifiers) and sign
// (certificate: sign every reply with the platform certificate; unknown:
// with a certificate the download never lists; key: the default). The empty string means no faults.
func ParseFaults(spec string) (Faults, error) {
	var f Faults
	seen := map[string]bool{}
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		k, v, ok := strings.Cut(item, "=")
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
		if !ok || v == "" {
			return Faults{}, fmt.Errorf("fault %q: want key=value", item)
		}
		if seen[k] {
			return Faults{}, fmt.Errorf("fault %q given twice", k)
		}
		seen[k] = true
		switch k {
		case "delay":
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return Faults{}, fmt.Errorf("fault delay=%s: want a non-negative duration such as 50ms", v)
			}
			f.Delay = d
		case "quota":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return Faults{}, fmt.Errorf("fault quota=%s: want a non-negative whole number", v)
			}
			f.Quota = n
		case "id":
			if !slices.Contains(idFaults, v) {
				return Faults{}, fmt.Errorf("fault id=%s: want one of %s", v, strings.Join(idFaults, ", "))
			}
			f.ID = v
		case "sign":
			switch v {
			case "certificate", "unknown":
				f.Sign = v
			case "key":
				f.Sign = ""
			default:
				return Faults{}, fmt.Errorf("fault sign=%s: want key, certificate or unknown", v)
			}
		case "rps":
			r, err := strconv.ParseFloat(v, 64)
			if err != nil || r < 0 || math.IsInf(r, 0) || math.IsNaN(r) {
				return Faults{}, fmt.Errorf("fault rps=%s: want a non-negative number", v)
			}
			f.RateLimit = r
		case "500", "429", "reset", "badsig", "stall", "trickle":
			p, err := strconv.ParseFloat(v, 64)
			if err != nil || !(p >= 0 && p <= 1) {
				return Faults{}, fmt.Errorf("fault %s=%s: want a probability between 0 and 1", k, v)
			}
			switch k {
			case "500":
				f.P500 = p
			case "429":
				f.P429 = p
			case "reset":
				f.Reset = p
			case "badsig":
				f.BadSig = p
			case "stall":
				f.Stall = p
			case "trickle":
				f.Trickle = p
			}
		default:
			return Faults{}, fmt.Errorf("unknown fault %q (known: 500, 429, reset, badsig, delay, rps, quota, id, sign)", k)
		}
	}
	return f, nil
}

// SetFaults replaces the injected faults; the zero Faults turns them off.
// Invalid values are clamped (probabilities to [0, 1], negatives to 0).
func (s *Sandbox) SetFaults(f Faults) {
	clamp := func(p float64) float64 {
		if !(p > 0) {
			return 0
		}
		return math.Min(p, 1)
	}
	f.P500, f.P429, f.Reset, f.BadSig = clamp(f.P500), clamp(f.P429), clamp(f.Reset), clamp(f.BadSig)
	f.Stall, f.Trickle = clamp(f.Stall), clamp(f.Trickle)
	f.Delay = max(f.Delay, 0)
	f.Quota = max(f.Quota, 0)
	if !slices.Contains(idFaults, f.ID) {
		f.ID = ""
	}
	if !(f.RateLimit > 0) || math.IsInf(f.RateLimit, 0) {
		f.RateLimit = 0
	}
	s.mu.Lock()
	s.faults = f
	s.buckets = make(map[string]*bucket)
	s.mu.Unlock()
}

// Faults returns the faults in force.
func (s *Sandbox) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

// bucket is a token bucket for one merchant and API.
type bucket struct {
	tokens float64
	last   time.Time
}

// allow takes a token for key at now. Callers hold s.mu.
func (s *Sandbox) allow(key string, now time.Time) bool {
	rate := s.faults.RateLimit
	if rate <= 0 {
		return true
	}
	burst := math.Max(1, math.Ceil(rate))
	b, ok := s.buckets[key]
	if !ok {
		b = &bucket{tokens: burst, last: now}
		s.buckets[key] = b
	}
	b.tokens = math.Min(burst, b.tokens+now.Sub(b.last).Seconds()*rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
