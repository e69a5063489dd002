# One merchant and its media. Paths start from the root module's directory
# (path.root), where the assets are shared by every merchant.

variable "mchid" {
  type        = string
  description = "The merchant ID (a sandbox merchant here)."
}

variable "brand" {
  type        = string
  description = "Prefix of the file names sent to the APIs."
}

merchant "shop" {
  mchid   = var.mchid
  sandbox = true
}

resource "wechatpay_image" "logo" {
  source   = "${path.root}/assets/logo.png"
  filename = "${var.brand}-logo.png"
}

resource "wechatpay_coupon_image" "coupon" {
  source = "${path.root}/assets/coupon.png"
}

resource "wechatpay_marketing_image" "voucher" {
  source   = "${path.root}/assets/coupon.png"
  filename = "${var.brand}-voucher.png"
}

resource "wechatpay_complaint_image" "reply" {
  source = "${path.root}/assets/logo.png"
}

output "logo_media_id" {
  value = wechatpay_image.logo.media_id
}

output "coupon_url" {
  value = wechatpay_coupon_image.coupon.image_url
}

output "voucher_url" {
  value = wechatpay_marketing_image.voucher.media_url
}

output "complaint_media_id" {
  value = wechatpay_complaint_image.reply.media_id
}
