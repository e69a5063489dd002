// Package sandbox is wxmedia's emulator of WeChat Pay's seven upload APIs,
// served over real HTTPS.
//
// A Sandbox owns a "world" kept in one directory: the platform RSA key, its
// public key ID and a certificate of it, a CA and the server certificate it
// signed (127.0.0.1, ::1, localhost), an instance ID, the registered
// merchants (key, client certificate, serial, API v2 key), and a bbolt
// database (sandbox.db) of every identifier it issued with the counters of
// GET /_sandbox/stats and the daily quota counts. Opening the same directory
// again reuses all of it. The database is opened when serving (and
// read-only, briefly, to read counters when nothing serves); one process at
// a time can serve a directory, and another fails after 2 seconds rather
// than hang.
//
// The handler checks what WeChat Pay checks. On the v3 APIs: the
// Authorization header, the merchant's certificate serial (hex in any
// case), the timestamp, the request signature over the meta JSON with the
// merchant's registered public key, nonce reuse, Wechatpay-Serial, the
// multipart layout (a meta and a file part, in either order; other parts are
// ignored), the meta keys (002's "digest"), the digest, and the suffix,
// filename length, size and magic bytes of meta's filename and the file
// (the file part's own filename is not checked: the pages constrain meta's).
// It is as strict as the pages and no stricter: what published SDKs send and
// the pages allow is accepted. On the v2 API: the client certificate, the form, the merchant, the
// sign (MD5 or HMAC-SHA256 with the API v2 key), media_hash, suffix, size and
// magic bytes. It answers with each API page's own error codes and HTTP
// statuses (v2 in XML with return_code and result_code), signs v3 replies
// with the platform key and v2 replies with the merchant's API v2 key, and
// can inject faults (5xx, 429, delays, dropped connections, spoiled reply
// signatures), rate-limit and enforce a daily quota.
//
// The sandbox parses, verifies and signs with its own code, written from
// the API pages apart from package uploader's client, so that one side's
// mistake is not hidden by the same mistake on the other; the tests check
// each side against fixed vectors and against each other.
//
// It also serves GET /v3/certificates: its platform certificates, each
// encrypted with the merchant's API v3 key (AEAD_AES_256_GCM), in a reply
// signed with the newest. Replies to requests naming a platform
// certificate are signed with the newest certificate (the sign fault
// forces a certificate, or one the download never lists), and
// RotatePlatformCertificate (POST /_sandbox/rotate-certificate) makes a new
// one while the old stays listed until it expires.
//
// Unknown merchants get 403 NO_AUTH on the v3 APIs (PARAM_ERROR "merchant
// ID error" on v2): the sandbox cannot verify a signature without a
// registered key, and the condition is final, not a signing bug.
package sandbox
