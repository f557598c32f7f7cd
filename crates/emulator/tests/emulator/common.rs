//! Helpers shared by the emulator's integration tests: start an emulator in-process, talk to
//! it with plain reqwest, fetch deployed sites by Host header.

use reqwest::{Client, Method, Response, StatusCode};
use serde_json::Value;
use sitedrop_emulator::{Config, Emulator};

pub const TOKEN: &str = "sitedrop_test_token";
pub const EXPIRED: &str = "sitedrop_expired_token";
pub const READONLY: &str = "sitedrop_readonly_token";
pub const ACCOUNT: &str = "0123456789abcdef0123456789abcdef";

pub struct Emu {
    pub emu: Emulator,
    pub client: Client,
}

pub async fn start() -> Emu {
    start_with(Config::default()).await
}

pub async fn start_with(config: Config) -> Emu {
    let emu = Emulator::start(config).await.expect("emulator starts");
    let client = Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    Emu { emu, client }
}

impl Emu {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.emu.url())
    }

    pub fn req(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.url(path))
    }

    pub fn authed(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.req(method, path).bearer_auth(TOKEN)
    }

    /// GET `path` of the site at `host` (e.g. `abc.proj.pages.dev`).
    pub async fn site(
        &self,
        host: &str,
        path: &str,
    ) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
        let r = self
            .client
            .get(self.url(path))
            .header("host", host)
            .send()
            .await
            .expect("site request");
        let status = r.status();
        let headers = r.headers().clone();
        (
            status,
            headers,
            r.bytes().await.expect("site body").to_vec(),
        )
    }

    pub async fn control(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let mut r = self.req(method, path);
        if let Some(b) = body {
            r = r.json(&b);
        }
        r.send()
            .await
            .expect("control")
            .json()
            .await
            .expect("control json")
    }
}

/// Status and JSON body.
pub async fn json(r: Response) -> (StatusCode, Value) {
    let s = r.status();
    let text = r.text().await.expect("body");
    let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (s, v)
}

/// The host of an `https://host/...` URL.
pub fn host_of(url: &str) -> String {
    url.trim_start_matches("https://")
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or("")
        .to_string()
}

pub fn sha1_hex(b: &[u8]) -> String {
    use sha1::Digest;
    hex::encode(sha1::Sha1::digest(b))
}

/// One multipart part: name, optional filename, optional Content-Type, bytes.
pub type Part<'a> = (&'a str, Option<&'a str>, Option<&'a str>, Vec<u8>);

/// A `multipart/form-data` body shaped like undici's (`specs/cloudflare.md §1.3`).
pub fn multipart(parts: &[Part<'_>]) -> (String, Vec<u8>) {
    let boundary = "----formdata-undici-012345678901";
    let mut body = Vec::new();
    for (name, filename, ct, data) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match filename {
            Some(f) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\n")
                    .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n").as_bytes(),
            ),
        }
        if let Some(ct) = ct {
            body.extend_from_slice(format!("Content-Type: {ct}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// `hex(BLAKE3(base64(bytes) ‖ ext))[..32]`, written here from `specs/cloudflare.md §2`.
pub fn cf_hash(bytes: &[u8], ext: &str) -> String {
    use base64::Engine;
    let mut h = blake3::Hasher::new();
    h.update(
        base64::engine::general_purpose::STANDARD
            .encode(bytes)
            .as_bytes(),
    );
    h.update(ext.as_bytes());
    hex::encode(&h.finalize().as_bytes()[..16])
}

/// Decodes the payload (middle segment) of a JWT.
pub fn jwt_payload(jwt: &str) -> Value {
    use base64::Engine;
    let mid = jwt.split('.').nth(1).expect("three segments");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(mid)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("json payload")
}
