//! The HTTP dialect every platform API shares, written once: a request against the API's
//! base, signed the platform's way, sent through the one client, the answer read whole, an
//! unsuccessful one turned into an [`Error`] by the platform's own reading, a successful one
//! parsed as JSON, and the call repeated by the one retry policy ([`crate::retry`]).
//!
//! A platform gives only what is its own ([`Dialect`]): how it signs a request and what its
//! refusals mean. (The split follows object_store's `client/` layer, where each cloud adds
//! its credentials and error reading to one retrying request path.)

use bytes::Bytes;
use reqwest::header::{HeaderMap, CONTENT_TYPE};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;

use super::Cx;
use crate::error::{Error, Result};
use crate::http::{network_error, parse_json};
use crate::platform::Platform;
use crate::retry::retry;

/// An answer, read whole.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The path asked for, relative to the API base, without the query (`/sites/abc`).
    pub path: String,
    /// The path of the URL that answered (after any redirect), from the host on.
    pub url_path: String,
}

/// What is particular to one platform's API.
pub(crate) trait Dialect: Send + Sync {
    /// What reading a refusal needs besides the answer: Amplify's operation, or `()` where
    /// the path says enough.
    type Call: Copy + Send + Sync;

    fn platform(&self) -> Platform;

    /// Signs a request just before it is sent (its body is final, for signatures that
    /// cover it) and adds what every request to this API carries.
    fn authorize(&self, request: &mut reqwest::Request) -> Result<()>;

    /// An unsuccessful answer in words.
    fn error(&self, answer: &Answer, call: Self::Call) -> Error;

    /// A successful answer as `T`; garbage is a (retryable) bad answer.
    fn parse<T: DeserializeOwned>(&self, answer: &Answer, _call: Self::Call) -> Result<T> {
        parse_json(self.platform(), answer.status, &answer.body)
    }
}

/// One API: its base URL and its dialect (which holds the credentials).
#[derive(Clone)]
pub(crate) struct Client<D> {
    base: String,
    pub dialect: D,
}

impl<D: Dialect> Client<D> {
    pub fn new(base: String, dialect: D) -> Client<D> {
        Client {
            base: base.trim_end_matches('/').to_string(),
            dialect,
        }
    }

    /// The same API, spoken another way (another token, another signer).
    pub fn with_dialect<E: Dialect>(&self, dialect: E) -> Client<E> {
        Client {
            base: self.base.clone(),
            dialect,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request for `path`, to be sent with [`Client::exchange`] or [`Client::send`] (which
    /// sign it).
    pub fn request(&self, cx: &Cx, method: Method, path: &str) -> RequestBuilder {
        cx.http.client().request(method, self.url(path))
    }

    /// Signs and sends one request and reads the whole answer, whatever its status. Only a
    /// transport failure is an error here.
    pub async fn exchange(&self, request: RequestBuilder) -> Result<Answer> {
        let platform = self.dialect.platform();
        let (client, request) = request.build_split();
        let mut request = request.map_err(|e| network_error(platform, &e))?;
        self.dialect.authorize(&mut request)?;
        let path = self.relative(request.url());
        let response = client
            .execute(request)
            .await
            .map_err(|e| network_error(platform, &e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let url_path = response.url().path().to_string();
        let body = response
            .bytes()
            .await
            .map_err(|e| network_error(platform, &e))?;
        Ok(Answer {
            status,
            headers,
            body,
            path,
            url_path,
        })
    }

    /// One attempt: the successful answer, or the dialect's reading of the refusal.
    pub async fn send_as(&self, request: RequestBuilder, call: D::Call) -> Result<Answer> {
        let answer = self.exchange(request).await?;
        if answer.status.is_success() {
            Ok(answer)
        } else {
            Err(self.dialect.error(&answer, call))
        }
    }

    /// One JSON call, one attempt: for a request that must not simply be repeated. `path`
    /// carries any query, encoded ([`with_query`]); `body` is JSON.
    pub async fn call_once_as<T: DeserializeOwned>(
        &self,
        cx: &Cx,
        call: D::Call,
        method: Method,
        path: &str,
        body: Option<Bytes>,
    ) -> Result<T> {
        let mut request = self.request(cx, method, path);
        if let Some(body) = body {
            request = request.header(CONTENT_TYPE, "application/json").body(body);
        }
        let answer = self.send_as(request, call).await?;
        self.dialect.parse(&answer, call)
    }

    /// One JSON call, retried by the engine's policy (429 and 5xx honouring the platform's
    /// wait, dropped connections, garbled answers; each attempt signed afresh).
    pub async fn call_as<T: DeserializeOwned>(
        &self,
        cx: &Cx,
        call: D::Call,
        method: Method,
        path: &str,
        body: Option<Bytes>,
    ) -> Result<T> {
        retry(&cx.retry, &cx.cancel, |_| {
            self.call_once_as(cx, call, method.clone(), path, body.clone())
        })
        .await
    }
}

/// The same calls for dialects whose refusals need nothing but the answer to be read.
impl<D: Dialect<Call = ()>> Client<D> {
    /// [`Client::send_as`].
    pub async fn send(&self, request: RequestBuilder) -> Result<Answer> {
        self.send_as(request, ()).await
    }

    /// [`Client::call_once_as`].
    pub async fn call_once<T: DeserializeOwned>(
        &self,
        cx: &Cx,
        method: Method,
        path: &str,
        body: Option<Bytes>,
    ) -> Result<T> {
        self.call_once_as(cx, (), method, path, body).await
    }

    /// [`Client::call_as`], with a JSON document for the body.
    pub async fn call<T: DeserializeOwned>(
        &self,
        cx: &Cx,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<T> {
        let body = body.map(|b| Bytes::from(b.to_string()));
        self.call_as(cx, (), method, path, body).await
    }

    /// A GET whose 404 means "there is none" rather than a failure.
    pub async fn get_opt<T: DeserializeOwned>(&self, cx: &Cx, path: &str) -> Result<Option<T>> {
        match self.call(cx, Method::GET, path, None).await {
            Ok(value) => Ok(Some(value)),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A call whose answer has no body worth reading (`204 No Content`), retried.
    pub async fn call_empty(&self, cx: &Cx, method: Method, path: &str) -> Result<()> {
        retry(&cx.retry, &cx.cancel, |_| async {
            self.send(self.request(cx, method.clone(), path))
                .await
                .map(drop)
        })
        .await
    }
}

impl<D> Client<D> {
    /// `url`'s path below the base (`/api/v1/sites/x` → `/sites/x` for a base ending in
    /// `/api/v1`), for error messages that name what was asked for.
    fn relative(&self, url: &url::Url) -> String {
        let base_path = url::Url::parse(&self.base)
            .map(|b| b.path().trim_end_matches('/').to_string())
            .unwrap_or_default();
        let path = url.path();
        path.strip_prefix(base_path.as_str())
            .filter(|p| p.starts_with('/'))
            .unwrap_or(path)
            .to_string()
    }
}

/// A path with its query, each value percent-encoded as a URL query value.
pub(crate) fn with_query(path: &str, query: &[(&str, &str)]) -> String {
    if query.is_empty() {
        return path.to_string();
    }
    let encoded: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(query)
        .finish();
    format!("{path}?{encoded}")
}

/// Sets a header unless the request already has one.
pub(crate) fn default_header(
    request: &mut reqwest::Request,
    name: reqwest::header::HeaderName,
    value: &'static str,
) {
    request
        .headers_mut()
        .entry(name)
        .or_insert(reqwest::header::HeaderValue::from_static(value));
}

/// Adds `Authorization: Bearer <token>`, marked sensitive so it never shows in debug output.
pub(crate) fn bearer(
    platform: Platform,
    request: &mut reqwest::Request,
    token: &crate::secrets::Secret,
) -> Result<()> {
    let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {}", token.expose()))
        .map_err(|_| Error::TokenInvalid {
        platform,
        detail: "it contains characters a token never has".into(),
    })?;
    value.set_sensitive(true);
    request
        .headers_mut()
        .insert(reqwest::header::AUTHORIZATION, value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_encoded_as_form_values() {
        assert_eq!(with_query("/sites", &[]), "/sites");
        assert_eq!(
            with_query("/sites", &[("name", "a b&c"), ("page", "2")]),
            "/sites?name=a+b%26c&page=2"
        );
    }
}
