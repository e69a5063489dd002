package plan

import (
	"github.com/wxmedia/wxmedia/schema"
	"github.com/wxmedia/wxmedia/uploader"
)

// UploadMerchants returns, for uploader.NewSet, the settings of every
// merchant with an upload or re-upload in p, keyed by merchant name: its
// merchant block from ev converted field for field (file names cleaned,
// see merchantFile), the protocols its uploads use (V2 for
// wechatpay_v2_image, V3 for the others) and its service identity from
// idents. Merchants with nothing to upload are left out, so a plan of
// reuses and no-ops loads no key.
func (p *Plan) UploadMerchants(ev *schema.Evaluation, idents map[string]MerchantIdentity) map[string]uploader.Merchant {
	out := map[string]uploader.Merchant{}
	for _, c := range p.Detailed() {
		if c.Action != Upload && c.Action != Reupload {
			continue
		}
		u, ok := out[c.Merchant]
		if !ok {
			m := ev.Merchants[c.Merchant]
			if m == nil {
				continue
			}
			u = uploaderMerchant(m, idents[c.Merchant])
		}
		if spec, ok := uploader.SpecForAPI(uploader.API(c.API)); ok && spec.Protocol == uploader.ProtocolV2 {
			u.V2 = true
		} else {
			u.V3 = true
		}
		out[c.Merchant] = u
	}
	return out
}

// uploaderMerchant converts a merchant block to the uploader's settings.
func uploaderMerchant(m *schema.Merchant, id MerchantIdentity) uploader.Merchant {
	file := func(p string) string {
		if p == "" {
			return ""
		}
		return merchantFile(p)
	}
	return uploader.Merchant{
		MchID: m.MchID, Service: id.Service, Sandbox: m.Sandbox,
		SerialNo: m.SerialNo, PrivateKeyFile: file(m.PrivateKeyFile),
		Endpoint: m.Endpoint, FallbackEndpoint: m.FallbackEndpoint, APIv3Key: m.APIV3Key,
		PlatformCertificateFile: file(m.PlatformCertificateFile),
		PlatformPublicKeyID:     m.PlatformPublicKeyID,
		PlatformPublicKeyFile:   file(m.PlatformPublicKeyFile),
		APIv2Key:                m.APIV2Key, V2SignType: m.V2SignType, V2Endpoint: m.V2Endpoint,
		ClientCertificateFile: file(m.ClientCertificateFile),
		CACertificateFile:     file(m.CACertificateFile),
		MaxRequestsPerSecond:  m.MaxRequestsPerSecond,
	}
}

// MerchantIdentities returns what the plan needs to know of each merchant
// instance of ev (Input.Merchants): its merchant ID and the services of
// its endpoints (uploader.Service), or, for a sandbox merchant, the
// sandbox's instance ID sandboxID as both services. A sandbox merchant
// without a mchid gets defaultSandboxMchID, set in ev too, as the sandbox
// registers it under that ID.
func MerchantIdentities(ev *schema.Evaluation, sandboxID, defaultSandboxMchID string) map[string]MerchantIdentity {
	out := make(map[string]MerchantIdentity, len(ev.Merchants))
	for name, m := range ev.Merchants {
		if m.Sandbox {
			if m.MchID == "" {
				m.MchID = defaultSandboxMchID
			}
			out[name] = MerchantIdentity{MchID: m.MchID, Service: sandboxID, V2Service: sandboxID}
			continue
		}
		out[name] = MerchantIdentity{MchID: m.MchID, Service: uploader.Service(m.Endpoint), V2Service: uploader.Service(m.V2Endpoint)}
	}
	return out
}
