// Package interop holds wxmedia's interoperability suite: its test drives
// published WeChat Pay client SDKs (wechatpay-axios-plugin and
// wechatpay-node-v3, pinned in testdata/package.json and installed with
// `npm ci` in testdata/) against the sandbox over real HTTPS, and checks
// that each SDK's Authorization header and v2 sign equal wxmedia's for the
// same key, timestamp, nonce and meta. It runs when WXMEDIA_INTEROP is set
// (.ci/run sets it) and node is installed, and is skipped otherwise.
package interop
