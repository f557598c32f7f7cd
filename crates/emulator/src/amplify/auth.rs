//! SigV4 verification of Amplify API requests, with AWS's front-door refusals
//! (`specs/amplify.md §1.5`, §2.1, §3.2 "SigV4 check").

use axum::http::HeaderMap;

use super::error::AwsError;
use super::sigv4::{self, Request};
use crate::util::time::{amz_date, parse_amz_date};
use crate::App;

/// The caller, once verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Access key id.
    pub access_key: String,
    /// May only read (the built-in read-only key).
    pub read_only: bool,
}

/// Verifies the `Authorization` header of an API request against its exact bytes.
pub fn verify(
    app: &App,
    method: &str,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
    now_secs: u64,
) -> Result<Caller, AwsError> {
    let Some(auth) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return Err(AwsError::new(
            403,
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        ));
    };
    let parsed = sigv4::parse_authorization(auth)
        .map_err(|e| AwsError::new(403, "IncompleteSignatureException", e.0))?;
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    let Some(date) = header("x-amz-date") else {
        return Err(AwsError::new(
            403,
            "IncompleteSignatureException",
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        ));
    };
    let t = parse_amz_date(date).ok_or_else(|| {
        AwsError::new(
            403,
            "IncompleteSignatureException",
            format!("Invalid X-Amz-Date {date}"),
        )
    })?;
    if !date.starts_with(&parsed.date) {
        return Err(AwsError::signature(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', from '{date}'.",
            parsed.date,
            &date[..8]
        )));
    }
    let skew = app.knobs().amplify_clock_skew_secs;
    if t + skew < now_secs {
        return Err(AwsError::signature(format!(
            "Signature expired: {date} is now earlier than {} ({} - {} min.)",
            amz_date((now_secs - skew) * 1000),
            amz_date(now_secs * 1000),
            skew / 60
        )));
    }
    if t > now_secs + skew {
        return Err(AwsError::signature(format!(
            "Signature not yet current: {date} is still later than {} ({} + {} min.)",
            amz_date((now_secs + skew) * 1000),
            amz_date(now_secs * 1000),
            skew / 60
        )));
    }
    if parsed.service != "amplify" {
        return Err(AwsError::signature(
            "Credential should be scoped to correct service: 'amplify'. ",
        ));
    }
    if parsed.region != app.config.aws_region {
        return Err(AwsError::signature(format!(
            "Credential should be scoped to a valid region, not '{}'. ",
            parsed.region
        )));
    }
    let invalid_token = || {
        AwsError::new(
            403,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        )
    };
    let Some(cred) = app
        .config
        .aws_credentials
        .iter()
        .find(|c| c.access_key_id == parsed.access_key)
    else {
        return Err(invalid_token());
    };
    let token = header("x-amz-security-token");
    if token.is_some_and(|t| t == app.config.expired_token) {
        return Err(AwsError::new(
            403,
            "ExpiredTokenException",
            "The security token included in the request is expired",
        ));
    }
    if token != cred.session_token.as_deref() {
        return Err(invalid_token());
    }
    if !parsed.signed_headers.iter().any(|h| h == "host") {
        return Err(AwsError::signature(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        ));
    }
    if token.is_some()
        && !parsed
            .signed_headers
            .iter()
            .any(|h| h == "x-amz-security-token")
    {
        return Err(AwsError::signature(
            "'X-Amz-Security-Token' must be a 'SignedHeader' in the AWS Authorization.",
        ));
    }
    let all: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body_hash = sigv4::sha256_hex(body);
    let payload = match header("x-amz-content-sha256") {
        Some(h) if h != body_hash => {
            return Err(AwsError::new(
                400,
                "BadRequestException",
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
            ));
        }
        _ => body_hash,
    };
    let req = Request {
        method,
        path,
        query,
        headers: &all,
        payload_hash: &payload,
    };
    let canonical = sigv4::canonical_request(&req, &parsed.signed_headers, true, None)
        .map_err(|e| AwsError::signature(format!("The request signature we calculated does not match the signature you provided: {e}")))?;
    let scope = format!(
        "{}/{}/{}/aws4_request",
        parsed.date, parsed.region, parsed.service
    );
    let sts = sigv4::string_to_sign(date, &scope, &canonical);
    let key = sigv4::signing_key(
        &cred.secret_access_key,
        &parsed.date,
        &parsed.region,
        &parsed.service,
    );
    let expected = sigv4::signature(&key, &sts);
    if !sigv4::same(&expected, &parsed.signature) {
        return Err(AwsError::signature(format!(
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.\n\nThe Canonical String for this request should have been\n'{canonical}'\n\nThe String-to-Sign should have been\n'{sts}'\n"
        )));
    }
    Ok(Caller {
        read_only: cred.access_key_id == crate::config::READONLY_AWS_KEY,
        access_key: cred.access_key_id.clone(),
    })
}
