//! `PUT /deploys/{id}/files/{path}` (`specs/netlify.md §6`) and turning a complete deploy
//! into a servable site, with redirects and headers from `netlify.toml`, `_redirects` and
//! `_headers` (§4).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::response::Response;
use serde_json::json;
use sha1::{Digest, Sha1};

use super::model::Phase;
use super::{advance, err, ok};
use crate::blobs::Ns;
use crate::hosting::{rules, HeaderRule, NotFound, Redirect, Site, SiteFile};
use crate::util::body;
use crate::util::req::{decode, Req};
use crate::util::time::now_ms;
use crate::{App, Platform};

/// Largest single file accepted (the real limit is unconfirmed, §11).
const MAX_FILE: u64 = 10 << 30;

fn authorize(app: &App, req: &Req, deploy_site: &str) -> Result<(), Response> {
    let cfg = &app.config;
    let Some(t) = req.bearer() else {
        return Err(err(401, "Access Denied: invalid token"));
    };
    if t == cfg.netlify_token {
        return Ok(());
    }
    if t == cfg.readonly_token {
        return Err(err(403, "Forbidden: this token cannot modify resources"));
    }
    if t == cfg.expired_token {
        return Err(err(401, "Access Denied: token expired"));
    }
    let g = app.netlify.lock();
    let drop_ok = g
        .sites
        .get(deploy_site)
        .and_then(|s| s.drop.as_ref())
        .is_some_and(|(tok, exp)| tok == t && *exp > now_ms());
    if drop_ok {
        Ok(())
    } else {
        Err(err(401, "Access Denied: invalid token"))
    }
}

/// Uploads one file of a deploy. `raw` is everything after `/files`, still encoded: it is
/// percent-decoded once, `+` kept, a leading `/` dropped (§6 server rule).
pub async fn upload(app: &Arc<App>, req: Req, id: &str, raw: &str) -> Response {
    let path = decode(raw).trim_start_matches('/').to_string();
    let (site_id, expected) = {
        let mut g = app.netlify.lock();
        advance(&mut g, now_ms());
        let Some(d) = g.deploys.get(id) else {
            return err(404, "Not Found");
        };
        (
            d.site_id.clone(),
            d.files.get(&path).cloned().map(|s| (s, d.phase)),
        )
    };
    if let Err(r) = authorize(app, &req, &site_id) {
        return r;
    }
    let Some((expected, phase)) = expected else {
        return err(422, &format!("File {path} is not part of deploy {id}"));
    };
    // netlify-cli PUTs every path whose SHA-1 is required, so a path can arrive after its
    // content (sent under another path) completed the deploy: those are accepted (§5.2, §13
    // checklist 2, "accept duplicate uploads"), still checked against the manifest.
    if matches!(phase, Phase::Error | Phase::New) {
        return err(
            422,
            &format!("Deploy {id} is not accepting uploads (state {phase:?})"),
        );
    }
    let mut hasher = Sha1::new();
    let spooled = match body::spool(req.body, app.blobs.tmp_dir(), MAX_FILE, |c| {
        hasher.update(c)
    })
    .await
    {
        Ok(s) => s,
        Err(e) => return err(400, &e.to_string()),
    };
    let sha = hex::encode(hasher.finalize());
    if sha != expected {
        return err(422, &format!("Uploaded file {path} did not match deploy"));
    }
    let size = spooled.size;
    if let Err(e) = app
        .blobs
        .commit(Ns::Netlify, &sha, spooled.path, size, None)
    {
        return err(500, &e.to_string());
    }
    let done = {
        let mut g = app.netlify.lock();
        match g.deploys.get_mut(id) {
            Some(d) if matches!(d.phase, Phase::Prepared | Phase::Uploading) => {
                d.required.retain(|r| r != &sha);
                d.phase = Phase::Uploading;
                d.updated_ms = now_ms();
                d.required.is_empty()
            }
            _ => false,
        }
    };
    if done {
        finish(app, id).await;
    }
    let mime = mime_guess::from_path(&path)
        .first_or_octet_stream()
        .to_string();
    ok(json!({"id": sha, "path": format!("/{path}"), "sha": sha, "mime_type": mime, "size": size}))
}

/// Builds the site of a deploy whose files are all present and starts processing.
pub async fn finish(app: &Arc<App>, id: &str) {
    let files = {
        let g = app.netlify.lock();
        match g.deploys.get(id) {
            Some(d) if d.site.is_none() && d.phase != Phase::Error => d.files.clone(),
            _ => return,
        }
    };
    let site = build_site(app, &files).await;
    let delay = app.knobs().netlify_processing_ms;
    let mut g = app.netlify.lock();
    let now = now_ms();
    if let Some(d) = g.deploys.get_mut(id) {
        if d.phase != Phase::Error && d.site.is_none() {
            d.site = Some(Arc::new(site));
            d.phase = Phase::Processing;
            d.ready_ms = now + delay;
            d.updated_ms = now;
        }
    }
    advance(&mut g, now);
}

async fn read_blob(app: &App, sha: Option<&String>) -> Option<String> {
    let meta = app.blobs.get(Ns::Netlify, sha?)?;
    tokio::fs::read_to_string(&meta.path).await.ok()
}

async fn build_site(app: &App, files: &BTreeMap<String, String>) -> Site {
    let mut map = HashMap::new();
    for (path, sha) in files {
        if let Some(meta) = app.blobs.get(Ns::Netlify, sha) {
            map.insert(
                path.clone(),
                SiteFile {
                    path: meta.path.clone(),
                    size: meta.size,
                    content_type: None,
                },
            );
        }
    }
    let mut site = Site::new(Platform::Netlify, map, NotFound::Page404);
    if let Some(toml) = read_blob(app, files.get("netlify.toml")).await {
        let (r, h) = parse_toml(&toml);
        site.redirects = r;
        site.headers = h;
    }
    if let Some(text) = read_blob(app, files.get("_redirects")).await {
        site.redirects.extend(rules::parse_redirects(&text));
    }
    if let Some(text) = read_blob(app, files.get("_headers")).await {
        site.headers.extend(rules::parse_headers(&text));
    }
    site
}

fn unquote(v: &str) -> String {
    let v = v.trim();
    v.strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .unwrap_or(v)
        .to_string()
}

/// Reads `[[redirects]]` and `[[headers]]` tables from the synthetic `netlify.toml` (§4).
pub fn parse_toml(text: &str) -> (Vec<Redirect>, Vec<HeaderRule>) {
    #[derive(PartialEq)]
    enum Mode {
        None,
        Redirect,
        Header,
        HeaderValues,
    }
    let mut redirects: Vec<Redirect> = Vec::new();
    let mut headers: Vec<HeaderRule> = Vec::new();
    let mut mode = Mode::None;
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('[') {
            mode = match line {
                "[[redirects]]" => {
                    redirects.push(Redirect {
                        from: String::new(),
                        to: String::new(),
                        status: 301,
                    });
                    Mode::Redirect
                }
                "[[headers]]" => {
                    headers.push(HeaderRule {
                        pattern: String::new(),
                        headers: Vec::new(),
                    });
                    Mode::Header
                }
                "[headers.values]" => Mode::HeaderValues,
                _ => Mode::None,
            };
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let (k, v) = (unquote(k), unquote(v));
        match mode {
            Mode::Redirect => {
                if let Some(r) = redirects.last_mut() {
                    match k.as_str() {
                        "from" => r.from = v,
                        "to" => r.to = v,
                        "status" => r.status = v.parse().unwrap_or(301),
                        _ => {}
                    }
                }
            }
            Mode::Header if k == "for" => {
                if let Some(h) = headers.last_mut() {
                    h.pattern = v;
                }
            }
            Mode::HeaderValues => {
                if let Some(h) = headers.last_mut() {
                    h.headers.push((k, v));
                }
            }
            _ => {}
        }
    }
    redirects.retain(|r| !r.from.is_empty() && !r.to.is_empty());
    headers.retain(|h| !h.pattern.is_empty());
    (redirects, headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_synthetic_toml_of_the_spec() {
        let toml = "plugins = []\n[functions]\n  [functions.\"*\"]\n[build]\n[[headers]]\nfor = \"/*\"\n  [headers.values]\n  X-Test = \"1\"\n[[redirects]]\nfrom = \"/old\"\nto = \"/new\"\nstatus = 301\nforce = false\n  [redirects.query]\n";
        let (r, h) = parse_toml(toml);
        assert_eq!(
            r,
            vec![Redirect {
                from: "/old".into(),
                to: "/new".into(),
                status: 301
            }]
        );
        assert_eq!(h[0].pattern, "/*");
        assert_eq!(h[0].headers, vec![("X-Test".to_string(), "1".to_string())]);
    }
}
