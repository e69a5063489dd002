// Package uploader owns wxmedia's conversation with WeChat Pay's upload APIs.
//
// It holds the table of upload APIs and their rules (path, accepted filename
// suffixes, size and filename limits, digest and identifier field names), the
// offline file checks that apply those rules (CheckFile), the APIv3 signing and
// verification primitives (request signature, Authorization header, reply
// signature), the multipart/form-data layout of an upload, key and certificate
// loading, and the Client that performs an upload: it signs the request, sends
// it, retries what may be retried (5xx, 429, timeouts, connection errors) with
// exponential backoff and full jitter, fails over to a fallback endpoint when
// the primary cannot be reached, and trusts a reply only after its signature,
// serial and timestamp verify. The same Client speaks the v2 image upload:
// a form signed with the API v2 key (MD5 or HMAC-SHA256, V2Sign) sent over
// TLS with the merchant's client certificate, whose XML reply is trusted
// only when its own sign verifies. When an API answers that the day's upload
// quota is reached, the Client stops that API for the rest of its life
// (ErrDailyQuota) while the others go on. Given the merchant's API v3 key,
// the Client verifies replies with platform certificates it downloads from
// GET /v3/certificates (decrypted with AEAD_AES_256_GCM, checked, kept in a
// CertificateCache such as FileCertificateCache) and refreshes them when a
// reply names an unknown serial or the newest is about to expire.
//
// A run's wiring lives here too: NewSet builds the Clients of all of a
// configuration's merchants from plain Merchant settings, with keep-alive
// pools shared per CA file (HTTPClients), one rate Limiter per merchant ID,
// shared endpoint Breakers, and Service, the identity of an endpoint.
//
// The package knows nothing of configuration files, state or plans: callers
// give it keys, endpoints and exact bytes, and get back an identifier or a
// classified error (*APIError, *V2Error, *RuleError, *NetworkError, ErrVerify,
// ErrDailyQuota, ErrCertificates, …). FileCertificateCache is its one file of
// its own: a cache of public certificates at a path the caller gives.
package uploader
