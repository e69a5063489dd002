package uploader

import (
	"net/http"
	"sync"
)

// SizeTransport sizes t's keep-alive pool for parallelism concurrent
// uploads to one host, so that no upload opens a new connection (and
// handshake) because the idle pool was too small: MaxIdleConnsPerHost is
// at least parallelism, and MaxIdleConns leaves room for a few hosts.
func SizeTransport(t *http.Transport, parallelism int) {
	if parallelism < 1 {
		parallelism = 1
	}
	t.MaxIdleConnsPerHost = max(t.MaxIdleConnsPerHost, parallelism)
	t.MaxIdleConns = max(t.MaxIdleConns, 4*parallelism)
	t.MaxConnsPerHost = 0
}

// HTTPClients hands out the HTTP clients of a run: one client, with one
// keep-alive transport sized for the run's parallelism, per CA file, shared
// by every merchant that trusts the same CAs (all sandbox merchants, or all
// merchants on WeChat Pay's hosts). It is safe for concurrent use.
type HTTPClients struct {
	parallelism int
	mu          sync.Mutex
	byCA        map[string]*http.Client
}

// NewHTTPClients returns the clients of a run with parallelism concurrent
// uploads (apply's -parallelism).
func NewHTTPClients(parallelism int) *HTTPClients {
	return &HTTPClients{parallelism: parallelism, byCA: map[string]*http.Client{}}
}

// Client returns the shared client that trusts the system roots plus
// caFile's certificates when caFile is not empty (see
// NewHTTPClient).
func (h *HTTPClients) Client(caFile string) (*http.Client, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c, ok := h.byCA[caFile]; ok {
		return c, nil
	}
	c, err := NewHTTPClient(caFile)
	if err != nil {
		return nil, err
	}
	if t, ok := c.Transport.(*http.Transport); ok {
		SizeTransport(t, h.parallelism)
	}
	h.byCA[caFile] = c
	return c, nil
}

// ClientCert returns a client presenting a client certificate (the v2
// API), sized like the others; it is not shared, as the certificate is the
// merchant's own.
func (h *HTTPClients) ClientCert(caFile, certFile, keyFile string) (*http.Client, error) {
	c, err := NewHTTPClientCert(caFile, certFile, keyFile)
	if err != nil {
		return nil, err
	}
	if t, ok := c.Transport.(*http.Transport); ok {
		SizeTransport(t, h.parallelism)
	}
	return c, nil
}
