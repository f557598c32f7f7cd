//! The `PUT` of the zip to the presigned `zipUploadUrl` (`specs/amplify.md` §1.3 "Upload to
//! the presigned URL", §4.2 pitfall 4).
//!
//! The URL is used byte for byte: no `Authorization`, no re-signing, no re-encoding of its
//! query. Its query *is* a credential (anyone holding it may write the deployment), so it
//! never appears in an error, a log line or a `Debug` print: [`UploadUrl`] hides it.
//! The body streams from the temporary file with an exact `Content-Length` (S3 refuses
//! chunked uploads to presigned URLs); the same URL may be `PUT` again until it expires,
//! so a failed upload is retried without rebuilding the zip.

use std::path::Path;

use futures_util::TryStreamExt;
use reqwest::StatusCode;

use crate::error::{ByteSize, Error, Result};
use crate::http::{network_error, shorten};
use crate::platform::Platform;
use crate::provider::{Attempt, Cx};

const P: Platform = Platform::Amplify;

/// Amplify's cap on a manual-deploy zip, which is S3's cap on one `PUT` (§4.1).
pub const MAX_ZIP: u64 = 5_000_000_000;

/// A presigned upload URL, checked to survive parsing unchanged.
pub struct UploadUrl(reqwest::Url);

impl UploadUrl {
    /// Accepts the URL only if the HTTP client will send exactly these bytes: `url`'s parser
    /// normalises some characters, and a changed query would break S3's signature.
    pub fn new(raw: &str) -> Result<UploadUrl> {
        let bad = |why: &str| Error::BadResponse {
            platform: P,
            detail: format!("CreateDeployment returned an upload address that {why}"),
        };
        let url = reqwest::Url::parse(raw).map_err(|_| bad("is not a valid URL"))?;
        if url.as_str() != raw {
            return Err(bad("cannot be sent exactly as given"));
        }
        if !matches!(url.scheme(), "https" | "http") {
            return Err(bad("is not an http(s) address"));
        }
        Ok(UploadUrl(url))
    }

    #[cfg(test)]
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl std::fmt::Debug for UploadUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "UploadUrl({}://{}{}?<redacted>)",
            self.0.scheme(),
            self.0.host_str().unwrap_or(""),
            self.0.path()
        )
    }
}

/// `PUT`s the zip at `path` (`len` bytes), counting `share` progress bytes as it leaves.
pub async fn put(
    cx: &Cx,
    url: &UploadUrl,
    path: &Path,
    len: u64,
    attempt: &Attempt,
    share: u64,
) -> Result<()> {
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|e| Error::DataDir {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    let counter = attempt.clone();
    let mut sent = 0u64;
    let mut counted = 0u64;
    let stream =
        tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024).inspect_ok(move |chunk| {
            sent += chunk.len() as u64;
            // Progress is counted in site bytes: this upload's share, in proportion.
            let due = (share as u128 * sent as u128 / len.max(1) as u128) as u64;
            counter.add_bytes(due.saturating_sub(counted));
            counted = counted.max(due);
        });
    attempt.file_started("deployment.zip");
    let response = cx
        .http
        .client()
        .put(url.0.clone())
        .header(reqwest::header::CONTENT_LENGTH, len)
        .body(reqwest::Body::wrap_stream(stream))
        .timeout(crate::http::UPLOAD_TIMEOUT)
        .send()
        .await
        .map_err(|e| network_error(P, &e))?;
    let status = response.status();
    let headers = response.headers().clone();
    // Read the answer to the end: a connection cut mid-answer must count as a failure.
    let body = response.bytes().await.map_err(|e| network_error(P, &e))?;
    if status.is_success() {
        return Ok(());
    }
    Err(s3_error(status, &headers, &body))
}

/// S3's XML error (`<Error><Code>…</Code><Message>…</Message></Error>`) in words.
fn s3_error(status: StatusCode, headers: &reqwest::header::HeaderMap, body: &[u8]) -> Error {
    let text = String::from_utf8_lossy(&body[..body.len().min(4096)]);
    let tag = |name: &str| {
        let open = format!("<{name}>");
        let start = text.find(&open)? + open.len();
        let end = text[start..].find(&format!("</{name}>"))? + start;
        Some(shorten(text[start..end].trim(), 200))
    };
    let code = tag("Code").unwrap_or_default();
    let message = tag("Message").unwrap_or_default();
    let detail = if code.is_empty() {
        format!(
            "the zip upload got HTTP {}: {}",
            status.as_u16(),
            crate::http::body_preview(body)
        )
    } else {
        format!("the zip upload was refused ({code}: {message})")
    };
    match (status.as_u16(), code.as_str()) {
        (_, "EntityTooLarge") => Error::LimitExceeded {
            platform: P,
            detail: format!(
                "a deployment zip may be at most {} ({detail})",
                ByteSize(MAX_ZIP)
            ),
        },
        (403, "AccessDenied") if message.contains("expired") => Error::DeployFailed {
            platform: P,
            detail: "the upload address expired before the zip was sent. Deploy again".into(),
        },
        (400 | 403, _) => Error::Rejected {
            platform: P,
            detail: crate::http::refusal(P, &detail),
        },
        _ => crate::http::status_error(P, status, headers, Some(detail)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presigned_urls_survive_parsing_byte_for_byte() {
        let raw = "https://aws-amplify-prod-us-east-1-artifacts.s3.us-east-1.amazonaws.com/d1/main/0000000001/deployment.zip?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIA%2F20250101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20250101T000000Z&X-Amz-Expires=28800&X-Amz-Security-Token=IQoJ%2Bb3JpZ2lu%3D%3D&X-Amz-SignedHeaders=host&X-Amz-Signature=abc123";
        assert_eq!(UploadUrl::new(raw).unwrap().as_str(), raw);
        let local = "http://127.0.0.1:4000/_amplify-upload/d1/feature%2Fx/1/deployment.zip?a=b+c&X-Amz-Signature=0f";
        assert_eq!(UploadUrl::new(local).unwrap().as_str(), local);
    }

    #[test]
    fn urls_the_client_would_alter_are_refused_not_sent() {
        for raw in [
            "https://h.example/x?a=b c",
            "HTTPS://h.example/x?a=b",
            "https://h.example:443/x?a=b",
            "https://h.example/a/../x?a=b",
        ] {
            assert_eq!(
                UploadUrl::new(raw).unwrap_err().kind(),
                "bad_response",
                "{raw}"
            );
        }
    }

    #[test]
    fn the_query_never_shows_in_debug_or_errors() {
        let url = UploadUrl::new("https://h.example/x.zip?X-Amz-Signature=secretsig").unwrap();
        assert!(!format!("{url:?}").contains("secretsig"));
        let err = s3_error(
            StatusCode::FORBIDDEN,
            &reqwest::header::HeaderMap::new(),
            b"<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match</Message></Error>",
        );
        assert_eq!(err.kind(), "rejected");
        assert!(err.to_string().contains("SignatureDoesNotMatch"), "{err}");
        let err = s3_error(
            StatusCode::SERVICE_UNAVAILABLE,
            &reqwest::header::HeaderMap::new(),
            b"<html>",
        );
        assert_eq!(err.kind(), "server_error");
    }
}
