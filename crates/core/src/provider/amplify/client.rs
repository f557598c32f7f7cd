//! Signed rest-json calls to the Amplify control plane, and its errors in words
//! (`specs/amplify.md` §1.1, §1.3, §1.5).

use std::time::SystemTime;

use bytes::Bytes;
use reqwest::header::{HeaderValue, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::signing::{sign_request, Unsigned};
use super::Op;
use crate::error::{Error, Result};
use crate::http::{body_preview, shorten};
use crate::platform::Platform;
use crate::provider::api::{self, Answer, Dialect};
use crate::provider::Cx;
use crate::retry::retry_at;
use crate::secrets::AwsCredentials;

const P: Platform = Platform::Amplify;

/// Every IAM permission Sitedrop uses, for "lacks a permission" sentences.
pub const PERMISSIONS: &str = "amplify:ListApps, amplify:GetApp, amplify:CreateApp, amplify:GetBranch, amplify:CreateBranch, amplify:DeleteBranch, amplify:ListJobs, amplify:StopJob, amplify:GetJob, amplify:CreateDeployment and amplify:StartDeployment";

/// Characters left as they are in a path label or a query value: RFC 3986 unreserved
/// (§1.1 "Path labels and query", §2.1 "Canonical query").
const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// One path label (`feature/x y` → `feature%2Fx%20y`).
pub fn label(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, UNRESERVED).to_string()
}

/// How Amplify requests are signed (SigV4 over the method, URL, host and body, §2) and what
/// its refusals mean (§1.5).
#[derive(Clone)]
pub struct Signer {
    /// The `Host` header the HTTP client sends for the base (what the signature covers).
    host: String,
    credentials: AwsCredentials,
}

impl Signer {
    /// The access key id's last four characters, to name the keys without showing them.
    fn key_tail(&self) -> String {
        let id = self.credentials.access_key_id.trim();
        id[id.len().saturating_sub(4)..].to_string()
    }
}

impl Dialect for Signer {
    /// The operation, for error sentences and IAM permission names.
    type Call = Op;

    fn platform(&self) -> Platform {
        P
    }

    /// Signs afresh on every attempt: a signature is good for minutes, a retry may come later.
    fn authorize(&self, request: &mut reqwest::Request) -> Result<()> {
        let body = request
            .body()
            .and_then(reqwest::Body::as_bytes)
            .unwrap_or_default()
            .to_vec();
        let content_type = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let headers = sign_request(
            &Unsigned {
                method: request.method().as_str(),
                url: request.url().as_str(),
                host: &self.host,
                content_type: content_type.as_deref(),
                body: &body,
            },
            &self.credentials,
            &self.credentials.region,
            SystemTime::now(),
        )
        .map_err(Error::Invalid)?;
        for (name, value) in headers {
            let value = HeaderValue::from_str(&value)
                .map_err(|_| Error::Internal(format!("the {name} header could not be made")))?;
            request.headers_mut().insert(name, value);
        }
        Ok(())
    }

    fn error(&self, answer: &Answer, op: Op) -> Error {
        AwsFailure::parse(answer.status, &answer.headers, &answer.body).into_error(
            op,
            &self.credentials.region,
            &self.key_tail(),
            &answer.headers,
        )
    }

    fn parse<T: DeserializeOwned>(&self, answer: &Answer, op: Op) -> Result<T> {
        serde_json::from_slice(&answer.body).map_err(|e| Error::BadResponse {
            platform: P,
            detail: format!(
                "{}: HTTP {}: {}{}",
                op.name(),
                answer.status.as_u16(),
                // CreateDeployment's answer carries the presigned upload URL, a credential:
                // never quote it.
                if op == Op::CreateDeployment {
                    "an answer that is not the expected JSON".to_string()
                } else {
                    body_preview(&answer.body)
                },
                if e.is_eof() { " (cut off)" } else { "" }
            ),
        })
    }
}

/// The Amplify API at one endpoint, signing with one set of keys.
#[derive(Clone)]
pub struct Client {
    api: api::Client<Signer>,
}

impl Client {
    pub fn new(base: String, credentials: AwsCredentials) -> Result<Client> {
        let parsed = url::Url::parse(&base).map_err(|_| {
            Error::Invalid(format!(
                "The AWS Amplify address \"{base}\" is not a valid URL. Check AWS_ENDPOINT_URL_AMPLIFY."
            ))
        })?;
        let host = match (parsed.host_str(), parsed.port()) {
            (Some(h), Some(port)) => format!("{h}:{port}"),
            (Some(h), None) => h.to_string(),
            (None, _) => {
                return Err(Error::Invalid(format!(
                "The AWS Amplify address \"{base}\" has no host. Check AWS_ENDPOINT_URL_AMPLIFY."
            )))
            }
        };
        Ok(Client {
            api: api::Client::new(base, Signer { host, credentials }),
        })
    }

    pub fn region(&self) -> &str {
        &self.api.dialect.credentials.region
    }

    /// The access key id's last four characters, to name the keys without showing them.
    pub fn key_tail(&self) -> String {
        self.api.dialect.key_tail()
    }

    /// One call, retried by the engine's policy (each attempt signed afresh). `path` is
    /// already made of encoded labels; `query` pairs are encoded here.
    pub async fn call<T: DeserializeOwned>(
        &self,
        cx: &Cx,
        op: Op,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&impl Serialize>,
    ) -> Result<T> {
        let body = json_body(body)?;
        self.api
            .call_as(cx, op, method, &with_labels(path, query), body)
            .await
    }

    /// One call, one attempt: for a request that must not simply be repeated (CreateApp).
    pub async fn call_once<T: DeserializeOwned>(
        &self,
        cx: &Cx,
        op: Op,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&impl Serialize>,
    ) -> Result<T> {
        let body = json_body(body)?;
        self.api
            .call_once_as(cx, op, method, &with_labels(path, query), body)
            .await
    }
}

/// A request body as JSON.
fn json_body(body: Option<&impl Serialize>) -> Result<Option<Bytes>> {
    body.map(|b| {
        serde_json::to_vec(b)
            .map(Bytes::from)
            .map_err(|e| Error::Internal(e.to_string()))
    })
    .transpose()
}

/// `path?k=v&…` with keys and values encoded as labels: the canonical query SigV4 signs
/// (§2.1), which the form encoding other platforms use is not.
fn with_labels(path: &str, query: &[(&str, &str)]) -> String {
    if query.is_empty() {
        return path.to_string();
    }
    let q: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{}={}", label(k), label(v)))
        .collect();
    format!("{path}?{}", q.join("&"))
}

/// An AWS error answer: its code and message (botocore's reading, §1.5 "Parsing").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsFailure {
    pub status: u16,
    pub code: String,
    pub message: String,
}

#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(alias = "Message")]
    message: Option<String>,
    #[serde(alias = "Code")]
    code: Option<String>,
    #[serde(rename = "__type")]
    kind: Option<String>,
}

impl AwsFailure {
    pub fn parse(status: StatusCode, headers: &reqwest::header::HeaderMap, body: &[u8]) -> Self {
        let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
        let raw = headers
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .or(parsed.code)
            .or(parsed.kind)
            .unwrap_or_default();
        // `NotFoundException:http://internal.amazon.com/…` and `aws.protocols#Foo`.
        let code = raw.split(':').next().unwrap_or("");
        let code = code.rsplit('#').next().unwrap_or(code).trim().to_string();
        let message = parsed
            .message
            .filter(|m| !m.trim().is_empty())
            .unwrap_or_else(|| body_preview(body));
        AwsFailure {
            status: status.as_u16(),
            code,
            message,
        }
    }

    /// The sentence for this failure of `op`. Messages are AWS's own words, which never
    /// carry the secret (the emulator's signature-mismatch text quotes the canonical
    /// request, which holds the session token, so that text is not repeated).
    pub fn into_error(
        self,
        op: Op,
        region: &str,
        key_tail: &str,
        headers: &reqwest::header::HeaderMap,
    ) -> Error {
        let message = shorten(self.message.trim(), 300);
        let first_line = message.lines().next().unwrap_or("").trim().to_string();
        match self.code.as_str() {
            "UnrecognizedClientException" | "InvalidClientTokenId" => Error::TokenInvalid {
                platform: P,
                detail: format!(
                    "AWS does not recognise the access key id ending in {key_tail} (or its session token). Check the access key id, and with temporary keys that AWS_SESSION_TOKEN belongs to them"
                ),
            },
            "InvalidSignatureException" | "SignatureDoesNotMatch"
                if first_line.contains("scoped to a valid region") =>
            {
                Error::Invalid(format!(
                    "AWS Amplify refused requests signed for the region \"{region}\" (\"{}\"). Choose a region where Amplify runs and your apps live (for example us-east-1); with AWS_ENDPOINT_URL_AMPLIFY set, it must be that endpoint's region.",
                    first_line.trim_end()
                ))
            }
            "InvalidSignatureException" | "SignatureDoesNotMatch"
                if first_line.starts_with("Signature expired")
                    || first_line.starts_with("Signature not yet current") =>
            {
                Error::Invalid(format!(
                    "AWS Amplify refused the request because this computer's clock is more than 15 minutes off{}. Set the clock right (turn on automatic time), then try again.",
                    server_time(headers).map(|t| format!(" (AWS's time is {t})")).unwrap_or_default()
                ))
            }
            "InvalidSignatureException" | "SignatureDoesNotMatch" => Error::TokenInvalid {
                platform: P,
                detail: "the request signature did not match (InvalidSignatureException). Check the secret access key; if it is right, check this computer's clock".into(),
            },
            // AWS's text here may quote the Authorization header: name the code only.
            "IncompleteSignatureException" | "MissingAuthenticationTokenException" => {
                Error::Rejected {
                    platform: P,
                    detail: format!(
                        "{} was refused as not properly signed ({})",
                        op.name(),
                        self.code
                    ),
                }
            }
            "ExpiredTokenException" | "ExpiredToken" | "RequestExpired" => {
                Error::TokenExpired { platform: P }
            }
            "AccessDeniedException" | "AccessDenied" | "UnauthorizedException" => {
                let named = first_line
                    .split("perform: ")
                    .nth(1)
                    .and_then(|s| s.split_whitespace().next())
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("amplify:{}", op.name()));
                Error::PermissionMissing {
                    platform: P,
                    permission: format!(
                        "{named} (the IAM policy of the key ending in {key_tail} must allow it; Sitedrop uses {PERMISSIONS})"
                    ),
                }
            }
            // Find-or-create code relies on this variant. The name is AWS's own words
            // without its "not found" tail ("App d1x2" rather than "App d1x2 not found").
            "NotFoundException" | "ResourceNotFoundException" => Error::NotFound {
                platform: P,
                what: op.object(),
                name: first_line
                    .trim_end_matches('.')
                    .trim_end_matches(" not found")
                    .trim_end_matches(" does not exist")
                    .to_string(),
            },
            "LimitExceededException" => match op {
                Op::CreateApp => Error::LimitExceeded {
                    platform: P,
                    detail: format!(
                        "every app this account may have in {region} exists already ({first_line}). Amplify allows 25 per region by default: delete an app you no longer need, ask AWS for a higher quota, or choose another region"
                    ),
                },
                Op::CreateBranch => Error::LimitExceeded {
                    platform: P,
                    detail: format!(
                        "this app has the most branches Amplify allows (50; {first_line}). Delete branches you no longer need in the Amplify console"
                    ),
                },
                Op::StartDeployment | Op::CreateDeployment => Error::LimitExceeded {
                    platform: P,
                    detail: format!(
                        "too many deploys are running in {region} at once ({first_line}; 5 by default). Wait for them to finish, then deploy again"
                    ),
                },
                // On reads, LimitExceeded means throttling: back off (§1.3 GetJob).
                _ => Error::RateLimited {
                    platform: P,
                    retry_at: retry_at(headers, SystemTime::now()),
                },
            },
            "ThrottlingException" | "TooManyRequestsException" | "Throttling" => {
                Error::RateLimited {
                    platform: P,
                    retry_at: retry_at(headers, SystemTime::now()),
                }
            }
            "InternalFailureException" | "DependentServiceFailureException" | "ServiceUnavailable" => {
                Error::Server {
                    platform: P,
                    detail: format!("{}: {first_line}", self.code),
                }
            }
            _ => match self.status {
                429 => Error::RateLimited {
                    platform: P,
                    retry_at: retry_at(headers, SystemTime::now()),
                },
                408 | 500..=599 => Error::Server {
                    platform: P,
                    detail: format!("HTTP {}: {first_line}", self.status),
                },
                _ => Error::Rejected {
                    platform: P,
                    detail: format!(
                        "{} ({}): {first_line}",
                        op.name(),
                        if self.code.is_empty() {
                            format!("HTTP {}", self.status)
                        } else {
                            self.code.clone()
                        }
                    ),
                },
            },
        }
    }
}

/// The server's clock from its `Date` header, for the clock-skew sentence.
fn server_time(headers: &reqwest::header::HeaderMap) -> Option<String> {
    let date = headers.get("date")?.to_str().ok()?;
    httpdate::parse_http_date(date).ok()?;
    Some(date.to_string())
}

// ---- the shapes Sitedrop reads (§1.3); unknown members are ignored -------------------------

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct App {
    pub app_id: String,
    pub name: String,
    #[serde(default)]
    pub repository: Option<String>,
    pub default_domain: String,
}

#[derive(Debug, Deserialize)]
pub struct AppOut {
    pub app: App,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppsOut {
    pub apps: Vec<App>,
    #[serde(default)]
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Branch {
    pub branch_name: String,
    pub display_name: String,
}

#[derive(Debug, Deserialize)]
pub struct BranchOut {
    pub branch: Branch,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobSummary {
    pub job_id: String,
    pub status: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobsOut {
    pub job_summaries: Vec<JobSummary>,
}

/// StartDeployment's answer: read to check its shape, not used further.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobSummaryOut {
    #[allow(dead_code)]
    pub job_summary: JobSummary,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    #[serde(default)]
    pub status_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Job {
    pub summary: JobSummary,
    #[serde(default)]
    pub steps: Vec<Step>,
}

#[derive(Debug, Deserialize)]
pub struct JobOut {
    pub job: Job,
}

/// CreateDeployment's answer. `zipUploadUrl` is a credential (a presigned URL), read straight
/// into a [`Secret`](crate::secrets::Secret).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentOut {
    #[serde(default)]
    pub job_id: Option<String>,
    pub zip_upload_url: crate::secrets::Secret,
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    fn failure(status: u16, kind: &str, message: &str) -> Error {
        let mut h = HeaderMap::new();
        h.insert("x-amzn-errortype", HeaderValue::from_str(kind).unwrap());
        let body = serde_json::json!({ "message": message }).to_string();
        AwsFailure::parse(StatusCode::from_u16(status).unwrap(), &h, body.as_bytes()).into_error(
            Op::CreateDeployment,
            "eu-west-1",
            "TEST",
            &h,
        )
    }

    #[test]
    fn error_codes_are_cut_like_botocore_does() {
        let mut h = HeaderMap::new();
        h.insert(
            "x-amzn-errortype",
            HeaderValue::from_static(
                "NotFoundException:http://internal.amazon.com/coral/com.amazonaws.amplify/",
            ),
        );
        let f = AwsFailure::parse(
            StatusCode::NOT_FOUND,
            &h,
            br#"{"message":"Job 1 not found"}"#,
        );
        assert_eq!(
            (f.code.as_str(), f.message.as_str()),
            ("NotFoundException", "Job 1 not found")
        );
        let f = AwsFailure::parse(
            StatusCode::BAD_REQUEST,
            &HeaderMap::new(),
            br#"{"__type":"com.amazon.coral#ThrottlingException","Message":"slow"}"#,
        );
        assert_eq!(
            (f.code.as_str(), f.message.as_str()),
            ("ThrottlingException", "slow")
        );
    }

    #[test]
    fn failures_become_the_right_sentences() {
        let e = failure(
            403,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        );
        assert_eq!(e.kind(), "token_invalid");
        assert!(e.to_string().contains("ending in TEST"), "{e}");

        let e = failure(403, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided.\n\nThe Canonical String for this request should have been\n'x-amz-security-token:SECRET'");
        assert_eq!(e.kind(), "token_invalid");
        let text = e.to_string();
        assert!(
            text.contains("secret access key") && text.contains("clock"),
            "{text}"
        );
        assert!(!text.contains("SECRET"), "{text}");

        let e = failure(
            403,
            "InvalidSignatureException",
            "Credential should be scoped to a valid region, not 'eu-west-1'. ",
        );
        assert_eq!(e.kind(), "invalid");
        assert!(e.to_string().contains("region \"eu-west-1\""), "{e}");

        let e = failure(
            403,
            "InvalidSignatureException",
            "Signature expired: 20150830T123600Z is now earlier than …",
        );
        assert!(e.to_string().contains("clock"), "{e}");

        let e = failure(403, "AccessDeniedException", "User: arn:aws:iam::1:user/x is not authorized to perform: amplify:CreateDeployment on resource: arn:…");
        assert_eq!(e.kind(), "permission_missing");
        assert!(
            e.to_string()
                .contains("amplify:CreateDeployment (the IAM policy"),
            "{e}"
        );

        assert_eq!(
            failure(429, "LimitExceededException", "x").kind(),
            "limit_exceeded"
        );
        assert_eq!(
            failure(500, "InternalFailureException", "x").kind(),
            "server_error"
        );
        assert_eq!(
            failure(403, "ExpiredTokenException", "x").kind(),
            "token_expired"
        );
        assert_eq!(failure(400, "BadRequestException", "x").kind(), "rejected");
    }

    #[test]
    fn labels_are_encoded_once_for_the_wire() {
        assert_eq!(label("feature/x y"), "feature%2Fx%20y");
        assert_eq!(label("main"), "main");
        assert_eq!(label("a+b=c"), "a%2Bb%3Dc");
    }
}
