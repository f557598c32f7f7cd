//! Credentials for a platform, and where they came from.

use serde::{Deserialize, Serialize};

use super::Secret;
use crate::config::Env;
use crate::error::{Error, Result};
use crate::platform::Platform;

/// What kind of credentials a platform takes (its descriptor says which).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    /// None at all ("this computer").
    None,
    /// One bearer API token.
    Token,
    /// AWS keys and a region.
    AwsKeys,
}

/// What a provider signs its requests with.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// A bearer API token (Cloudflare, Netlify, Vercel).
    Token(Secret),
    /// AWS keys for Amplify.
    Aws(AwsCredentials),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Token(_) => f.write_str("Token(<redacted>)"),
            Credentials::Aws(aws) => aws.fmt(f),
        }
    }
}

/// An AWS access key, its secret, an optional session token, and the region.
#[derive(Clone, PartialEq, Eq)]
pub struct AwsCredentials {
    pub access_key_id: String,
    pub secret_access_key: Secret,
    pub session_token: Option<Secret>,
    pub region: String,
}

impl std::fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tail: String = self
            .access_key_id
            .chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        f.debug_struct("AwsCredentials")
            .field("access_key_id", &format!("…{tail}"))
            .field("secret_access_key", &self.secret_access_key)
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .field("region", &self.region)
            .finish()
    }
}

/// How AWS keys are kept in one keychain entry (the region lives in the account row).
#[derive(Serialize, Deserialize)]
struct StoredAws {
    access_key_id: String,
    secret_access_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    session_token: Option<String>,
}

impl Credentials {
    /// The keychain form: the token itself, or the AWS keys as JSON.
    pub fn to_stored(&self) -> Secret {
        match self {
            Credentials::Token(t) => t.clone(),
            Credentials::Aws(aws) => Secret::new(
                serde_json::to_string(&StoredAws {
                    access_key_id: aws.access_key_id.clone(),
                    secret_access_key: aws.secret_access_key.expose().to_string(),
                    session_token: aws.session_token.as_ref().map(|t| t.expose().to_string()),
                })
                .unwrap_or_default(),
            ),
        }
    }

    /// Reads the keychain form back. `account_ref` is the region for AWS.
    pub fn from_stored(
        kind: CredentialKind,
        stored: Secret,
        account_ref: Option<&str>,
    ) -> Result<Credentials> {
        if kind != CredentialKind::AwsKeys {
            return Ok(Credentials::Token(stored));
        }
        let aws: StoredAws =
            serde_json::from_str(stored.expose()).map_err(|_| super::KeychainError::Corrupt)?;
        Ok(Credentials::Aws(AwsCredentials {
            access_key_id: aws.access_key_id,
            secret_access_key: Secret::new(aws.secret_access_key),
            session_token: aws.session_token.map(Secret::new),
            region: account_ref.unwrap_or("us-east-1").to_string(),
        }))
    }

    /// The bearer token, for providers that use one.
    pub fn token(&self, platform: Platform) -> Result<&Secret> {
        match self {
            Credentials::Token(t) => Ok(t),
            Credentials::Aws(_) => Err(Error::Invalid(format!(
                "{platform} needs an API token, not AWS keys."
            ))),
        }
    }

    /// Checks the credentials' shape before any request, so a blank paste gets a plain answer.
    pub fn check_shape(&self, platform: Platform) -> Result<()> {
        let blank = |detail: &str| Error::TokenInvalid {
            platform,
            detail: detail.to_string(),
        };
        match self {
            Credentials::Token(t) if t.is_empty() => Err(blank("the token is empty")),
            Credentials::Token(t)
                if t.expose()
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control()) =>
            {
                Err(blank(
                    "the token contains spaces or line breaks, so it was probably not copied whole",
                ))
            }
            Credentials::Token(_) => Ok(()),
            Credentials::Aws(aws) => {
                if aws.access_key_id.trim().is_empty() || aws.secret_access_key.is_empty() {
                    return Err(blank(
                        "both the access key id and the secret access key are needed",
                    ));
                }
                if !aws.access_key_id.chars().all(|c| c.is_ascii_alphanumeric()) {
                    return Err(blank(
                        "the access key id should be letters and digits only (like AKIA…)",
                    ));
                }
                if aws.region.trim().is_empty() {
                    return Err(Error::Invalid(
                        "Choose the AWS region your Amplify apps live in (for example us-east-1)."
                            .into(),
                    ));
                }
                Ok(())
            }
        }
    }
}

/// Where credentials came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// An environment variable (these win over the keychain).
    Env(&'static str),
    /// A connected account, its secret in the keychain.
    Keychain { account_id: i64 },
    /// Typed or pasted in (the app's token field, `sitedrop login`) and being checked before
    /// it is stored: neither the environment nor the keychain yet.
    Entered,
}

/// Credentials ready to use, with what we know about the account.
#[derive(Debug, Clone)]
pub struct ResolvedCredentials {
    pub credentials: Credentials,
    pub source: CredentialSource,
    /// Cloudflare account id, Vercel team id, or AWS region, when known.
    pub account_ref: Option<String>,
}

impl ResolvedCredentials {
    /// A token from the environment variable `var` (and the account from `account_var`),
    /// for platforms whose credentials are one token. Which variables those are is the
    /// platform's to say (its descriptor's `read_env`).
    pub fn token_from_env(
        env: &Env,
        var: &'static str,
        account_var: Option<&str>,
    ) -> Option<ResolvedCredentials> {
        env.get(var).map(|t| ResolvedCredentials {
            credentials: Credentials::Token(Secret::new(t)),
            source: CredentialSource::Env(var),
            account_ref: account_var.and_then(|v| env.get(v)).map(str::to_string),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_keys_round_trip_through_the_keychain_form() {
        let creds = Credentials::Aws(AwsCredentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: Secret::new("wJalrXUtnFEMI"),
            session_token: Some(Secret::new("session")),
            region: "eu-west-1".into(),
        });
        let back = Credentials::from_stored(
            CredentialKind::AwsKeys,
            creds.to_stored(),
            Some("eu-west-1"),
        )
        .unwrap();
        assert_eq!(back, creds);
        let shown = format!("{creds:?}");
        assert!(
            !shown.contains("wJalr") && !shown.contains("session\"") && shown.contains("…MPLE"),
            "{shown}"
        );
    }

    #[test]
    fn blank_or_mangled_tokens_are_refused_before_any_request() {
        for bad in ["", "   ", "abc def", "abc\ndef"] {
            let err = Credentials::Token(Secret::new(bad))
                .check_shape(Platform::Netlify)
                .unwrap_err();
            assert_eq!(err.kind(), "token_invalid", "{bad:?}");
        }
    }
}
