//! Pages projects (`specs/cloudflare.md` §3.11): finding the one to deploy to, creating it
//! when missing, and choosing a free name when the folder's name belongs to another site.

use reqwest::Method;
use serde::Deserialize;

use super::{Api, Failure};
use crate::error::{Error, Result};
use crate::platform::Platform;
use crate::provider::naming::{random_suffix, slug, with_suffix};
use crate::provider::{Cx, Target};
use crate::retry::retry;

const PLATFORM: Platform = Platform::CloudflarePages;

/// Project names: 1–58 characters of `a-z`, `0-9` and `-` (the pages.dev label leaves room
/// for a suffix).
pub const MAX_NAME: usize = 58;

/// A Pages project as the API returns it (§3.11, §6).
#[derive(Debug, Clone, Deserialize)]
pub struct Project {
    #[serde(default)]
    pub id: Option<String>,
    pub name: String,
    /// `<name>.pages.dev`, or with a suffix when another account holds that label.
    #[serde(default)]
    subdomain: Option<String>,
    #[serde(default)]
    production_branch: Option<String>,
}

impl Project {
    pub fn production_branch(&self) -> &str {
        self.production_branch.as_deref().unwrap_or("main")
    }

    /// `https://<subdomain>`, the address production is served at (§3.10).
    pub fn production_url(&self) -> String {
        match &self.subdomain {
            Some(sub) => format!("https://{sub}"),
            None => format!("https://{}.pages.dev", self.name),
        }
    }
}

/// Checks a name the person chose, so a typo is caught before anything is created.
fn check_name(name: &str) -> Result<()> {
    let reason = if name.is_empty() || name.len() > MAX_NAME {
        Some(format!("a project name has 1 to {MAX_NAME} characters"))
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        Some("use only lowercase letters, digits and hyphens".to_string())
    } else if name.starts_with('-') || name.ends_with('-') {
        Some("a project name cannot start or end with a hyphen".to_string())
    } else {
        None
    };
    match reason {
        Some(reason) => Err(Error::ProjectNameInvalid {
            platform: PLATFORM,
            name: name.to_string(),
            reason,
        }),
        None => Ok(()),
    }
}

pub fn projects_path(account: &str) -> String {
    format!("/accounts/{account}/pages/projects")
}

/// `GET …/pages/projects/{name}`; `None` for 8000007 (§3.11).
pub async fn find_project(
    cx: &Cx,
    api: &Api,
    account: &str,
    name: &str,
) -> Result<Option<Project>> {
    let path = format!("{}/{name}", projects_path(account));
    retry(&cx.retry, &cx.cancel, |_| async {
        match api.send(api.request(Method::GET, &path)).await {
            Ok(project) => Ok(Some(project)),
            Err(Failure::Api { code: 8000007, .. }) => Ok(None),
            Err(f) => Err(f.into()),
        }
    })
    .await
}

/// What creating a project came to.
enum Created {
    Project(Project),
    /// The name is in use in this account (8000002, per the emulator; unconfirmed, §10).
    Taken,
}

/// `POST …/pages/projects` with `{name, production_branch}` (§3.11).
async fn create_project(cx: &Cx, api: &Api, account: &str, name: &str) -> Result<Created> {
    let body = serde_json::json!({ "name": name, "production_branch": "main" });
    let path = projects_path(account);
    retry(&cx.retry, &cx.cancel, |attempt| {
        let body = &body;
        let path = &path;
        async move {
            match api.send(api.request(Method::POST, path).json(body)).await {
                Ok(project) => Ok(Created::Project(project)),
                // On a repeat, "taken" most likely means our first try got through.
                Err(f) if taken(&f) && attempt > 0 => {
                    match find_project(cx, api, account, name).await? {
                        Some(project) => Ok(Created::Project(project)),
                        None => Ok(Created::Taken),
                    }
                }
                Err(f) if taken(&f) => Ok(Created::Taken),
                Err(Failure::Api {
                    code: 8000011,
                    error,
                }) => Err(Error::ProjectNameInvalid {
                    platform: PLATFORM,
                    name: name.to_string(),
                    reason: match error {
                        Error::Rejected { detail, .. } => detail,
                        other => other.to_string(),
                    },
                }),
                Err(f) => Err(f.into()),
            }
        }
    })
    .await
}

/// "A project with this name already exists" (a 409, or code 8000002).
fn taken(f: &Failure) -> bool {
    f.code() == Some(8000002)
}

/// The project to deploy to. A name the person chose (or the one this folder used before) is
/// used as is, and created when missing. A name derived from the folder is only ever created:
/// when this account already has a project by that name, it belongs to another site, so a short
/// suffix makes a new name rather than overwriting it.
pub async fn resolve_project(
    cx: &Cx,
    api: &Api,
    account: &str,
    target: &Target,
) -> Result<Project> {
    if let Some(name) = &target.project {
        check_name(name)?;
        if let Some(project) = find_project(cx, api, account, name).await? {
            return Ok(project);
        }
        return match create_project(cx, api, account, name).await? {
            Created::Project(project) => Ok(project),
            Created::Taken => Err(Error::ProjectNameTaken {
                platform: PLATFORM,
                name: name.clone(),
            }),
        };
    }
    let base = slug(&target.folder_name, MAX_NAME);
    let mut name = base.clone();
    for _ in 0..5 {
        if find_project(cx, api, account, &name).await?.is_none() {
            if let Created::Project(project) = create_project(cx, api, account, &name).await? {
                return Ok(project);
            }
        }
        name = with_suffix(&base, &random_suffix(), MAX_NAME);
    }
    Err(Error::ProjectNameTaken {
        platform: PLATFORM,
        name: base,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chosen_names_are_checked_before_any_request() {
        assert!(check_name("my-blog-2").is_ok());
        for bad in ["My Blog", "-x", "x-", "", &"a".repeat(59), "blog_1"] {
            assert_eq!(
                check_name(bad).unwrap_err().kind(),
                "project_name_invalid",
                "{bad}"
            );
        }
    }
}
