package plan

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/wxmedia/wxmedia/schema"
	"github.com/wxmedia/wxmedia/uploader"
)

// suffixFix says, for a file refused for its name's suffix whose content
// is of a format the API accepts (a JPEG named .jpeg), how to send it
// under an accepted name: the filename argument, which names the upload
// without renaming the file. "" for any other refusal.
func suffixFix(re *uploader.RuleError, inst *schema.Instance) string {
	if re == nil || re.Rule != uploader.RuleSuffix || re.Fit == "" {
		return ""
	}
	ext := path.Ext(inst.Filename)
	fix := fmt.Sprintf(" The content is %s, which %s accepts named .%s: ", re.FitFormat, inst.Resource.Type, re.Fit)
	if inst.Resource.ForEach != nil && ext != "" {
		// One name for every instance would not do: each takes its own.
		fix += fmt.Sprintf(`set filename in the resource block to a name ending in .%s for each instance, e.g. for a fileset for_each, filename = "${trimsuffix(basename(each.value), %s)}.%s"`,
			re.Fit, strconv.Quote(ext), re.Fit)
	} else {
		fix += fmt.Sprintf("set filename = %s in the resource block", hclString(strings.TrimSuffix(inst.Filename, ext)+"."+re.Fit))
	}
	return fix + "."
}

// hclString writes s as an HCL string literal, without interpolation.
func hclString(s string) string {
	return strings.ReplaceAll(strconv.Quote(s), "${", "$${")
}
