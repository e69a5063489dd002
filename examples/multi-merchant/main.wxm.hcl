# Many merchants from one definition: the module in modules/store declares
# a merchant and its media, and the module block makes one instance of it
# per merchant of merchants.json (for_each). Adding a merchant is adding a
# line to that file. The same logo is uploaded once per merchant
# (identifiers belong to the merchant they were issued to): N merchants
# are N uploads once, and none when applied again. Identifiers also belong
# to the API that issued them: the coupon image uploaded again as a
# marketing image (vouchers, merchant coupons) is a second upload, not a
# reuse.

variable "brand" {
  type        = string
  default     = "acme"
  description = "Prefix of the file names sent to the APIs."
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*$", var.brand))
    error_message = "brand must be lowercase letters, digits and dashes."
  }
}

locals {
  # { "north" = { mchid = "1900000011" }, … }: one module instance each.
  merchants = jsondecode(file("merchants.json"))
}

module "store" {
  source   = "./modules/store"
  for_each = local.merchants
  mchid    = each.value.mchid
  brand    = var.brand
}

output "logo_media_ids" {
  value = { for name, store in module.store : name => store.logo_media_id }
}

# The outputs below name one merchant each: removing that merchant from
# merchants.json means removing its outputs too (otherwise: "Invalid
# index" at the output). The map above follows merchants.json by itself.
output "south_coupon_url" {
  value = module.store["south"].coupon_url
}

output "south_voucher_url" {
  value = module.store["south"].voucher_url
}

output "north_complaint_media_id" {
  value = module.store["north"].complaint_media_id
}
