//! The Cloudflare v4 envelope `{success, errors, messages, result}` (`specs/cloudflare.md §1.5`)
//! and its error objects (§7).

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// Emulator-chosen codes where the real ones are unconfirmed (`specs/cloudflare.md §10`).
pub mod codes {
    /// The request body is not what the route expects.
    pub const INVALID_BODY: u32 = 8000096;
    /// A file is over the 25 MiB limit.
    pub const FILE_TOO_LARGE: u32 = 8000097;
    /// More files than the plan allows.
    pub const TOO_MANY_FILES: u32 = 8000098;
    /// A manifest names a hash that was never uploaded.
    pub const MISSING_ASSET: u32 = 8000099;
    /// Uploaded contents do not hash to their key for the manifest path's extension.
    pub const HASH_MISMATCH: u32 = 8000100;
    /// Pages upload JWT missing or invalid (real code, §7).
    pub const JWT_UNAUTHORIZED: u32 = 8000013;
}

/// A failed API answer: HTTP status plus `errors[0]`.
#[derive(Debug, Clone)]
pub struct CfError {
    /// HTTP status.
    pub status: StatusCode,
    /// Cloudflare error code.
    pub code: u32,
    /// Message.
    pub message: String,
    /// Optional `error_chain`.
    pub chain: Vec<(u32, String)>,
    /// `Retry-After` seconds, for 429.
    pub retry_after: Option<u64>,
}

impl CfError {
    /// An error with `status`, `code` and `message`.
    pub fn new(status: u16, code: u32, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            code,
            message: message.into(),
            chain: Vec::new(),
            retry_after: None,
        }
    }

    /// 400 with [`codes::INVALID_BODY`]: the request body is not what the route expects.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, codes::INVALID_BODY, message)
    }

    /// Unknown route: 404 code 7003 with the real wording (§6).
    pub fn no_route(path: &str) -> Self {
        Self::new(
            404,
            7003,
            format!("Could not route to {path}, perhaps your object identifier is invalid?"),
        )
    }
}

impl IntoResponse for CfError {
    fn into_response(self) -> Response {
        let mut e = json!({"code": self.code, "message": self.message});
        if !self.chain.is_empty() {
            e["error_chain"] = Value::Array(
                self.chain
                    .iter()
                    .map(|(c, m)| json!({"code": c, "message": m}))
                    .collect(),
            );
        }
        let mut resp = (
            self.status,
            axum::Json(json!({"success": false, "errors": [e], "messages": [], "result": null})),
        )
            .into_response();
        if let Some(s) = self.retry_after {
            resp.headers_mut()
                .insert("retry-after", HeaderValue::from(s));
        }
        resp
    }
}

/// The result type of Cloudflare handlers.
pub type CfResult = Result<Response, CfError>;

/// `200 {"success":true, "result": result}`.
pub fn ok(result: Value) -> CfResult {
    ok_status(StatusCode::OK, result)
}

/// A successful envelope with another status (e.g. 201 for the completing Workers upload).
pub fn ok_status(status: StatusCode, result: Value) -> CfResult {
    Ok((
        status,
        axum::Json(json!({"success": true, "errors": [], "messages": [], "result": result})),
    )
        .into_response())
}

/// A paged list with `result_info {page, per_page, count, total_count, total_pages}`.
pub fn ok_list(items: Vec<Value>, page: usize, per_page: usize) -> CfResult {
    let total = items.len();
    let per_page = per_page.max(1);
    let page = page.max(1);
    let slice: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    let info = json!({
        "page": page,
        "per_page": per_page,
        "count": slice.len(),
        "total_count": total,
        "total_pages": total.div_ceil(per_page),
    });
    Ok(axum::Json(json!({
        "success": true, "errors": [], "messages": [], "result": slice, "result_info": info
    }))
    .into_response())
}
