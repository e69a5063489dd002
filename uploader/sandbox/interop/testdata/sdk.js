'use strict';
// Drives two published WeChat Pay SDKs against a running wxmedia sandbox and
// reports, as one JSON document on stdout, what each SDK built and what the
// sandbox answered. The Go test (../interop_test.go) writes the input file,
// starts the sandbox and checks the report; this script decides nothing.
//
// Input (argv[2], JSON): url, mchid, serial (uppercase), key_file,
// cert_file, platform_key_id, platform_pub_file, api_v2_key, files
// {png, jpg, mp4, pdf}, vectors [{id, path, timestamp, nonce, meta}],
// v2_vectors [{fields, sign_type}].
//
// Output: {calls: [{sdk, call, api, ok, id, verified, status, error}],
// vectors: [{sdk, variant, id, path, authorization}], v2_signs: [{sdk,
// sign_type, sign}], shipped: {...}}.

const fs = require('fs');
const https = require('https');
const crypto = require('crypto');
const path = require('path');

const {
  Wechatpay, Multipart, Formatter, Rsa, Hash, Decorator,
} = require('wechatpay-axios-plugin');
const Pay = require('wechatpay-node-v3');
const superagent = require('superagent');
const FormData = require('form-data');

const input = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const out = {
  calls: [], vectors: [], v2_signs: [], shipped: {},
};

const privateKey = fs.readFileSync(input.key_file);
const merchantCert = fs.readFileSync(input.cert_file);
const platformPub = fs.readFileSync(input.platform_pub_file);
const sha256 = (b) => crypto.createHash('sha256').update(b).digest('hex');
const md5 = (b) => crypto.createHash('md5').update(b).digest('hex');

// The four v3 upload APIs of the pages, with the file each uploads.
const v3 = [
  { api: 'merchant_media_image', path: '/v3/merchant/media/upload', file: input.files.png, digest: 'sha256' },
  { api: 'merchant_media_video', path: '/v3/merchant/media/video_upload', file: input.files.mp4, digest: 'sha256' },
  { api: 'global_merchant_storage_file', path: '/v3/global/merchant-storage/file/upload', file: input.files.pdf, digest: 'digest' },
  { api: 'product_coupon_image', path: '/v3/marketing/partner/product-coupon/media/upload-image', file: input.files.jpg, digest: 'sha256' },
];
const idField = (api) => (api === 'product_coupon_image' ? 'image_url' : api === 'global_merchant_storage_file' ? 'file_id' : 'media_id');

function errText(e) {
  if (!e) return '';
  const r = e.response;
  const raw = r && (r.text || r.data || r.body);
  const body = raw && (typeof raw === 'string' ? raw : JSON.stringify(raw));
  return `${e.code || e.name || 'Error'}: ${e.message}${body ? ` (reply ${r.status}: ${body})` : ''}`.slice(0, 600);
}

// ---- wechatpay-axios-plugin ------------------------------------------------

const wxpay = new Wechatpay({
  baseURL: `${input.url}/`,
  mchid: input.mchid,
  serial: input.serial,
  privateKey,
  certs: { [input.platform_key_id]: platformPub },
  secret: input.api_v2_key,
  merchant: { cert: merchantCert, key: privateKey },
});

// The chained endpoint of each v3 API, as the plugin's docs write them.
const axiosEndpoint = {
  merchant_media_image: () => wxpay.v3.merchant.media.upload,
  merchant_media_video: () => wxpay.v3.merchant.media.video_upload,
  global_merchant_storage_file: () => wxpay.v3.global['merchant-storage'].file.upload,
  product_coupon_image: () => wxpay.v3.marketing.partner['product-coupon'].media['upload-image'],
};

async function axiosV3(t, client, label) {
  const buf = fs.readFileSync(t.file);
  const filename = path.basename(t.file);
  const meta = { filename, [t.digest]: sha256(buf) };
  // The plugin's Multipart with meta (a text field: no Content-Type) then
  // file, as its docs build it.
  const media = new Multipart()
    .append('meta', JSON.stringify(meta))
    .append('file', buf, filename);
  const call = {
    sdk: 'wechatpay-axios-plugin', call: label, api: t.api, ok: false, verified: false,
  };
  try {
    // The docs call `.post(media)`. As shipped that sends JSON (see
    // axiosShipped); what it is meant to send is the Multipart's own bytes,
    // which the plugin supports for any body: the buffer, its headers, and
    // `meta` in the config for the request interceptor to sign.
    // A resolved promise means the plugin's responseVerifier checked the
    // reply's Wechatpay-Signature with the platform public key of `certs`.
    const res = await client().post(media.getBuffer(), { meta, headers: media.getHeaders() });
    call.status = res.status;
    call.id = res.data && res.data[idField(t.api)];
    call.ok = res.status === 200 && !!call.id;
    call.verified = true;
  } catch (e) {
    call.status = e.response && e.response.status;
    call.error = errText(e);
  }
  out.calls.push(call);
}

// axiosFormData is the plugin's README form of an upload (its image and
// video examples): the form-data package's FormData, meta as
// application/json, the file as a read stream — so the file part carries
// the name on disk, which need not be meta's filename — posted with `meta`
// for the signer and the FormData's own headers.
async function axiosFormData(t, client, label) {
  const buf = fs.readFileSync(t.file);
  const onDisk = path.join(path.dirname(t.file), `upload-tmp-${t.api}${path.extname(t.file)}`);
  fs.writeFileSync(onDisk, buf);
  const meta = { filename: path.basename(t.file), [t.digest]: sha256(buf) };
  const fd = new FormData();
  fd.append('meta', JSON.stringify(meta), { contentType: 'application/json' });
  fd.append('file', fs.createReadStream(onDisk));
  const call = {
    sdk: 'wechatpay-axios-plugin', call: label, api: t.api, ok: false, verified: false,
  };
  try {
    const res = await client().post(fd, { meta, headers: fd.getHeaders() });
    call.status = res.status;
    call.id = res.data && res.data[idField(t.api)];
    call.ok = res.status === 200 && !!call.id;
    call.verified = true;
  } catch (e) {
    call.status = e.response && e.response.status;
    call.error = errText(e);
  }
  out.calls.push(call);
}

// axiosShipped records what the documented `.post(media)` sends as the
// plugin ships (0.9.6 with any axios 1.x it accepts): the instance's default
// `Content-Type: application/json` makes axios serialise the Multipart —
// which calls itself FormData — as a JSON object of Buffers. And with
// `headers: media.getHeaders()` axios re-encodes it as its own FormData:
// its boundary, meta as application/octet-stream, the file part without
// a filename or content type.
async function axiosShipped() {
  const buf = fs.readFileSync(input.files.png);
  const meta = { filename: 'logo.png', sha256: sha256(buf) };
  const media = () => new Multipart().append('meta', JSON.stringify(meta)).append('file', buf, 'logo.png');
  for (const [name, cfg] of [['documented', () => undefined], ['with getHeaders', (m) => ({ headers: m.getHeaders() })]]) {
    const m = media();
    try {
      const res = await wxpay.v3.merchant.media.upload.post(m, cfg(m));
      out.shipped[`axios_${name}`] = { status: res.status, error: '' };
    } catch (e) {
      out.shipped[`axios_${name}`] = { status: (e.response && e.response.status) || 0, error: errText(e) };
    }
  }
}

async function axiosV2() {
  // The plugin's v2 transformRequest signs and serialises plain objects as
  // XML; it has no multipart path (it would read the Multipart's own
  // properties as fields and throw on mch_id). What its docs do for this
  // API in its PHP sibling, and what the plugin allows: sign with its
  // Hash.sign, build the body with its Multipart, pass the client
  // certificate, keep its XML reply parser and sign verifier.
  for (const signType of [Hash.ALGO_MD5, Hash.ALGO_HMAC_SHA256]) {
    const buf = fs.readFileSync(input.files.jpg);
    const fields = { mch_id: input.mchid, media_hash: md5(buf), sign_type: signType };
    fields.sign = Hash.sign(signType, fields, input.api_v2_key);
    const form = new Multipart();
    Object.entries(fields).forEach(([k, v]) => form.append(k, v));
    form.append('media', buf, path.basename(input.files.jpg));
    // The Multipart's own bytes (axios would re-encode the object itself
    // and drop the media part's filename).
    const call = {
      sdk: 'wechatpay-axios-plugin', call: `v2.secapi.mch.uploadmedia ${signType}`, api: 'v2_media_image', ok: false, verified: false,
    };
    try {
      const res = await wxpay.v2.secapi.mch.uploadmedia.post(form.getBuffer(), {
        httpsAgent: new https.Agent({ cert: merchantCert, key: privateKey }),
        transformRequest: [(data) => data],
        headers: form.getHeaders(),
      });
      // Resolved: the plugin's v2 verifier found return_code and
      // result_code SUCCESS and the reply's sign equal to its own.
      call.status = res.status;
      call.id = res.data && res.data.media_id;
      call.ok = res.status === 200 && !!call.id;
      call.verified = true;
    } catch (e) {
      call.status = e.response && e.response.status;
      call.error = errText(e);
    }
    out.calls.push(call);
  }
}

function axiosVectors() {
  // The plugin's own request interceptor, with its nonce and clock fixed.
  const signer = Decorator.requestInterceptor();
  const { nonce, timestamp } = Formatter;
  try {
    for (const v of input.vectors) {
      Formatter.nonce = () => v.nonce;
      Formatter.timestamp = () => v.timestamp;
      const cfg = signer({
        method: 'post', url: v.path.slice(1), baseURL: `${input.url}/`, meta: JSON.parse(v.meta), headers: {},
        mchid: input.mchid, serial: input.serial, privateKey: Rsa.from(privateKey, Rsa.KEY_TYPE_PRIVATE),
      });
      out.vectors.push({
        sdk: 'wechatpay-axios-plugin', variant: 'requestInterceptor', id: v.id, path: v.path, authorization: cfg.headers.get('Authorization'),
      });
    }
  } finally {
    Object.assign(Formatter, { nonce, timestamp });
  }
  for (const v of input.v2_vectors) {
    out.v2_signs.push({ sdk: 'wechatpay-axios-plugin', sign_type: v.sign_type, sign: Hash.sign(v.sign_type, v.fields, input.api_v2_key) });
  }
}

// ---- wechatpay-node-v3 ---------------------------------------------------

// The documented constructor: the serial comes from the merchant
// certificate, as @fidm/x509 renders it.
const pay = new Pay({ appid: 'wx0000000000000000', mchid: input.mchid, publicKey: merchantCert, privateKey });
// With serial_no given, as the README's table allows.
const payWithSerial = new Pay({
  appid: 'wx0000000000000000', mchid: input.mchid, publicKey: merchantCert, privateKey, serial_no: input.serial,
});
// verifySign looks the reply's Wechatpay-Serial up in Pay.certificates
// (serial -> public key PEM), downloading platform certificates from a
// fixed host when it is missing: fill it as a public-key-mode merchant would.
Pay.certificates[input.platform_key_id] = platformPub.toString();

async function nodeV3Shipped() {
  // upload_images as shipped, with its documented createHttp hook
  // recording what it would send instead of sending it.
  const seen = [];
  const rec = { post: async (url, params, headers) => { seen.push({ url, params, headers }); return {}; } };
  const p = new Pay({ appid: 'wx0000000000000000', mchid: input.mchid, publicKey: merchantCert, privateKey });
  p.createHttp(rec);
  const buf = fs.readFileSync(input.files.jpg);
  await p.upload_images(buf, 'a.jpg');
  const s = seen[0] || {};
  out.shipped.node_v3_upload_images = {
    method: seen.length ? 'httpService.post' : '',
    url: s.url,
    content_type: s.headers && s.headers['Content-Type'],
    body_keys: s.params ? Object.keys(s.params) : [],
    has_authorization: !!(s.headers && s.headers.Authorization),
  };
  // Its multipart helper PayRequest.upload, called as the class ships it,
  // against the sandbox: it takes headers but never sets them, and calls
  // superagent's .send(params) before .attach(), which superagent refuses
  // before sending anything; its catch JSON-round-trips the Error, so the
  // caller gets {errRaw: {}} and no message. The same chain, uncaught,
  // shows the message.
  const { PayRequest } = require('wechatpay-node-v3/dist/lib/pay-request');
  const params = { fileinfo: { filename: 'a.jpg', sha256: sha256(buf) }, pic_buffer: buf };
  const r = await new PayRequest().upload(`${input.url}/v3/merchant/media/upload`, params,
    p.getHeaders(p.buildAuthorization('POST', '/v3/merchant/media/upload', params.fileinfo)));
  let direct = '';
  try {
    await superagent.post(`${input.url}/v3/merchant/media/upload`).send(params)
      .attach('file', buf, { filename: 'a.jpg', contentType: 'image/jpg' }).field('meta', JSON.stringify(params.fileinfo));
  } catch (e) { direct = e.message; }
  out.shipped.node_v3_pay_request_upload = { returned: JSON.stringify(r), direct_error: direct };
}

async function nodeV3(t, client, label) {
  const buf = fs.readFileSync(t.file);
  const fileinfo = { filename: path.basename(t.file), [t.digest]: sha256(buf) };
  const call = {
    sdk: 'wechatpay-node-v3', call: label, api: t.api, ok: false, verified: false,
  };
  try {
    // What upload_images was meant to send: its own buildAuthorization over
    // the meta object and getHeaders, and PayRequest.upload's body — the
    // file part first, under a fixed filename, as image/jpg, then meta as a
    // text field — with the headers that upload() drops.
    const headers = client.getHeaders(client.buildAuthorization('POST', t.path, fileinfo));
    const res = await superagent.post(input.url + t.path)
      .set(headers)
      .attach('file', buf, { filename: '72fe0092be0cf9dd8420579cc954fb4e.jpg', contentType: 'image/jpg' })
      .field('meta', JSON.stringify(fileinfo))
      .buffer(true).parse((r, cb) => { let s = ''; r.setEncoding('utf8'); r.on('data', (c) => { s += c; }); r.on('end', () => cb(null, s)); });
    call.status = res.status;
    const body = res.body;
    call.verified = await client.verifySign({
      timestamp: res.headers['wechatpay-timestamp'],
      nonce: res.headers['wechatpay-nonce'],
      serial: res.headers['wechatpay-serial'],
      signature: res.headers['wechatpay-signature'],
      body,
    });
    call.id = JSON.parse(body)[idField(t.api)];
    call.ok = res.status === 200 && !!call.id;
  } catch (e) {
    call.status = e.status || (e.response && e.response.status);
    call.error = errText(e);
  }
  out.calls.push(call);
}

function nodeV3Vectors() {
  for (const [variant, p] of [['serial_no given', payWithSerial], ['documented constructor', pay]]) {
    for (const v of input.vectors) {
      const sig = p.getSignature('POST', v.nonce, String(v.timestamp), v.path, JSON.parse(v.meta));
      out.vectors.push({
        sdk: 'wechatpay-node-v3', variant, id: v.id, path: v.path, authorization: p.getAuthorization(v.nonce, String(v.timestamp), sig),
      });
    }
  }
}

// ---- run -------------------------------------------------------------------

(async () => {
  axiosVectors();
  nodeV3Vectors();
  for (const t of v3) {
    await axiosV3(t, axiosEndpoint[t.api], `v3 ${t.path}`);
    await axiosFormData(t, axiosEndpoint[t.api], `form-data v3 ${t.path}`);
    await nodeV3(t, pay, `v3 ${t.path}`);
  }
  await axiosV2();
  // Negative control: a verifier given another key must refuse the reply.
  const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' });
  const wrong = new Wechatpay({
    baseURL: `${input.url}/`, mchid: input.mchid, serial: input.serial, privateKey, certs: { [input.platform_key_id]: other },
  });
  await axiosV3(v3[0], () => wrong.v3.merchant.media.upload, 'control: wrong platform key');
  Pay.certificates[input.platform_key_id] = other;
  await nodeV3(v3[0], pay, 'control: wrong platform key');
  Pay.certificates[input.platform_key_id] = platformPub.toString();
  await nodeV3Shipped();
  await axiosShipped();
  process.stdout.write(`${JSON.stringify(out)}\n`);
})().catch((e) => {
  process.stderr.write(`${e && e.stack}\n`);
  process.exit(1);
});
