//! The request as every platform handler sees it.

use axum::body::Body;
use axum::http::{HeaderMap, Method};
use percent_encoding::percent_decode_str;

/// One incoming request, with the raw (still percent-encoded) path and query.
#[derive(Debug)]
pub struct Req {
    /// HTTP method.
    pub method: Method,
    /// Path exactly as received, percent-encoding kept.
    pub path: String,
    /// Raw query string, without `?`.
    pub query: Option<String>,
    /// Request headers.
    pub headers: HeaderMap,
    /// The body, not yet read.
    pub body: Body,
}

impl Req {
    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `Host` header (with port, if any).
    pub fn host(&self) -> &str {
        self.header("host").unwrap_or("")
    }

    /// The token of an `Authorization: Bearer <token>` header.
    pub fn bearer(&self) -> Option<&str> {
        let v = self.header("authorization")?;
        let (scheme, rest) = v.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
    }

    /// The first value of query parameter `name` (form-decoded).
    pub fn query_param(&self, name: &str) -> Option<String> {
        query_pairs(self.query.as_deref().unwrap_or(""))
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// The path split on `/` after `prefix`, each segment percent-decoded once.
    /// Returns `None` when the path does not start with `prefix`.
    pub fn segments(&self, prefix: &str) -> Option<Vec<String>> {
        let rest = self.path.strip_prefix(prefix)?;
        Some(
            rest.split('/')
                .filter(|s| !s.is_empty())
                .map(decode)
                .collect(),
        )
    }
}

/// Percent-decodes once; `+` stays `+`; invalid UTF-8 is replaced.
pub fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// Parses `a=1&b=x+y` with form rules (`+` is a space).
pub fn query_pairs(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(&k.replace('+', " ")), decode(&v.replace('+', " ")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_pairs_decode_plus_and_percent() {
        assert_eq!(
            query_pairs("name=a+b&x=%2F&empty"),
            vec![
                ("name".into(), "a b".into()),
                ("x".into(), "/".into()),
                ("empty".into(), String::new())
            ]
        );
    }
}
