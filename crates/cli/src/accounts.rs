//! `sitedrop login`, `logout` and `accounts`.

use std::io::{BufRead, IsTerminal, Write};

use sitedrop_core::secrets::{AwsCredentials, Credentials, Secret};
use sitedrop_core::{Engine, Error, Platform};

use crate::output::json_line;

/// Reads a secret: hidden at a terminal, or one line from stdin in scripts and CI
/// (`printf %s "$TOKEN" | sitedrop login netlify`).
fn read_secret(prompt: &str) -> Result<Secret, Error> {
    let value = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(prompt)
            .map_err(|e| Error::Invalid(format!("Could not read the input: {e}")))?
    } else {
        read_line()?
    };
    Ok(Secret::new(value.trim().to_string()))
}

fn read_line() -> Result<String, Error> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Error::Invalid(format!("Could not read the input: {e}")))?;
    Ok(line.trim().to_string())
}

fn read_visible(prompt: &str) -> Result<String, Error> {
    if std::io::stdin().is_terminal() {
        eprint!("{prompt}");
        let _ = std::io::stderr().flush();
    }
    read_line()
}

pub async fn login(
    engine: &Engine,
    platform: Platform,
    account: Option<String>,
    region: Option<String>,
    access_key_id: Option<String>,
) -> Result<(), Error> {
    let credentials = match platform {
        Platform::Local => {
            return Err(Error::Invalid("\"This computer\" needs no account.".into()));
        }
        Platform::Amplify => {
            let access_key_id = match access_key_id {
                Some(id) => id,
                None => read_visible("AWS access key id: ")?,
            };
            let secret = read_secret("AWS secret access key (hidden): ")?;
            let region = match region {
                Some(r) => r,
                None => {
                    let r = read_visible("AWS region [us-east-1]: ")?;
                    if r.is_empty() {
                        "us-east-1".to_string()
                    } else {
                        r
                    }
                }
            };
            Credentials::Aws(AwsCredentials {
                access_key_id,
                secret_access_key: secret,
                session_token: None,
                region,
            })
        }
        _ => Credentials::Token(read_secret(&format!(
            "Paste your {platform} API token (hidden): "
        ))?),
    };
    let account_ref = if platform == Platform::Amplify {
        match &credentials {
            Credentials::Aws(aws) => Some(aws.region.clone()),
            Credentials::Token(_) => None,
        }
    } else {
        account
    };
    let saved = engine
        .connect_account(platform, credentials, account_ref)
        .await?;
    println!(
        "Connected {} as {}. The secret is in the system keychain; Sitedrop will not show it again.",
        saved.platform, saved.label
    );
    Ok(())
}

pub async fn logout(engine: &Engine, platform: Platform) -> Result<(), Error> {
    let accounts: Vec<_> = engine
        .history()
        .accounts()?
        .into_iter()
        .filter(|a| a.platform == platform.account_platform())
        .collect();
    if accounts.is_empty() {
        println!("No {platform} account is connected.");
        return Ok(());
    }
    for account in accounts {
        engine.disconnect_account(account.id).await?;
        println!(
            "Disconnected {} ({}) and deleted its secret from the keychain.",
            account.label, account.platform
        );
    }
    Ok(())
}

pub fn list(engine: &Engine, json: bool) -> Result<(), Error> {
    let accounts = engine.history().accounts()?;
    if json {
        json_line(&accounts);
        return Ok(());
    }
    if accounts.is_empty() {
        println!("No accounts connected. Connect one with `sitedrop login PLATFORM`.");
    }
    for a in accounts {
        let within = a.account_ref.map(|r| format!(" [{r}]")).unwrap_or_default();
        println!("{:<18} {}{}", a.platform.id(), a.label, within);
    }
    Ok(())
}
