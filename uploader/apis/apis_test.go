package apis

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

var (
	pngHead  = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	jpegHead = []byte("\xFF\xD8\xFF\xE0\x00\x10JFIF\x00")
	bmpHead  = []byte("BM\x36\x00\x00\x00")
)

func TestSpecTable(t *testing.T) {
	want := []string{"wechatpay_image", "wechatpay_video", "wechatpay_global_file", "wechatpay_coupon_image", "wechatpay_v2_image",
		"wechatpay_marketing_image", "wechatpay_complaint_image"}
	if got := ResourceTypes(); !slices.Equal(got, want) {
		t.Fatalf("ResourceTypes() = %v, want %v", got, want)
	}
	img, ok := SpecFor("wechatpay_image")
	if !ok || img.API != APIMerchantImage || img.Path != "/v3/merchant/media/upload" || img.MaxSize != 2<<20 ||
		img.IDField != "media_id" || img.DigestField != "sha256" || !img.Uploadable || !slices.Equal(img.Suffixes, []string{"jpg", "bmp", "png"}) {
		t.Fatalf("wechatpay_image spec = %+v", img)
	}
	if g, _ := SpecFor("wechatpay_global_file"); g.DigestField != "digest" || g.IDField != "file_id" || g.MaxFilename != 256 || g.MaxSize != 5<<20 {
		t.Errorf("wechatpay_global_file spec = %+v", g)
	}
	if c, _ := SpecFor("wechatpay_coupon_image"); c.IDField != "image_url" || c.MaxFilename != 150 {
		t.Errorf("wechatpay_coupon_image spec = %+v", c)
	}
	if v, _ := SpecFor("wechatpay_video"); v.MaxFilename != 128 || len(v.Suffixes) != 10 {
		t.Errorf("wechatpay_video spec = %+v", v)
	}
	if v2, _ := SpecFor("wechatpay_v2_image"); !v2.Uploadable || v2.Protocol != ProtocolV2 || v2.Path != "/secapi/mch/uploadmedia" ||
		v2.MaxSize != 2<<20 || v2.IDField != "media_id" || v2.DigestField != "media_hash" || !slices.Equal(v2.Suffixes, []string{"jpeg", "jpg", "bmp", "png"}) {
		t.Errorf("wechatpay_v2_image spec = %+v", v2)
	}
	if img.MaxFilename != 128 {
		t.Errorf("wechatpay_image filename limit = %d, want 128 (the current page of 001)", img.MaxFilename)
	}
	if m, _ := SpecFor("wechatpay_marketing_image"); m.API != APIMarketingImage || m.Protocol != ProtocolV3 ||
		m.Path != "/v3/marketing/favor/media/image-upload" || m.MaxSize != 2<<20 || m.MaxFilename != 128 ||
		m.IDField != "media_url" || m.DigestField != "sha256" || !m.Uploadable || !slices.Equal(m.Suffixes, []string{"jpg", "bmp", "png"}) ||
		m.Codes != (Codes{System: "SYSTEM_ERROR", RateLimit: "RATELIMIT_EXCEEDED", Param: "PARAM_ERROR", Sign: "SIGN_ERROR", NoAuth: "NO_AUTH"}) {
		t.Errorf("wechatpay_marketing_image spec = %+v", m)
	}
	if c, _ := SpecFor("wechatpay_complaint_image"); c.API != APIComplaintImage || c.Protocol != ProtocolV3 ||
		c.Path != "/v3/merchant-service/images/upload" || c.MaxSize != 2<<20 || c.MaxFilename != 128 ||
		c.IDField != "media_id" || c.DigestField != "sha256" || !c.Uploadable || !slices.Equal(c.Suffixes, []string{"jpg", "bmp", "png"}) ||
		c.Codes != (Codes{System: "SYSTEM_ERROR", RateLimit: "RATELIMIT_EXCEEDED", Param: "PARAM_ERROR", Sign: "SIGN_ERROR", NoAuth: "NO_AUTH"}) {
		t.Errorf("wechatpay_complaint_image spec = %+v", c)
	}
	if _, ok := SpecFor("wechatpay_gif"); ok {
		t.Error("SpecFor(unknown) = ok")
	}
	seenAPI := map[API]bool{}
	for _, s := range Specs() {
		if seenAPI[s.API] {
			t.Errorf("duplicate API %s", s.API)
		}
		seenAPI[s.API] = true
		if got, ok := SpecForAPI(s.API); !ok || got.ResourceType != s.ResourceType {
			t.Errorf("SpecForAPI(%s) = %v, %v", s.API, got.ResourceType, ok)
		}
		for _, suf := range s.Suffixes {
			if suf != strings.ToLower(suf) || strings.HasPrefix(suf, ".") {
				t.Errorf("%s: suffix %q not lowercase without dot", s.ResourceType, suf)
			}
			if ContentType("x."+suf) == "application/octet-stream" {
				t.Errorf("%s: no content type for %q", s.ResourceType, suf)
			}
			if _, ok := magics[suf]; !ok {
				t.Errorf("%s: no magic bytes for %q", s.ResourceType, suf)
			}
		}
	}
}

func TestContentType(t *testing.T) {
	for name, want := range map[string]string{
		"a.jpg": "image/jpeg", "A.JPEG": "image/jpeg", "b.Png": "image/png", "c.bmp": "image/bmp",
		"d.pdf": "application/pdf", "e.mp4": "video/mp4", "f.mov": "video/quicktime", "g.rmvb": "application/vnd.rn-realmedia-vbr",
		"h.mkv": "video/x-matroska", "noext": "application/octet-stream", "i.gif": "application/octet-stream",
	} {
		if got := ContentType(name); got != want {
			t.Errorf("ContentType(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestCheckFile(t *testing.T) {
	img, _ := SpecFor("wechatpay_image")
	coupon, _ := SpecFor("wechatpay_coupon_image")
	video, _ := SpecFor("wechatpay_video")
	global, _ := SpecFor("wechatpay_global_file")
	marketing, _ := SpecFor("wechatpay_marketing_image")
	complaint, _ := SpecFor("wechatpay_complaint_image")
	tests := []struct {
		name     string
		spec     Spec
		filename string
		size     int64
		head     []byte
		rule     string // "" = ok
		msg      string // exact message when not ""
	}{
		{"png ok", img, "logo.png", 100, pngHead, "", ""},
		{"jpg ok uppercase suffix", img, "PHOTO.JPG", 100, jpegHead, "", ""},
		{"bmp ok", img, "a.bmp", 100, bmpHead, "", ""},
		{"exactly 2 MiB", img, "a.png", 2 << 20, pngHead, "", ""},
		{"gif suffix", img, "anim.gif", 100, []byte("GIF89a"), RuleSuffix,
			`filename suffix ".gif" is not accepted by wechatpay_image (allowed: jpg, bmp, png)`},
		{"jpeg not accepted by v3 image", img, "a.jpeg", 100, jpegHead, RuleSuffix, ""},
		{"no suffix", img, "README", 100, pngHead, RuleSuffix, ""},
		{"dot file", img, ".png", 100, pngHead, RuleSuffix, ""},
		{"too big", img, "a.png", 3 << 20, pngHead, RuleSize,
			`file size 3145728 bytes exceeds the 2 MiB limit of wechatpay_image`},
		{"one byte over", img, "a.png", 2<<20 + 1, pngHead, RuleSize, ""},
		{"empty", img, "a.png", 0, nil, RuleEmpty, `file is empty`},
		{"text renamed png", img, "a.png", 11, []byte("hello world"), RuleMagic,
			`content is not a PNG image (magic bytes do not match suffix ".png")`},
		{"png named jpg", img, "a.jpg", 100, pngHead, RuleMagic,
			`content is not a JPEG image (magic bytes do not match suffix ".jpg")`},
		{"short head", img, "a.png", 100, pngHead[:4], RuleMagic, ""},
		{"filename 150 runes ok", coupon, strings.Repeat("图", 146) + ".png", 100, pngHead, "", ""},
		{"filename 151 runes", coupon, strings.Repeat("图", 147) + ".png", 100, pngHead, RuleFilenameLength,
			`filename is 151 characters long, over the 150-character limit of wechatpay_coupon_image`},
		{"image filename 128 runes ok", img, strings.Repeat("图", 124) + ".png", 100, pngHead, "", ""},
		{"image filename 129 runes", img, strings.Repeat("a", 125) + ".png", 100, pngHead, RuleFilenameLength,
			`filename is 129 characters long, over the 128-character limit of wechatpay_image`},
		{"marketing png ok", marketing, "voucher.png", 100, pngHead, "", ""},
		{"marketing bmp ok", marketing, "VOUCHER.BMP", 100, bmpHead, "", ""},
		{"marketing filename 128 runes ok", marketing, strings.Repeat("券", 124) + ".jpg", 100, jpegHead, "", ""},
		{"marketing filename 129 runes", marketing, strings.Repeat("券", 125) + ".jpg", 100, jpegHead, RuleFilenameLength,
			`filename is 129 characters long, over the 128-character limit of wechatpay_marketing_image`},
		{"marketing gif", marketing, "a.gif", 100, []byte("GIF89a"), RuleSuffix,
			`filename suffix ".gif" is not accepted by wechatpay_marketing_image (allowed: jpg, bmp, png)`},
		{"marketing jpeg suffix", marketing, "a.jpeg", 100, jpegHead, RuleSuffix, ""},
		{"marketing over 2 MiB", marketing, "a.png", 2<<20 + 1, pngHead, RuleSize,
			`file size 2097153 bytes exceeds the 2 MiB limit of wechatpay_marketing_image`},
		{"marketing text renamed", marketing, "a.png", 5, []byte("hello"), RuleMagic, ""},
		{"marketing empty", marketing, "a.png", 0, nil, RuleEmpty, ""},
		{"complaint jpg ok", complaint, "evidence.jpg", 100, jpegHead, "", ""},
		{"complaint filename 129 runes", complaint, strings.Repeat("x", 125) + ".png", 100, pngHead, RuleFilenameLength,
			`filename is 129 characters long, over the 128-character limit of wechatpay_complaint_image`},
		{"complaint pdf", complaint, "a.pdf", 100, []byte("%PDF-1.7"), RuleSuffix, ""},
		{"complaint over 2 MiB", complaint, "a.jpg", 3 << 20, jpegHead, RuleSize, ""},
		{"complaint png named jpg", complaint, "a.jpg", 100, pngHead, RuleMagic,
			`content is not a JPEG image (magic bytes do not match suffix ".jpg")`},
		{"quote in filename", img, `a"b.png`, 100, pngHead, RuleFilename, ""},
		{"slash in filename", img, `dir/b.png`, 100, pngHead, RuleFilename, ""},
		{"newline in filename", img, "a\nb.png", 100, pngHead, RuleFilename, ""},
		{"empty filename", img, "", 100, pngHead, RuleFilename, "filename is empty"},
		{"invalid utf8", img, "a\xff.png", 100, pngHead, RuleFilename, ""},
		{"mp4 ok", video, "clip.mp4", 100, []byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00"), "", ""},
		{"mp4 bad", video, "clip.mp4", 100, []byte("not a video at all"), RuleMagic,
			`content is not an MP4 video (magic bytes do not match suffix ".mp4")`},
		{"avi ok", video, "clip.avi", 100, []byte("RIFF\x00\x00\x00\x00AVI LIST"), "", ""},
		{"mkv ok", video, "clip.mkv", 100, []byte("\x1A\x45\xDF\xA3\x01"), "", ""},
		{"video 6 MiB", video, "clip.mkv", 6 << 20, []byte("\x1A\x45\xDF\xA3\x01"), RuleSize,
			`file size 6291456 bytes exceeds the 5 MiB limit of wechatpay_video`},
		{"pdf ok", global, "doc.pdf", 100, []byte("%PDF-1.7\n"), "", ""},
		{"pdf bad", global, "doc.pdf", 100, []byte("<html>"), RuleMagic,
			`content is not a PDF document (magic bytes do not match suffix ".pdf")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckFile(tt.spec, tt.filename, tt.size, tt.head)
			if tt.rule == "" {
				if err != nil {
					t.Fatalf("CheckFile() = %v, want nil", err)
				}
				return
			}
			var re *RuleError
			if !errors.As(err, &re) {
				t.Fatalf("CheckFile() = %v (%T), want *RuleError %s", err, err, tt.rule)
			}
			if re.Rule != tt.rule {
				t.Errorf("rule = %q, want %q (%v)", re.Rule, tt.rule, err)
			}
			if tt.msg != "" && err.Error() != tt.msg {
				t.Errorf("message = %q, want %q", err.Error(), tt.msg)
			}
		})
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{2 << 20: "2 MiB", 5 << 20: "5 MiB", 512 << 10: "512 KiB", 1000: "1000 bytes"} {
		if got := FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
	}
}

// The printable-ASCII shortcut of the file name check accepts exactly the
// names the rune-by-rune check accepts, over every byte alone, in a name,
// and names beyond ASCII.
func TestPlainFilenameSameAsRunes(t *testing.T) {
	names := []string{"", "a.png", "a b.png", "~x!.jpg", "ä.png", "a\u202e.png", "\ufeff.png", "a\u200b.png", "\xff.png", "a\x7f.png"}
	for b := 0; b < 256; b++ {
		names = append(names, string([]byte{byte(b)}), "x"+string([]byte{byte(b)})+".png")
	}
	for _, n := range names {
		fast := plainFilename(n)
		slow := checkFilenameRunes(n) == nil
		if fast && !slow {
			t.Errorf("%q: the shortcut accepts a name the check refuses", n)
		}
		if (CheckFilename(n) == nil) != slow {
			t.Errorf("%q: CheckFilename says %v, the rune check %v", n, CheckFilename(n), checkFilenameRunes(n))
		}
		if n != "" && n[0] >= 0x20 && n[0] <= 0x7e && len(n) == 1 && n != `"` && n != `\` && n != "/" && !fast {
			t.Errorf("%q: printable ASCII not taken by the shortcut", n)
		}
	}
}

func BenchmarkCheckFilename(b *testing.B) {
	for range b.N {
		if CheckFilename("photo-000123.png") != nil {
			b.Fatal("refused")
		}
	}
}
