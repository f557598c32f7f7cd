//! rest-json errors: status, `x-amzn-ErrorType`, `x-amzn-RequestId`, body `{"message"}`
//! (`specs/amplify.md §1.5`).

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An AWS error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsError {
    /// HTTP status.
    pub status: u16,
    /// Error type, e.g. `NotFoundException`.
    pub kind: &'static str,
    /// Message.
    pub message: String,
}

impl AwsError {
    /// Any error.
    pub fn new(status: u16, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            message: message.into(),
        }
    }
    /// 400 `BadRequestException`.
    pub fn bad_request(m: impl Into<String>) -> Self {
        Self::new(400, "BadRequestException", m)
    }
    /// 404 `NotFoundException`.
    pub fn not_found(m: impl Into<String>) -> Self {
        Self::new(404, "NotFoundException", m)
    }
    /// 429 `LimitExceededException`.
    pub fn limit(m: impl Into<String>) -> Self {
        Self::new(429, "LimitExceededException", m)
    }
    /// 403 `InvalidSignatureException`.
    pub fn signature(m: impl Into<String>) -> Self {
        Self::new(403, "InvalidSignatureException", m)
    }
}

impl IntoResponse for AwsError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        let mut r = (status, axum::Json(json!({"message": self.message}))).into_response();
        let h = r.headers_mut();
        h.insert("x-amzn-errortype", HeaderValue::from_static(self.kind));
        h.insert(
            "x-amzn-requestid",
            HeaderValue::from_static("00000000-0000-4000-a000-emulatorerror"),
        );
        r
    }
}

/// The result type of Amplify handlers.
pub type AwsResult = Result<Response, AwsError>;
