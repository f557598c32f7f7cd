//! SigV4 for the Amplify control plane, through the official `aws-sigv4` crate
//! (`specs/amplify.md` §2.1, §2.3).
//!
//! What is signed, exactly: `host`, `content-type` when there is a body, `x-amz-date`, and
//! `x-amz-security-token` with temporary credentials — the headers botocore signs (§2.1).
//! The crate's default settings give the rest of §2.1: double-encoded, normalised canonical
//! URI; no `x-amz-content-sha256`; the session token added before signing and signed.
//! Headers the HTTP client adds later (`content-length`, `user-agent`, `accept`) are not
//! signed, which AWS accepts. Every attempt is signed afresh with the current time.

use std::time::SystemTime;

use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;

use crate::secrets::AwsCredentials;

/// The signing name of Amplify (`signingName` in the service model, §1.1).
pub const SERVICE: &str = "amplify";

/// One request to sign. `url` is exactly what goes on the wire (labels already
/// percent-encoded, query already RFC 3986-encoded); `host` is the `Host` header the client
/// will send for it.
pub struct Unsigned<'a> {
    pub method: &'a str,
    pub url: &'a str,
    pub host: &'a str,
    pub content_type: Option<&'a str>,
    pub body: &'a [u8],
}

/// The headers to add to the request: `x-amz-date`, `authorization`, and with temporary
/// credentials `x-amz-security-token`. The values carry credential material (the token, the
/// signature): they go on the wire and nowhere else.
pub fn sign_request(
    request: &Unsigned<'_>,
    credentials: &AwsCredentials,
    region: &str,
    time: SystemTime,
) -> Result<Vec<(&'static str, String)>, String> {
    let identity: Identity = aws_credential_types::Credentials::new(
        credentials.access_key_id.trim(),
        credentials.secret_access_key.expose(),
        credentials
            .session_token
            .as_ref()
            .map(|t| t.expose().to_string()),
        None,
        "sitedrop",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(SERVICE)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| format!("could not prepare the signature: {e}"))?
        .into();
    let mut headers = vec![("host", request.host)];
    if let Some(ct) = request.content_type {
        headers.push(("content-type", ct));
    }
    let signable = SignableRequest::new(
        request.method,
        request.url,
        headers.into_iter(),
        SignableBody::Bytes(request.body),
    )
    .map_err(|e| format!("could not sign the request: {e}"))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| format!("could not sign the request: {e}"))?
        .into_parts();
    let (headers, _params) = instructions.into_parts();
    Ok(headers
        .into_iter()
        .map(|h| (h.name(), h.value().to_string()))
        .collect())
}

#[cfg(test)]
mod tests {
    //! The Amplify golden vectors of `specs/amplify.md` §2.4, through our signing code. The
    //! official SigV4 suite runs in the `aws-sigv4` crate's own CI (§2.2), and the emulator's
    //! independent verifier runs the CRT suite against its own implementation.
    use super::*;
    use crate::secrets::Secret;
    use std::time::{Duration, UNIX_EPOCH};

    fn credentials(token: bool) -> AwsCredentials {
        AwsCredentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: Secret::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            session_token: token.then(|| Secret::new("SESSIONTOKENEXAMPLE")),
            region: "eu-west-1".into(),
        }
    }

    /// 2015-08-30T12:36:00Z.
    fn vector_time() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_440_938_160)
    }

    fn signature(method: &str, path: &str, body: &str, token: bool) -> (String, String) {
        let url = format!("https://amplify.eu-west-1.amazonaws.com{path}");
        let headers = sign_request(
            &Unsigned {
                method,
                url: &url,
                host: "amplify.eu-west-1.amazonaws.com",
                content_type: (!body.is_empty()).then_some("application/json"),
                body: body.as_bytes(),
            },
            &credentials(token),
            "eu-west-1",
            vector_time(),
        )
        .unwrap();
        let auth = headers
            .iter()
            .find(|(k, _)| *k == "authorization")
            .map(|(_, v)| v.clone())
            .unwrap();
        let date = headers
            .iter()
            .find(|(k, _)| *k == "x-amz-date")
            .map(|(_, v)| v.clone())
            .unwrap();
        assert_eq!(date, "20150830T123600Z");
        assert_eq!(
            headers.iter().any(|(k, _)| *k == "x-amz-security-token"),
            token
        );
        (auth, headers.len().to_string())
    }

    /// `specs/amplify.md` §2.4, rows 1–10: (method, path, body, no-token sig, token sig).
    const VECTORS: [(&str, &str, &str, &str, &str); 10] = [
        (
            "POST",
            "/apps",
            r#"{"name": "my-site", "platform": "WEB"}"#,
            "51f8f314ed2d081fd3e16c7318137f7a7011d1f035ac5b2d03b2ce44492f9251",
            "d2c9cd52472e33cbbe3f13ac260d88596832f4640156f64b33bd8af551d5dd98",
        ),
        (
            "GET",
            "/apps/d1a2b3c4d5e6f7",
            "",
            "4674b31ab024d47a6b7f23c9aeacff6d51a565f9418a5f3790d4aed5bf8413f2",
            "ef3154ee3d5d7f8f2f03b8b9cc6f1d0cc39fa4429cf75d77889e4332eb154f1d",
        ),
        (
            "POST",
            "/apps/d1a2b3c4d5e6f7/branches",
            r#"{"branchName": "main", "stage": "PRODUCTION"}"#,
            "dce5db18a54367ef207ccb9fb0179dd78c9c7f1b7cff578e6d394e7bea766301",
            "b9272ff2493e2ba9d0005a06df134d3939c01576b25a9d09852bdbabc81c2115",
        ),
        (
            "GET",
            "/apps/d1a2b3c4d5e6f7/branches/feature%2Fx%20y",
            "",
            "3c747db8486506706c2afc771cf74a4166a536990d9156bf7e26cfb7ae347b8a",
            "bd88b94cf287cac945bd9e222ae868c18572d74172acb61621a2667b9938af36",
        ),
        (
            "POST",
            "/apps/d1a2b3c4d5e6f7/branches/main/deployments",
            "{}",
            "f5ec91b8de1b77f426427d0e1e5ba6df981600e5d34d235d576661bb3826d946",
            "f62370635e58b9590ee1df7399bea7901d750aad0173dd79a87e422f9a53abbd",
        ),
        (
            "POST",
            "/apps/d1a2b3c4d5e6f7/branches/main/deployments",
            r#"{"fileMap": {"index.html": "d41d8cd98f00b204e9800998ecf8427e"}}"#,
            "fe23b133ebe09cea64d2c9796e0567ddbd6a7a09c56d998e193d9a28abfc7f1b",
            "990ce43a78ddc641bafce96c51534521e65a028e6cbda313ec1e34b456192f55",
        ),
        (
            "POST",
            "/apps/d1a2b3c4d5e6f7/branches/main/deployments/start",
            r#"{"jobId": "1"}"#,
            "f71b2a723bb1ea0c7769d00eba4f15ccd16c5bbb172f4cc90e13e170693b0b9e",
            "ed33c1997b718d780492a12bcea6a2a18fd21743b5a2162ca9d4f9f48a6c0a6a",
        ),
        (
            "GET",
            "/apps/d1a2b3c4d5e6f7/branches/main/jobs/1",
            "",
            "777c0aff8e45e7e13252271b44f5e0519adfd919cf59ad1914fafdd37c3de759",
            "539140b08e89189f0f92f64189282f3b1a700ef1674eed5804d4bf1c1161161f",
        ),
        (
            "GET",
            "/apps/d1a2b3c4d5e6f7/branches/main/jobs?maxResults=1",
            "",
            "62b2777caf2c493f1168318f2342e857e608d8f6503663faa7cb876160ade5c6",
            "4b8a2f298cc36128dcda9f16a8ce9bccc01b9568245fa3d6a6f6fc6cacf73c62",
        ),
        (
            "DELETE",
            "/apps/d1a2b3c4d5e6f7/branches/main",
            "",
            "4d3e866f0f6439bcd267162b1ffa67c602ed68660aa1d4773362a3fc67b77f07",
            "32d26c6464ec42a4d45e2732fcbb5cfe14664f2551974522df054a63f0afd9b3",
        ),
    ];

    #[test]
    fn golden_vectors_match_without_a_session_token() {
        for (method, path, body, want, _) in VECTORS {
            let (auth, _) = signature(method, path, body, false);
            let signed = if body.is_empty() {
                "host;x-amz-date"
            } else {
                "content-type;host;x-amz-date"
            };
            assert_eq!(
                auth,
                format!("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/eu-west-1/amplify/aws4_request, SignedHeaders={signed}, Signature={want}"),
                "{method} {path}"
            );
        }
    }

    #[test]
    fn golden_vectors_match_with_a_session_token() {
        for (method, path, body, _, want) in VECTORS {
            let (auth, _) = signature(method, path, body, true);
            assert!(
                auth.ends_with(&format!(
                    "x-amz-date;x-amz-security-token, Signature={want}"
                )),
                "{method} {path}: {auth}"
            );
        }
    }

    #[test]
    fn the_session_token_travels_in_its_own_header() {
        let headers = sign_request(
            &Unsigned {
                method: "GET",
                url: "http://127.0.0.1:8765/apps",
                host: "127.0.0.1:8765",
                content_type: None,
                body: b"",
            },
            &credentials(true),
            "eu-west-1",
            vector_time(),
        )
        .unwrap();
        let token = headers
            .iter()
            .find(|(k, _)| *k == "x-amz-security-token")
            .map(|(_, v)| v.as_str());
        assert_eq!(token, Some("SESSIONTOKENEXAMPLE"));
        let auth = &headers
            .iter()
            .find(|(k, _)| *k == "authorization")
            .unwrap()
            .1;
        assert!(!auth.contains("wJalr"), "the secret never leaves: {auth}");
    }
}
