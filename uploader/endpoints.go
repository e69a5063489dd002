package uploader

// WeChat Pay's endpoints, for a merchant block that names none.
const (
	DefaultEndpoint   = "https://api.mch.weixin.qq.com"
	DefaultV2Endpoint = "https://apihk.mch.weixin.qq.com"
)
