//! AWS keys from the environment, named as the AWS CLI and SDKs name them (`DESIGN.md`,
//! "Credentials and endpoints"), and the region they sign for.

use crate::config::Env;
use crate::secrets::{AwsCredentials, CredentialSource, Credentials, ResolvedCredentials, Secret};

/// The region when neither the environment nor the account names one (AWS's own default).
pub const DEFAULT_REGION: &str = "us-east-1";

/// The variables read, besides the endpoint override.
pub const ENV_VARS: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
];

/// `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` (both, or nothing), with
/// `AWS_SESSION_TOKEN` for temporary keys and the region from `AWS_REGION`, else
/// `AWS_DEFAULT_REGION`, else [`DEFAULT_REGION`].
pub fn from_env(env: &Env) -> Option<ResolvedCredentials> {
    let key = env.get("AWS_ACCESS_KEY_ID")?;
    let secret = env.get("AWS_SECRET_ACCESS_KEY")?;
    let region = env
        .get("AWS_REGION")
        .or(env.get("AWS_DEFAULT_REGION"))
        .unwrap_or(DEFAULT_REGION);
    Some(ResolvedCredentials {
        credentials: Credentials::Aws(AwsCredentials {
            access_key_id: key.to_string(),
            secret_access_key: Secret::new(secret),
            session_token: env.get("AWS_SESSION_TOKEN").map(Secret::new),
            region: region.to_string(),
        }),
        source: CredentialSource::Env("AWS_ACCESS_KEY_ID"),
        account_ref: Some(region.to_string()),
    })
}
