// Package sandbox is wxmedia's emulator of WeChat Pay's upload APIs, served
// over real HTTPS.
//
// A Sandbox owns a "world" kept in one directory: the platform RSA key and
// its public key ID, a CA and the server certificate it signed (127.0.0.1, ::1,
// localhost), an instance ID, the registered merchants (key, certificate,
// serial) and the append-only record of every identifier it issued, from
// which its counters are rebuilt. Opening the same directory again reuses all
// of it. One process should serve a directory at a time.
//
// The handler checks what WeChat Pay checks on the v3 upload APIs — the
// Authorization header, the merchant's certificate serial, the timestamp, the
// request signature over the meta JSON with the merchant's registered public
// key, nonce reuse, the multipart layout, the meta JSON, the digest, suffix,
// size and magic bytes — and answers with each API page's own error codes and
// HTTP statuses, signing every reply with the platform key. It can inject
// faults (5xx, 429, delays, dropped connections, spoiled reply signatures)
// and rate-limit, and exposes its counters at GET /_sandbox/stats.
//
// Unknown merchants get 403 NO_AUTH: the sandbox cannot verify a signature
// without a registered key, and the condition is final, not a signing bug.
// The v2 API (/secapi/mch/uploadmedia) is not emulated yet and answers 404.
package sandbox
