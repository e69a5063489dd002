package main

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/wxmedia/wxmedia/internal/arguments"
	"github.com/wxmedia/wxmedia/schema"
)

// varValues merges the variables given from outside the configuration,
// each source overriding the ones before it, as Terraform does:
// WXMEDIA_VAR_name (lowest), then the *.auto.wxmvars.hcl files of the
// configuration directory in lexical order, then -var and -var-file in
// command-line order.
func varValues(cfg *schema.Config, env []envVar, vars arguments.Vars) (map[string]schema.VarValue, hcl.Diagnostics) {
	out := map[string]schema.VarValue{}
	for _, v := range env {
		out[v.name] = schema.VarValue{Raw: v.value, Source: envVarPrefix + v.name, FromEnv: true}
	}
	var diags hcl.Diagnostics
	merge := func(file string) {
		vals, d := cfg.ParseVarFile(file)
		diags = append(diags, d...)
		for n, val := range vals {
			out[n] = val
		}
	}
	autos, err := cfg.AutoVarFiles()
	if err != nil {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot list variables files", Detail: err.Error()})
	}
	for _, f := range autos {
		merge(f)
	}
	for _, a := range vars {
		if a.File {
			merge(a.Text)
			continue
		}
		name, val := a.NameValue()
		out[name] = schema.VarValue{Raw: val, Source: "-var " + name}
	}
	return out, diags
}
