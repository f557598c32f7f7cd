//! AWS Signature Version 4, implemented from the specification for the server side: the
//! canonical request, the string to sign and the HMAC chain (`specs/amplify.md §2.1`).
//! Checked against the official CRT signing test suite and the Amplify golden vectors
//! (§2.2, §2.4) in `tests/sigv4_vectors.rs`.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The only algorithm accepted.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// SHA-256 of the empty string.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// A parsed `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthHeader {
    /// Access key id.
    pub access_key: String,
    /// `YYYYMMDD`.
    pub date: String,
    /// Region of the scope.
    pub region: String,
    /// Service of the scope.
    pub service: String,
    /// Lowercase signed header names, in the order given.
    pub signed_headers: Vec<String>,
    /// Hex signature.
    pub signature: String,
}

/// Why an `Authorization` header could not be parsed (AWS: `IncompleteSignatureException`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

/// Parses the header value.
pub fn parse_authorization(v: &str) -> Result<AuthHeader, ParseError> {
    let rest = v.strip_prefix(ALGORITHM).ok_or_else(|| {
        ParseError(format!(
            "Unsupported or missing algorithm; expected {ALGORITHM}"
        ))
    })?;
    let mut cred = None;
    let mut signed = None;
    let mut sig = None;
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(x) = part.strip_prefix("Credential=") {
            cred = Some(x);
        } else if let Some(x) = part.strip_prefix("SignedHeaders=") {
            signed = Some(x);
        } else if let Some(x) = part.strip_prefix("Signature=") {
            sig = Some(x);
        }
    }
    let missing = |k: &str| {
        ParseError(format!(
            "Authorization header requires '{k}' parameter. Authorization={v}"
        ))
    };
    let cred = cred.ok_or_else(|| missing("Credential"))?;
    let signed = signed.ok_or_else(|| missing("SignedHeaders"))?;
    let sig = sig.ok_or_else(|| missing("Signature"))?;
    let parts: Vec<&str> = cred.split('/').collect();
    let [ak, date, region, service, term] = parts.as_slice() else {
        return Err(ParseError(format!(
            "Credential should be scoped to a valid region. Credential={cred}"
        )));
    };
    if *term != "aws4_request" {
        return Err(ParseError(
            "Credential should be scoped with a valid terminator: 'aws4_request'".into(),
        ));
    }
    Ok(AuthHeader {
        access_key: ak.to_string(),
        date: date.to_string(),
        region: region.to_string(),
        service: service.to_string(),
        signed_headers: signed
            .split(';')
            .map(|h| h.trim().to_ascii_lowercase())
            .collect(),
        signature: sig.to_ascii_lowercase(),
    })
}

/// RFC 3986 encoding of everything but unreserved characters (and `/` when `keep_slash`).
pub fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Removes `.` and `..` segments and empty segments (double slashes), keeping a trailing `/`.
pub fn normalize_path(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    let trailing = path.ends_with('/') || path.ends_with("/.") || path.ends_with("/..");
    let mut p = format!("/{}", out.join("/"));
    if trailing && p != "/" {
        p.push('/');
    }
    p
}

/// The canonical URI: the path as received (already percent-encoded on the wire) encoded
/// once more, which is AWS's "double encoding" for every service but S3 (§2.1).
pub fn canonical_uri(path: &str, normalize: bool) -> String {
    let p = if path.is_empty() { "/" } else { path };
    let p = if normalize {
        normalize_path(p)
    } else {
        p.to_string()
    };
    uri_encode(&p, true)
}

/// The canonical query: pairs decoded, re-encoded strictly, sorted by key then value.
/// `skip` drops a parameter (the `X-Amz-Signature` of a presigned URL).
pub fn canonical_query(query: &str, skip: Option<&str>) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                uri_encode(&percent_decode(k), false),
                uri_encode(&percent_decode(v), false),
            )
        })
        .filter(|(k, _)| skip != Some(k.as_str()))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// A header value as signed: trimmed, inner runs of whitespace collapsed to one space.
fn canonical_value(v: &str) -> String {
    v.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Inputs of a canonical request. `headers` holds every received header (any case, in
/// order, repeated names allowed).
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// Method.
    pub method: &'a str,
    /// Raw path as sent.
    pub path: &'a str,
    /// Raw query string.
    pub query: &'a str,
    /// All headers.
    pub headers: &'a [(String, String)],
    /// Lowercase hex SHA-256 of the payload (or `UNSIGNED-PAYLOAD`).
    pub payload_hash: &'a str,
}

/// Builds the canonical request over exactly `signed` headers.
/// Fails when a signed header is absent from the request.
pub fn canonical_request(
    r: &Request<'_>,
    signed: &[String],
    normalize: bool,
    skip_query: Option<&str>,
) -> Result<String, String> {
    let mut lines = Vec::with_capacity(signed.len());
    let mut names: Vec<&String> = signed.iter().collect();
    names.sort();
    for name in &names {
        let values: Vec<String> = r
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| canonical_value(v))
            .collect();
        if values.is_empty() {
            return Err(format!("signed header {name} is missing from the request"));
        }
        lines.push(format!("{name}:{}", values.join(",")));
    }
    let signed_list = names
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(";");
    Ok(format!(
        "{}\n{}\n{}\n{}\n\n{}\n{}",
        r.method,
        canonical_uri(r.path, normalize),
        canonical_query(r.query, skip_query),
        lines.join("\n"),
        signed_list,
        r.payload_hash
    ))
}

/// Hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// `AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hex(sha256(canonical))}`.
pub fn string_to_sign(amz_date: &str, scope: &str, canonical: &str) -> String {
    format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical.as_bytes())
    )
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length; this cannot fail.
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    m.update(data);
    m.finalize().into_bytes().to_vec()
}

/// `HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request")`.
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let k = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k = hmac(&k, region.as_bytes());
    let k = hmac(&k, service.as_bytes());
    hmac(&k, b"aws4_request")
}

/// Hex signature of a string to sign.
pub fn signature(key: &[u8], string_to_sign: &str) -> String {
    hex::encode(hmac(key, string_to_sign.as_bytes()))
}

/// Constant-time comparison of two hex signatures.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_spec_header() {
        let a = parse_authorization("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/eu-west-1/amplify/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=d2c9cd52472e33cbbe3f13ac260d88596832f4640156f64b33bd8af551d5dd98").expect("valid");
        assert_eq!(a.region, "eu-west-1");
        assert_eq!(a.signed_headers.len(), 4);
        assert!(parse_authorization("AWS4-HMAC-SHA256 Credential=a/b").is_err());
        assert!(parse_authorization("Bearer x").is_err());
    }

    #[test]
    fn canonical_uri_double_encodes_the_wire_path() {
        assert_eq!(
            canonical_uri("/apps/d1a2b3c4d5e6f7/branches/feature%2Fx%20y", true),
            "/apps/d1a2b3c4d5e6f7/branches/feature%252Fx%2520y"
        );
        assert_eq!(canonical_uri("//example//", true), "/example/");
        assert_eq!(canonical_uri("/example1/example2/../..", true), "/");
    }

    #[test]
    fn canonical_query_sorts_and_encodes() {
        assert_eq!(canonical_query("b=2&a=%2B&a=1&c", None), "a=%2B&a=1&b=2&c=");
        assert_eq!(
            canonical_query("nextToken=a/b+c=", None),
            "nextToken=a%2Fb%2Bc%3D"
        );
    }
}
