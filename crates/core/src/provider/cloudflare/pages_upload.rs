//! Pages asset uploads: the upload token (a JWT) and its renewal, the buckets files travel in,
//! and the streamed JSON body of one bucket (`specs/cloudflare.md` §1.7, §3.3–§3.7).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use reqwest::Method;
use serde::Deserialize;

use super::stream::{self, FilePiece, Piece, Streamed};
use super::upload_gate::UploadGate;
use super::{Api, Failure};
use crate::error::{Error, Result};
use crate::platform::Platform;
use crate::provider::{Attempt, Batch, Cx, Manifest};
use crate::retry::retry;
use crate::secrets::Secret;

/// Buckets uploading at once (see the bucket sizes below for why six, not three). It lives
/// here, with the bucketing that depends on it, so the provider imports it from the upload
/// code and not the other way round.
pub const UPLOAD_CONCURRENCY: usize = 6;

/// The file count wrangler assumes when the token has no `max_file_count_allowed` (§3.2).
pub const DEFAULT_MAX_FILES: u64 = 20_000;

/// The longest a token may have left and still be renewed before use. wrangler renews only
/// after a failure; renewing ahead saves a failed request (§9). Tokens shorter-lived than two
/// minutes are renewed at half their life instead, so each one is still used.
const RENEW_AHEAD_SECS: u64 = 60;

/// Spec limits on one bucket (§3.5): 40 MiB of raw bytes and 2000 files.
const MAX_BUCKET_BYTES: u64 = 40 * 1024 * 1024;
const MAX_BUCKET_FILES: usize = 2000;

/// The size Sitedrop aims for. wrangler fills three 40 MiB buckets and sends them three at a
/// time; we aim for ~8 MiB and 1000 files instead and send six at once (see
/// [`super::PagesProvider`]'s `upload_concurrency`). More, smaller requests keep all the
/// connections busy on medium sites (a 30 MiB site goes out as four parallel streams, not one),
/// a failed request re-sends at most 8 MiB rather than 40, and a 20,000-file site still needs
/// only 20 requests — far inside the API's 1200 requests per 5 minutes.
const TARGET_BUCKET_BYTES: u64 = 8 * 1024 * 1024;
const TARGET_BUCKET_FILES: usize = 1000;
/// Sites smaller than this go in one request: a request costs more than sending it faster.
const SPLIT_ABOVE_BYTES: u64 = 1024 * 1024;

/// The claims of an upload token that matter to the client (§3.3).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Claims {
    pub exp: Option<u64>,
    pub max_file_count_allowed: Option<u64>,
}

/// Reads a JWT's payload without checking the signature, as wrangler does (§1.7): the middle
/// segment, base64url or base64, with or without padding.
pub fn decode_claims(jwt: &str) -> Option<Claims> {
    let payload = jwt.split('.').nth(1)?;
    let normal: String = payload
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(normal)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// One upload token and when it was fetched.
struct Token {
    jwt: Secret,
    claims: Claims,
    fetched: u64,
}

impl Token {
    /// True when the token should be renewed before its next use.
    fn stale(&self, now: u64) -> bool {
        let Some(exp) = self.claims.exp else {
            return false;
        };
        let life = exp.saturating_sub(self.fetched);
        let ahead = RENEW_AHEAD_SECS.min(life / 2);
        exp.saturating_sub(now) <= ahead
    }
}

/// The upload token of one deploy, shared by its parallel uploads. Renewal happens once,
/// however many uploads find the token expired at the same moment.
pub struct UploadToken {
    api: Api,
    path: String,
    current: tokio::sync::Mutex<Token>,
}

impl UploadToken {
    /// Fetches a token for the project (`GET …/pages/projects/{name}/upload-token`, §3.3).
    pub async fn fetch(cx: &Cx, api: &Api, account: &str, project: &str) -> Result<UploadToken> {
        let path = format!("/accounts/{account}/pages/projects/{project}/upload-token");
        let token = get_token(cx, api, &path).await?;
        Ok(UploadToken {
            api: api.clone(),
            path,
            current: tokio::sync::Mutex::new(token),
        })
    }

    /// How many files the token allows in one deployment (§3.2).
    pub async fn max_files(&self) -> u64 {
        self.current
            .lock()
            .await
            .claims
            .max_file_count_allowed
            .unwrap_or(DEFAULT_MAX_FILES)
    }

    /// The token to use now, renewed first when it is about to expire.
    pub async fn get(&self, cx: &Cx) -> Result<Secret> {
        let mut current = self.current.lock().await;
        if current.stale(now_secs()) {
            *current = get_token(cx, &self.api, &self.path).await?;
        }
        Ok(current.jwt.clone())
    }

    /// Renews the token after the server refused `used` — unless another upload renewed it
    /// already.
    pub async fn renew(&self, cx: &Cx, used: &Secret) -> Result<()> {
        let mut current = self.current.lock().await;
        if current.jwt == *used {
            *current = get_token(cx, &self.api, &self.path).await?;
        }
        Ok(())
    }

    /// Runs an asset call with the token, renewing it when the server refuses it (code
    /// 8000013 or `403 Expired JWT`, §3.6) and repeating the call. Renewal is not a failed
    /// attempt: the engine's retry budget is left alone. `on_renew` runs before the repeat.
    pub async fn call<T, F, Fut>(&self, cx: &Cx, mut op: F, mut on_renew: impl FnMut()) -> Result<T>
    where
        F: FnMut(Secret) -> Fut,
        Fut: std::future::Future<Output = Result<T, Failure>>,
    {
        // A token that is refused again right after renewal means something else is wrong
        // (a clock far off); give up rather than loop.
        const RENEWALS: u32 = 3;
        let mut renewals = 0;
        loop {
            let jwt = self.get(cx).await?;
            match op(jwt.clone()).await {
                Err(Failure::UploadToken) if renewals < RENEWALS => {
                    renewals += 1;
                    on_renew();
                    self.renew(cx, &jwt).await?;
                }
                other => return other.map_err(Error::from),
            }
        }
    }
}

async fn get_token(cx: &Cx, api: &Api, path: &str) -> Result<Token> {
    #[derive(Deserialize)]
    struct Jwt {
        jwt: Secret,
    }
    let Jwt { jwt } = api.get(cx, path).await?;
    let claims = decode_claims(jwt.expose()).ok_or_else(|| Error::BadResponse {
        platform: Platform::CloudflarePages,
        detail: "the upload token could not be read".into(),
    })?;
    Ok(Token {
        jwt,
        claims,
        fetched: now_secs(),
    })
}

/// `POST /pages/assets/check-missing` (§3.4): which of `hashes` the server lacks. Each hash is
/// sent once; the server only needs the set (§9).
pub async fn check_missing(cx: &Cx, token: &UploadToken, hashes: &[&str]) -> Result<Vec<String>> {
    let body = serde_json::json!({ "hashes": hashes });
    retry(&cx.retry, &cx.cancel, |_| {
        token.call(
            cx,
            |jwt| {
                let request = token
                    .api
                    .request_with(Method::POST, "/pages/assets/check-missing", &jwt)
                    .json(&body);
                async move { token.api.send_raw::<Vec<String>>(request).await }
            },
            || {},
        )
    })
    .await
}

/// `POST /pages/assets/upsert-hashes` (§3.7) with every hash of the deployment.
pub async fn upsert_hashes(cx: &Cx, token: &UploadToken, hashes: &[&str]) -> Result<()> {
    let body = serde_json::json!({ "hashes": hashes });
    retry(&cx.retry, &cx.cancel, |_| {
        token.call(
            cx,
            |jwt| {
                let request = token
                    .api
                    .request_with(Method::POST, "/pages/assets/upsert-hashes", &jwt)
                    .json(&body);
                async move {
                    token
                        .api
                        .send_raw::<serde_json::Value>(request)
                        .await
                        .map(|_| ())
                }
            },
            || {},
        )
    })
    .await
}

/// `POST /pages/assets/upload` (§3.6): one bucket, streamed. The engine retries failures;
/// token renewal happens here, and the gate slows uploads after a 524.
pub async fn upload(
    cx: &Cx,
    token: &UploadToken,
    gate: &UploadGate,
    manifest: &Manifest,
    batch: &Batch,
    attempt: &Attempt,
) -> Result<()> {
    let pass = gate.enter().await;
    let gateway = AtomicBool::new(false);
    let outcome = token
        .call(
            cx,
            |jwt| {
                let streamed = json_body(manifest, batch, attempt);
                let problem = streamed.problem.clone();
                let request = token
                    .api
                    .request_with(Method::POST, "/pages/assets/upload", &jwt)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .header(reqwest::header::CONTENT_LENGTH, streamed.length)
                    .body(streamed.body)
                    .timeout(crate::http::UPLOAD_TIMEOUT);
                let gateway = &gateway;
                async move {
                    match token.api.send_raw::<serde_json::Value>(request).await {
                        Ok(_) => Ok(()),
                        Err(f) => {
                            gateway.fetch_or(matches!(f, Failure::Gateway(_)), Ordering::Relaxed);
                            // A file that changed or vanished cut the body short: say that,
                            // not "the connection broke".
                            Err(problem.take().map(Failure::Other).unwrap_or(f))
                        }
                    }
                }
            },
            || attempt.abandon(),
        )
        .await;
    gate.done(pass, outcome.is_ok(), gateway.load(Ordering::Relaxed));
    outcome?;
    attempt.files_done(batch.files.len() as u64);
    Ok(())
}

/// The body of one bucket: `[{"key","value","metadata":{"contentType"},"base64":true}, …]`.
fn json_body(manifest: &Manifest, batch: &Batch, attempt: &Attempt) -> Streamed {
    let mut pieces = Vec::with_capacity(batch.files.len() * 2 + 1);
    for (n, &i) in batch.files.iter().enumerate() {
        let file = &manifest.files[i];
        let content_type = super::content_type::pages(file.path.as_str());
        pieces.push(Piece::Text(format!(
            "{}{{\"key\":\"{}\",\"value\":\"",
            if n == 0 { "[" } else { "," },
            file.digest
        )));
        pieces.push(Piece::File(FilePiece::of(file)));
        pieces.push(Piece::Text(format!(
            "\",\"metadata\":{{\"contentType\":{}}},\"base64\":true}}",
            serde_json::Value::String(content_type)
        )));
    }
    pieces.push(Piece::Text(
        if batch.files.is_empty() { "[]" } else { "]" }.into(),
    ));
    stream::base64_body(pieces, attempt)
}

/// Groups the files to upload into buckets (§3.5), largest first into the least-filled bucket
/// that still has room, so parallel requests carry similar loads.
pub fn buckets(manifest: &Manifest, mut files: Vec<usize>) -> Vec<Batch> {
    if files.is_empty() {
        return Vec::new();
    }
    let total: u64 = files.iter().map(|&i| manifest.files[i].size).sum();
    let wanted = if total <= SPLIT_ABOVE_BYTES {
        files.len().div_ceil(TARGET_BUCKET_FILES)
    } else {
        (total.div_ceil(TARGET_BUCKET_BYTES) as usize)
            .max(files.len().div_ceil(TARGET_BUCKET_FILES))
            .max(UPLOAD_CONCURRENCY.min(files.len()))
    };
    files.sort_by(|&a, &b| {
        manifest.files[b]
            .size
            .cmp(&manifest.files[a].size)
            .then(a.cmp(&b))
    });
    let mut groups: Vec<(Vec<usize>, u64)> = vec![(Vec::new(), 0); wanted.max(1)];
    for i in files {
        let size = manifest.files[i].size;
        let room = groups
            .iter_mut()
            .filter(|(g, bytes)| g.len() < MAX_BUCKET_FILES && bytes + size <= MAX_BUCKET_BYTES)
            .min_by_key(|(g, bytes)| (*bytes, g.len()));
        match room {
            Some((g, bytes)) => {
                g.push(i);
                *bytes += size;
            }
            None => groups.push((vec![i], size)),
        }
    }
    groups
        .into_iter()
        .filter(|(g, _)| !g.is_empty())
        .map(|(g, _)| Batch::new(manifest, g))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::{Digest, DigestKind};
    use crate::provider::ManifestFile;
    use crate::relpath::RelPath;

    fn manifest(sizes: &[u64]) -> Manifest {
        Manifest {
            root: "/site".into(),
            kind: DigestKind::CfBlake3,
            files: sizes
                .iter()
                .enumerate()
                .map(|(i, &size)| ManifestFile {
                    path: RelPath::new(format!("f{i}.bin")),
                    abs: format!("/site/f{i}.bin").into(),
                    size,
                    digest: Digest::from_hex(format!("{i:032x}")),
                })
                .collect(),
            total_bytes: sizes.iter().sum(),
        }
    }

    #[test]
    fn claims_are_read_from_base64url_or_base64() {
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"exp":1700000000,"max_file_count_allowed":100000,"x":"??>"}"#);
        let jwt = format!("h.{payload}.s");
        let want = Claims {
            exp: Some(1_700_000_000),
            max_file_count_allowed: Some(100_000),
        };
        assert_eq!(decode_claims(&jwt), Some(want.clone()));
        let std = base64::engine::general_purpose::STANDARD
            .encode(br#"{"exp":1700000000,"max_file_count_allowed":100000,"x":"??>"}"#);
        assert_eq!(decode_claims(&format!("h.{std}.s")), Some(want));
        assert_eq!(decode_claims("not-a-jwt"), None);
    }

    #[test]
    fn tokens_are_renewed_a_minute_ahead_or_at_half_life() {
        let token = |fetched, exp| Token {
            jwt: Secret::new("t"),
            claims: Claims {
                exp: Some(exp),
                max_file_count_allowed: None,
            },
            fetched,
        };
        // Ten-minute token: renewed in its last minute.
        assert!(!token(0, 600).stale(539));
        assert!(token(0, 600).stale(540));
        // Two-second token: renewed in its last second, so it is still used once.
        assert!(!token(100, 102).stale(100));
        assert!(token(100, 102).stale(101));
        // No `exp`: never stale (§1.7).
        let mut t = token(0, 0);
        t.claims.exp = None;
        assert!(!t.stale(u64::MAX));
    }

    #[test]
    fn small_sites_go_in_one_request() {
        let m = manifest(&[10, 200, 3000, 5]);
        let b = buckets(&m, vec![0, 1, 2, 3]);
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].files, vec![2, 1, 0, 3], "largest first");
        assert_eq!(b[0].bytes, 3215);
        assert!(buckets(&m, vec![]).is_empty());
    }

    #[test]
    fn larger_sites_are_spread_evenly_within_the_spec_limits() {
        const MIB: u64 = 1024 * 1024;
        // 30 MiB in 30 files: split over the six parallel streams, ~5 MiB each.
        let m = manifest(&[MIB; 30]);
        let b = buckets(&m, (0..30).collect());
        assert_eq!(b.len(), 6);
        assert!(b.iter().all(|b| b.bytes == 5 * MIB && b.files.len() == 5));

        // Files near the 25 MiB cap never share a bucket beyond 40 MiB.
        let m = manifest(&[25 * MIB, 25 * MIB, 20 * MIB, 1]);
        let b = buckets(&m, (0..4).collect());
        assert!(b.iter().all(|b| b.bytes <= MAX_BUCKET_BYTES), "{b:?}");
        assert_eq!(b.iter().map(|b| b.files.len()).sum::<usize>(), 4);

        // 5000 tiny files: at most 1000 per bucket.
        let m = manifest(&vec![10; 5000]);
        let b = buckets(&m, (0..5000).collect());
        assert_eq!(b.len(), 5);
        assert!(b.iter().all(|b| b.files.len() == 1000));
    }
}
