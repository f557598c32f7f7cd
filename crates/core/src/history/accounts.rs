//! Accounts: who Sitedrop deploys as. The secret itself lives in the OS keychain under
//! `secret_key`; this table only remembers that it exists and what to call it.

use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;

use super::{now_ms, History};
use crate::error::Result;
use crate::platform::Platform;

/// A connected account. Holds no secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    pub id: i64,
    pub platform: Platform,
    /// What the UI shows (account name or email), never the token.
    pub label: String,
    /// The account within the credential: Cloudflare account id, Vercel team, AWS region.
    pub account_ref: Option<String>,
    /// The keychain entry's name.
    #[serde(skip)]
    pub secret_key: String,
    pub created_at: i64,
}

const COLUMNS: &str = "id, platform, label, account_ref, secret_key, created_at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<Account> {
    let platform: String = row.get(1)?;
    Ok(Account {
        id: row.get(0)?,
        platform: platform
            .parse()
            .map_err(|e: crate::platform::UnknownPlatform| {
                rusqlite::Error::FromSqlConversionFailure(
                    1,
                    rusqlite::types::Type::Text,
                    e.to_string().into(),
                )
            })?,
        label: row.get(2)?,
        account_ref: row.get(3)?,
        secret_key: row.get(4)?,
        created_at: row.get(5)?,
    })
}

impl History {
    /// Remembers an account whose secret was just stored under `secret_key`. Connecting the same
    /// keychain entry again updates the label and reference.
    pub fn save_account(
        &self,
        platform: Platform,
        label: &str,
        account_ref: Option<&str>,
        secret_key: &str,
    ) -> Result<Account> {
        let now = now_ms();
        self.conn.execute(
            "INSERT INTO accounts (platform, label, account_ref, secret_key, created_at, last_used_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5)
             ON CONFLICT (secret_key) DO UPDATE SET label = ?2, account_ref = ?3, last_used_at = ?5",
            params![platform.account_platform().id(), label, account_ref, secret_key, now],
        )?;
        let account = self.conn.query_row(
            &format!("SELECT {COLUMNS} FROM accounts WHERE secret_key = ?1"),
            [secret_key],
            from_row,
        )?;
        Ok(account)
    }

    /// Every account, by platform then most recently used.
    pub fn accounts(&self) -> Result<Vec<Account>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM accounts ORDER BY platform, last_used_at DESC, id DESC"
        ))?;
        let accounts = stmt
            .query_map([], from_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(accounts)
    }

    pub fn account(&self, id: i64) -> Result<Option<Account>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM accounts WHERE id = ?1"),
                [id],
                from_row,
            )
            .optional()?)
    }

    /// The account a deploy to `platform` uses by default: the most recently used one.
    pub fn default_account(&self, platform: Platform) -> Result<Option<Account>> {
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM accounts WHERE platform = ?1
                     ORDER BY last_used_at DESC, id DESC LIMIT 1"
                ),
                [platform.account_platform().id()],
                from_row,
            )
            .optional()?)
    }

    pub fn touch_account(&self, id: i64) -> Result<()> {
        self.conn.execute(
            "UPDATE accounts SET last_used_at = ?2 WHERE id = ?1",
            params![id, now_ms()],
        )?;
        Ok(())
    }

    /// Remembers which account within a credential to use (e.g. the Cloudflare account the
    /// user picked).
    pub fn set_account_ref(&self, id: i64, account_ref: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE accounts SET account_ref = ?2 WHERE id = ?1",
            params![id, account_ref],
        )?;
        Ok(())
    }

    /// Forgets an account. The caller deletes its keychain entry.
    pub fn remove_account(&self, id: i64) -> Result<()> {
        self.conn
            .execute("DELETE FROM accounts WHERE id = ?1", [id])?;
        Ok(())
    }
}
