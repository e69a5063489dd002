# Two merchants in one configuration: the same logo is uploaded once per
# merchant (identifiers belong to the merchant they were issued to), and each
# resource says which merchant it belongs to. Identifiers also belong to the
# API that issued them: the coupon image uploaded again as a marketing image
# (vouchers, merchant coupons) is a second upload, not a reuse.

variable "brand" {
  type        = string
  default     = "acme"
  description = "Prefix of the file names sent to the APIs."
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*$", var.brand))
    error_message = "brand must be lowercase letters, digits and dashes."
  }
}

merchant "north" {
  mchid   = "1900000011"
  sandbox = true
}

merchant "south" {
  mchid   = "1900000012"
  sandbox = true
}

resource "wechatpay_image" "north_logo" {
  merchant = merchant.north
  source   = "assets/logo.png"
  filename = "${var.brand}-logo.png"
}

resource "wechatpay_image" "south_logo" {
  merchant = merchant.south
  source   = "assets/logo.png"
  filename = "${var.brand}-logo.png"
}

resource "wechatpay_coupon_image" "south_coupon" {
  merchant = merchant.south
  source   = "assets/coupon.png"
}

resource "wechatpay_marketing_image" "south_voucher" {
  merchant = merchant.south
  source   = "assets/coupon.png"
  filename = "${var.brand}-voucher.png"
}

resource "wechatpay_complaint_image" "north_reply" {
  merchant = merchant.north
  source   = "assets/logo.png"
}

output "logo_media_ids" {
  value = {
    north = wechatpay_image.north_logo.media_id
    south = wechatpay_image.south_logo.media_id
  }
}

output "south_coupon_url" {
  value = wechatpay_coupon_image.south_coupon.image_url
}

output "south_voucher_url" {
  value = wechatpay_marketing_image.south_voucher.media_url
}

output "north_complaint_media_id" {
  value = wechatpay_complaint_image.north_reply.media_id
}
