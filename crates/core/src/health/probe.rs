//! One look at a live site: GET its home page (time to the answer, status, certificate), then
//! the few sampled files, comparing bytes by SHA-256 with what the last deploy published.

use std::io::ErrorKind;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use reqwest::{Client, Response};

use super::sample::{sha256_hex, SampleFile};
use super::DownReason;
use crate::error::{Error, Result};
use crate::http::{Http, USER_AGENT};

/// What one look saw, before it is judged ([`super::judge`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Probe {
    /// The home page's final HTTP status (after redirects), when one came.
    pub status: Option<u16>,
    /// Milliseconds from sending the home page request to its answer's headers.
    pub response_ms: Option<u64>,
    /// The certificate's notAfter (ms since the epoch), over https.
    pub cert_expires_at: Option<i64>,
    /// Why the site counts as down, and the detail in words.
    pub failure: Option<(DownReason, String)>,
    /// Whether the sampled files are the deploy's; `None` when there was nothing to compare
    /// or the comparison could not finish.
    pub matches: Option<bool>,
    /// What differed, in words, when `matches` is false.
    pub mismatch: Option<String>,
}

/// The client for health checks: like the live-site client of [`Http`] (redirects followed by
/// hand, so `SITEDROP_SITE_RESOLVE` rewrites each hop), with the peer certificate kept
/// (`tls_info`) to read its expiry, and a short limit: a check waits `timeout`, not minutes.
pub fn client(timeout: Duration) -> Result<Client> {
    Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .tls_info(true)
        .build()
        .map_err(|e| Error::Internal(format!("could not start the HTTP client: {e}")))
}

/// Looks at the site at `url` and compares it with `sample`.
pub async fn probe(http: &Http, client: &Client, url: &str, sample: &[SampleFile]) -> Probe {
    let base = url.trim_end_matches('/');
    let mut probe = Probe::default();
    let started = Instant::now();
    let home = get(http, client, &format!("{base}/")).await;
    probe.response_ms = Some(started.elapsed().as_millis() as u64);
    let (response, cert) = match home {
        Ok(got) => got,
        Err(failure) => {
            probe.response_ms = None;
            probe.failure = Some(failure);
            return probe;
        }
    };
    probe.cert_expires_at = cert;
    let status = response.status().as_u16();
    probe.status = Some(status);
    if let Some(reason) = DownReason::from_status(status) {
        probe.failure = Some((reason, reason.sentence(Some(status))));
        return probe;
    }
    let index = sample.iter().find(|s| s.url_path.is_empty());
    // Read no more of the page than the published one plus a byte: enough to tell it apart.
    let cap = index.map_or(64 * 1024, |s| s.size + 1);
    let body = match read_capped(response, cap).await {
        Ok(body) => body,
        Err(()) => {
            let reason = DownReason::ConnectionDropped;
            probe.failure = Some((reason, reason.sentence(None)));
            return probe;
        }
    };
    if sample.is_empty() {
        return probe;
    }
    if let Some(index) = index {
        if sha256_hex(&body) != index.sha256 {
            probe.matches = Some(false);
            probe.mismatch = Some(format!(
                "the home page differs from the published {} ({} bytes served, {} published)",
                index.path,
                body.len(),
                index.size
            ));
            return probe;
        }
    }
    for file in sample.iter().filter(|s| !s.url_path.is_empty()) {
        let got = get(http, client, &format!("{base}/{}", file.url_path)).await;
        let Ok((response, _)) = got else {
            // The home page answered; a file that does not arrive says nothing about content.
            return probe;
        };
        let status = response.status();
        if !status.is_success() {
            probe.matches = Some(false);
            probe.mismatch = Some(format!(
                "/{} answers HTTP {} instead of the published file",
                file.url_path,
                status.as_u16()
            ));
            return probe;
        }
        let Ok(bytes) = read_capped(response, file.size + 1).await else {
            return probe;
        };
        if sha256_hex(&bytes) != file.sha256 {
            probe.matches = Some(false);
            probe.mismatch = Some(format!(
                "/{} differs from the published file",
                file.url_path
            ));
            return probe;
        }
    }
    probe.matches = Some(true);
    probe
}

/// GETs `url`, following up to five redirects (each rewritten by [`Http::site_target`]).
/// Returns the final answer and the first hop's certificate expiry.
async fn get(
    http: &Http,
    client: &Client,
    url: &str,
) -> std::result::Result<(Response, Option<i64>), (DownReason, String)> {
    let bad = |detail: String| (DownReason::HttpError, detail);
    let mut current = url::Url::parse(url).map_err(|e| bad(format!("bad address {url}: {e}")))?;
    let mut cert = None;
    for hop in 0..6 {
        let (target, host) = http.site_target(&current).map_err(bad)?;
        let response = client
            .get(target)
            .header(reqwest::header::HOST, host)
            .send()
            .await
            .map_err(|e| {
                let reason = classify(&e);
                (reason, reason.sentence(None))
            })?;
        if hop == 0 {
            cert = response
                .extensions()
                .get::<reqwest::tls::TlsInfo>()
                .and_then(|info| info.peer_certificate())
                .and_then(super::cert::not_after_ms);
        }
        if !response.status().is_redirection() {
            return Ok((response, cert));
        }
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .ok_or_else(|| bad("a redirect without a destination".into()))?;
        current = current
            .join(location)
            .map_err(|e| bad(format!("bad redirect {location}: {e}")))?;
    }
    Err(bad("it redirects in a loop".into()))
}

/// Reads at most `cap` bytes of a body; `Err` when the connection breaks first.
async fn read_capped(response: Response, cap: u64) -> std::result::Result<Vec<u8>, ()> {
    let mut stream = response.bytes_stream();
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| ())?;
        let room = (cap as usize).saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() as u64 >= cap {
            break;
        }
    }
    Ok(body)
}

/// Why a request failed, from the error and its causes. reqwest and hyper say little through
/// types, so this reads the I/O error kinds in the chain and, for DNS and TLS, their words.
fn classify(e: &reqwest::Error) -> DownReason {
    let mut chain = Vec::new();
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        let kind = s.downcast_ref::<std::io::Error>().map(std::io::Error::kind);
        chain.push((kind, s.to_string()));
        source = s.source();
    }
    classify_chain(e.is_timeout(), &chain)
}

/// [`classify`] on the error chain's I/O kinds and messages, outermost first.
pub(crate) fn classify_chain(timeout: bool, chain: &[(Option<ErrorKind>, String)]) -> DownReason {
    let kinds: Vec<ErrorKind> = chain.iter().filter_map(|(k, _)| *k).collect();
    let text = chain
        .iter()
        .map(|(_, m)| m.to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(": ");
    if timeout || kinds.contains(&ErrorKind::TimedOut) {
        DownReason::Timeout
    } else if kinds.contains(&ErrorKind::ConnectionRefused) {
        DownReason::ConnectionRefused
    } else if text.contains("dns error") || text.contains("failed to lookup address") {
        DownReason::Dns
    } else if ["certificate", "tls", "handshake", "alert"]
        .iter()
        .any(|w| text.contains(w))
    {
        DownReason::Tls
    } else if kinds.contains(&ErrorKind::HostUnreachable)
        || kinds.contains(&ErrorKind::NetworkUnreachable)
    {
        DownReason::Unreachable
    } else {
        DownReason::ConnectionDropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Env;

    fn chain(items: &[(Option<ErrorKind>, &str)]) -> Vec<(Option<ErrorKind>, String)> {
        items.iter().map(|(k, m)| (*k, m.to_string())).collect()
    }

    #[test]
    fn failures_are_told_apart_by_their_causes() {
        let dns = chain(&[
            (None, "error sending request"),
            (None, "client error (Connect)"),
            (None, "dns error"),
            (
                Some(ErrorKind::Other),
                "failed to lookup address information: Name or service not known",
            ),
        ]);
        assert_eq!(classify_chain(false, &dns), DownReason::Dns);
        let tls = chain(&[
            (None, "client error (Connect)"),
            (
                Some(ErrorKind::InvalidData),
                "invalid peer certificate: Expired",
            ),
        ]);
        assert_eq!(classify_chain(false, &tls), DownReason::Tls);
        let refused = chain(&[
            (None, "client error (Connect)"),
            (
                Some(ErrorKind::ConnectionRefused),
                "Connection refused (os error 111)",
            ),
        ]);
        assert_eq!(
            classify_chain(false, &refused),
            DownReason::ConnectionRefused
        );
        assert_eq!(classify_chain(true, &[]), DownReason::Timeout);
        let closed = chain(&[(None, "connection closed before message completed")]);
        assert_eq!(
            classify_chain(false, &closed),
            DownReason::ConnectionDropped
        );
    }

    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    #[tokio::test]
    async fn a_closed_port_is_connection_refused() {
        let http = Http::new(&Env::default()).unwrap();
        let client = client(Duration::from_secs(5)).unwrap();
        let port = free_port(); // bound, then released: nothing listens there now
        let seen = probe(&http, &client, &format!("http://127.0.0.1:{port}"), &[]).await;
        assert_eq!(
            seen.failure.map(|f| f.0),
            Some(DownReason::ConnectionRefused)
        );
        assert_eq!((seen.status, seen.response_ms), (None, None));
    }

    #[tokio::test]
    async fn a_server_that_never_answers_times_out() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let holder = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket); // accepted, never answered
            }
        });
        let http = Http::new(&Env::default()).unwrap();
        let client = client(Duration::from_millis(300)).unwrap();
        let seen = probe(&http, &client, &format!("http://127.0.0.1:{port}/"), &[]).await;
        assert_eq!(seen.failure.map(|f| f.0), Some(DownReason::Timeout));
        holder.abort();
    }
}
