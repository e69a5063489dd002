package uploader

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/textproto"
	"strings"
)

// WriteMultipart writes an upload's multipart/form-data body: the meta part
// (Content-Disposition: form-data; name="meta", Content-Type:
// application/json) with meta as its exact bytes, then the file part
// (Content-Disposition: form-data; name="file"; filename="…", the given
// Content-Type) with content, then the closing boundary. Every line ends with
// CRLF. The boundary must be 1 to 70 characters of RFC 2046's set without a
// trailing space; filename and contentType must not contain quotes, control
// characters or backslashes.
func WriteMultipart(w io.Writer, boundary string, meta []byte, filename, contentType string, content []byte) error {
	return writeForm(w, boundary, len(meta)+len(content), filename, contentType, func(mw *multipart.Writer) error {
		return writePart(mw, textproto.MIMEHeader{
			"Content-Disposition": {`form-data; name="meta"`},
			"Content-Type":        {"application/json"},
		}, meta)
	}, "file", content)
}

// WriteV2Multipart writes a v2 upload's multipart/form-data body: one part
// per text field (Content-Disposition: form-data; name="…"), in the given
// order, then the file part "media" with its filename and content type, then
// the closing boundary. Every line ends with CRLF.
func WriteV2Multipart(w io.Writer, boundary string, fields []V2Field, filename, contentType string, content []byte) error {
	size := len(content)
	for _, f := range fields {
		size += len(f.Value)
	}
	return writeForm(w, boundary, size, filename, contentType, func(mw *multipart.Writer) error {
		for _, f := range fields {
			if strings.ContainsAny(f.Name, "\"\\\r\n") || strings.Contains(f.Value, "--"+boundary) {
				return fmt.Errorf("multipart: field %q cannot be written", f.Name)
			}
			h := textproto.MIMEHeader{"Content-Disposition": {`form-data; name="` + f.Name + `"`}}
			if err := writePart(mw, h, []byte(f.Value)); err != nil {
				return err
			}
		}
		return nil
	}, "media", content)
}

// writeForm writes, with mime/multipart and the given boundary, the parts
// that before writes, then the file part named field, then the closing
// boundary. The body is built in memory (size is about its length) and
// written to w at once.
func writeForm(w io.Writer, boundary string, size int, filename, contentType string, before func(*multipart.Writer) error, field string, content []byte) error {
	// The file name and content type are written in a quoted header as
	// they are (WeChat Pay reads them so): what would need escaping is
	// refused.
	if strings.ContainsAny(filename, "\"\\\r\n") || strings.ContainsAny(contentType, "\"\\\r\n") {
		return fmt.Errorf("multipart: filename %q or content type %q cannot be written in a part header", filename, contentType)
	}
	var b bytes.Buffer
	b.Grow(size + 4*len(boundary) + 512)
	mw := multipart.NewWriter(&b)
	if err := mw.SetBoundary(boundary); err != nil {
		return fmt.Errorf("multipart: boundary %q: %w", boundary, err)
	}
	if err := before(mw); err != nil {
		return err
	}
	err := writePart(mw, textproto.MIMEHeader{
		"Content-Disposition": {`form-data; name="` + field + `"; filename="` + filename + `"`},
		"Content-Type":        {contentType},
	}, content)
	if err != nil {
		return err
	}
	if err := mw.Close(); err != nil {
		return fmt.Errorf("multipart: %w", err)
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("multipart: %w", err)
	}
	return nil
}

// writePart writes one part with its header.
func writePart(mw *multipart.Writer, h textproto.MIMEHeader, data []byte) error {
	p, err := mw.CreatePart(h)
	if err == nil {
		_, err = p.Write(data)
	}
	if err != nil {
		return fmt.Errorf("multipart: %w", err)
	}
	return nil
}
