// Package schema owns the configuration language of wxmedia: it reads every
// *.wxm.hcl (and *.wxm.json) file of a directory and of the local modules
// it calls, decodes the blocks (variable, locals, merchant, resource,
// module, output, data, wxmedia), resolves references, evaluates
// expressions with go-cty's function library plus the file-system
// functions, and expands for_each (and a module's count) into module
// instances, merchant instances and resource instances, addressed as
// Terraform addresses them (module.store["a"].wechatpay_image.logo).
//
// Every problem is reported as hcl.Diagnostics carrying the source range, so
// callers can print file:line:column with the offending snippet. The package
// never touches the network or the state: data "wxmedia_remote_state"
// sources are read through the RemoteStateReader its caller passes in
// (EvaluateWith, DecodeBackend), and resource identifiers are supplied by
// the caller when outputs are evaluated. Backend settings can be decoded
// without evaluating the rest of the configuration (DecodeBackend).
package schema
