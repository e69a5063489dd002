# Reads the outputs that examples/quickstart publishes when it is applied
# (../quickstart/.wxmedia/outputs.json), without waiting for an apply running
# there. Apply the quickstart first:
#
#   wxmedia -chdir=examples/quickstart apply -auto-approve
#   wxmedia -chdir=examples/consumer apply -auto-approve
#   wxmedia -chdir=examples/consumer output

merchant "demo" {
  mchid   = "1900000002"
  sandbox = true
}

data "wxmedia_remote_state" "quickstart" {
  path = "../quickstart"
}

locals {
  brand = data.wxmedia_remote_state.quickstart.outputs
}

output "logo_media_id" {
  value = local.brand.logo_media_id
}

output "banner_count" {
  value = length(local.brand.banner_media_ids)
}
