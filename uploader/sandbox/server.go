package sandbox

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Server is a running HTTPS listener of a Sandbox.
type Server struct {
	s        *Sandbox
	srv      *http.Server
	ln       net.Listener
	url      string
	done     chan struct{}
	serveErr error
	once     sync.Once
	closeErr error
	active   atomic.Int64 // requests being handled
}

// Start serves the sandbox's handler over HTTPS on addr ("127.0.0.1:0"
// picks a free port), with the sandbox's server certificate. Client
// certificates are requested on every connection; the v2 API refuses a
// request without one. It opens the sandbox's database, waiting at most
// LockTimeout for another process serving the same directory, and returns
// once the listener accepts connections.
func (s *Sandbox) Start(addr string) (*Server, error) {
	if _, err := s.openDB(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		_ = s.closeDBIfIdle()
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	tlsConf := &tls.Config{
		Certificates: []tls.Certificate{s.serverCert},
		ClientAuth:   tls.RequestClientCert,
		MinVersion:   tls.VersionTLS12,
	}
	server := &Server{s: s, ln: ln, url: "https://" + urlHost(ln.Addr()), done: make(chan struct{})}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			server.active.Add(1)
			defer server.active.Add(-1)
			s.handler.ServeHTTP(w, r)
		}),
		TLSConfig:         tlsConf,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	server.srv = srv
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return nil, ErrClosed
	}
	s.servers[server] = struct{}{}
	s.mu.Unlock()
	go func() {
		defer close(server.done)
		if err := srv.ServeTLS(ln, "", ""); !errors.Is(err, http.ErrServerClosed) {
			server.serveErr = err
		}
	}()
	return server, nil
}

// urlHost renders a listener address for a URL the server certificate
// covers: an unspecified address (0.0.0.0, ::) becomes 127.0.0.1.
func urlHost(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	ip := tcp.IP
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return net.JoinHostPort(ip.String(), fmt.Sprint(tcp.Port))
}

// URL returns the server's base URL, e.g. https://127.0.0.1:PORT.
func (srv *Server) URL() string { return srv.url }

// Addr returns the listener's address.
func (srv *Server) Addr() net.Addr { return srv.ln.Addr() }

// Close stops the server: it lets requests in flight finish for up to 2
// seconds, then closes the listener and every connection, and the database
// when no other server of the sandbox is left. A second Close is a no-op.
func (srv *Server) Close() error {
	srv.once.Do(func() {
		srv.srv.SetKeepAlivesEnabled(false)
		for deadline := time.Now().Add(2 * time.Second); srv.active.Load() > 0 && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
		err := srv.srv.Close()
		<-srv.done
		if err == nil {
			err = srv.serveErr
		}
		srv.closeErr = err
		srv.s.mu.Lock()
		delete(srv.s.servers, srv)
		srv.s.mu.Unlock()
		if err := srv.s.closeDBIfIdle(); srv.closeErr == nil {
			srv.closeErr = err
		}
	})
	return srv.closeErr
}

// Wait blocks until the server stops serving, and returns why: nil after
// Close, the serving error otherwise.
func (srv *Server) Wait() error {
	<-srv.done
	return srv.serveErr
}
