# A quickstart: one sandbox merchant, a single image, banners from a
# directory, and outputs that other configurations can read.

merchant "demo" {
  mchid   = "1900000002"
  sandbox = true # the built-in emulator: no credentials, keys under .wxmedia/sandbox
}

resource "wechatpay_image" "logo" {
  source = "assets/logo.png"
}

resource "wechatpay_image" "banner" {
  for_each = fileset("assets/banners", "*.{png,jpg,bmp}")
  merchant = merchant.demo
  source   = "assets/banners/${each.value}"
}

output "logo_media_id" {
  value = wechatpay_image.logo.media_id
}

output "banner_media_ids" {
  value = { for k, b in wechatpay_image.banner : k => b.media_id }
}
