//! `sitedrop status`: the real binaries, the real emulator. Every published site is checked
//! now; one line or JSON object each; exit 0 only when all are up.

use serde_json::json;
use sitedrop_e2e::{EmulatorProcess, Sandbox};

const TOKEN: &str = "sitedrop_test_token";

fn sandbox(emu: &EmulatorProcess) -> Sandbox {
    let mut sb = Sandbox::new();
    sb.env = emu.env();
    sb.env.push(("NETLIFY_AUTH_TOKEN".into(), TOKEN.into()));
    sb.env.push(("VERCEL_TOKEN".into(), TOKEN.into()));
    sb
}

fn deploy(sb: &Sandbox, name: &str, platform: &str) -> serde_json::Value {
    let site = sb.folder(
        name,
        &[
            ("index.html", b"<h1>hello</h1>\n"),
            ("css/site.css", b"h1{}\n"),
        ],
    );
    let run = sb.run(&["deploy", site.to_str().unwrap(), "--to", platform, "--json"]);
    run.expect_code(0);
    run.last_event()
}

#[test]
fn status_is_zero_when_all_sites_are_up_and_one_when_one_is_down() {
    let emu = EmulatorProcess::start(&[]);
    let sb = sandbox(&emu);
    emu.control(
        "POST",
        "config",
        Some(json!({"netlify_rate_limit_per_minute": 0})),
    );
    let blog = deploy(&sb, "blog", "netlify");
    deploy(&sb, "shop", "vercel");

    let up = sb.run(&["status", "--json"]);
    up.expect_code(0);
    let lines = up.events();
    assert_eq!(lines.len(), 2, "{}", up.stdout());
    let by_site = |lines: &[serde_json::Value], site: &str| {
        lines
            .iter()
            .find(|l| l["site"] == site)
            .cloned()
            .unwrap_or_else(|| panic!("no line for {site}: {lines:?}"))
    };
    let line = by_site(&lines, "blog");
    assert_eq!(
        (
            line["platform"].as_str(),
            line["url"].as_str(),
            line["state"].as_str(),
            line["status"].as_u64(),
            line["matches_deploy"].as_bool()
        ),
        (
            Some("netlify"),
            blog["production_url"].as_str(),
            Some("up"),
            Some(200),
            Some(true)
        ),
        "{line}"
    );
    assert!(line["ms"].is_u64(), "{line}");
    assert!(
        line["cert_expires_at"].is_null(),
        "plain HTTP in tests: {line}"
    );
    assert_eq!(by_site(&lines, "shop")["platform"], "vercel");

    emu.control(
        "POST",
        "faults",
        Some(json!({"host": "blog.netlify.app", "status": 503})),
    );
    let down = sb.run(&["status", "--json"]);
    down.expect_code(1);
    let lines = down.events();
    let line = by_site(&lines, "blog");
    assert_eq!(
        (
            line["state"].as_str(),
            line["reason"].as_str(),
            line["status"].as_u64()
        ),
        (Some("down"), Some("http_5xx"), Some(503)),
        "{line}"
    );
    assert_eq!(by_site(&lines, "shop")["state"], "up");

    let human = sb.run(&["status"]);
    human.expect_code(1);
    let out = human.stdout();
    assert!(
        out.lines().any(|l| l.starts_with("Down") && l.contains("blog on Netlify, https://blog.netlify.app: The server answered with an error (HTTP 503).")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("Up") && l.contains("shop on Vercel")),
        "{out}"
    );
}

#[test]
fn status_without_published_sites_says_so_and_succeeds() {
    let emu = EmulatorProcess::start(&[]);
    let sb = sandbox(&emu);
    let run = sb.run(&["status"]);
    run.expect_code(0);
    assert_eq!(run.stdout().trim(), "No published sites to check.");
    let json = sb.run(&["status", "--json"]);
    json.expect_code(0);
    assert_eq!(json.stdout(), "");
}
