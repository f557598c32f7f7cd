//! `multipart/form-data` framing (RFC 7578), as undici's `FormData` writes it
//! (`specs/cloudflare.md` §1.3): CRLF line ends, text fields without a part Content-Type, file
//! fields with `filename` and a Content-Type.
//!
//! Small forms (a deployment's manifest, a Worker's metadata) are built in memory with
//! [`Form`]; the asset uploads stream their parts with the same framing from [`super::stream`].

/// A random boundary. The parts Sitedrop sends are JSON, base64 or the user's `_headers` /
/// `_redirects` text, so a 24-character random token cannot collide in practice.
pub fn boundary() -> String {
    use crate::retry::{Jitter, SplitMix64};
    let mut rng = SplitMix64::from_entropy();
    let token: String = (0..24)
        .map(|_| {
            let n = (rng.next_unit() * 36.0) as u32;
            std::char::from_digit(n.min(35), 36).unwrap_or('x')
        })
        .collect();
    format!("----sitedrop-{token}")
}

/// The request's Content-Type for `boundary`.
pub fn content_type(boundary: &str) -> String {
    format!("multipart/form-data; boundary={boundary}")
}

/// The head of a text part.
pub fn text_head(boundary: &str, name: &str) -> String {
    format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"\r\n\r\n",
        quote(name)
    )
}

/// The head of a file part.
pub fn file_head(boundary: &str, name: &str, filename: &str, content_type: &str) -> String {
    format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\nContent-Type: {content_type}\r\n\r\n",
        quote(name),
        quote(filename)
    )
}

/// What ends a part's content.
pub const PART_END: &str = "\r\n";

/// What ends the form.
pub fn closing(boundary: &str) -> String {
    format!("--{boundary}--\r\n")
}

/// Escapes a field name as the WHATWG multipart encoder does (`"` and line breaks).
fn quote(s: &str) -> String {
    s.replace('"', "%22")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A small form built in memory.
pub struct Form {
    boundary: String,
    body: Vec<u8>,
}

impl Form {
    pub fn new() -> Form {
        Form {
            boundary: boundary(),
            body: Vec::new(),
        }
    }

    pub fn text(&mut self, name: &str, value: &str) -> &mut Form {
        self.body
            .extend_from_slice(text_head(&self.boundary, name).as_bytes());
        self.body.extend_from_slice(value.as_bytes());
        self.body.extend_from_slice(PART_END.as_bytes());
        self
    }

    pub fn file(
        &mut self,
        name: &str,
        filename: &str,
        content_type: &str,
        bytes: &[u8],
    ) -> &mut Form {
        self.body
            .extend_from_slice(file_head(&self.boundary, name, filename, content_type).as_bytes());
        self.body.extend_from_slice(bytes);
        self.body.extend_from_slice(PART_END.as_bytes());
        self
    }

    /// The Content-Type header and the body.
    pub fn finish(mut self) -> (String, Vec<u8>) {
        self.body
            .extend_from_slice(closing(&self.boundary).as_bytes());
        (content_type(&self.boundary), self.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_frame_parts_with_crlf() {
        let mut form = Form::new();
        form.text("manifest", "{}").file(
            "_headers",
            "_headers",
            "application/octet-stream",
            b"/*\n",
        );
        let boundary = form.boundary.clone();
        let (ct, body) = form.finish();
        assert_eq!(ct, format!("multipart/form-data; boundary={boundary}"));
        let text = String::from_utf8(body).unwrap();
        assert_eq!(
            text,
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"manifest\"\r\n\r\n{{}}\r\n\
                 --{boundary}\r\nContent-Disposition: form-data; name=\"_headers\"; filename=\"_headers\"\r\nContent-Type: application/octet-stream\r\n\r\n/*\n\r\n\
                 --{boundary}--\r\n"
            )
        );
        assert_ne!(boundary, super::boundary(), "boundaries are random");
    }
}
