//! The `sitedrop` binary deploying to Netlify and Vercel through the emulator: with a token,
//! and to Netlify without one (a temporary site, said plainly, with its claim link).

use sitedrop_e2e::{fetch, EmulatorProcess, Sandbox};

const TOKEN: &str = "sitedrop_test_token";

fn sandbox(emu: &EmulatorProcess, token: Option<(&str, &str)>) -> Sandbox {
    let mut sb = Sandbox::new();
    sb.env = emu.env();
    if let Some((var, value)) = token {
        sb.env.push((var.to_string(), value.to_string()));
    }
    sb
}

fn host(url: &str) -> String {
    url.trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string()
}

const FILES: [(&str, &[u8]); 3] = [
    ("index.html", b"<h1>Shop</h1>\n"),
    ("css/site.css", b"body{}\n"),
    ("my file & more+.txt", b"odd name\n"),
];

#[test]
fn deploy_to_netlify_goes_live_redeploys_nothing_and_rolls_back() {
    let emu = EmulatorProcess::start(&[]);
    let sb = sandbox(&emu, Some(("NETLIFY_AUTH_TOKEN", TOKEN)));
    let site = sb.folder("shop", &FILES);
    let dir = site.to_str().unwrap();
    let run = sb.run(&["deploy", dir, "--to", "netlify", "--json"]);
    run.expect_code(0);
    let done = run.last_event();
    assert_eq!(
        (
            done["event"].as_str(),
            done["platform"].as_str(),
            done["project"].as_str()
        ),
        (Some("done"), Some("netlify"), Some("shop")),
        "{done}"
    );
    assert_eq!(
        (done["files"].as_u64(), done["uploaded"].as_u64()),
        (Some(3), Some(3))
    );
    assert!(done["claim_url"].is_null());
    let production = done["production_url"].as_str().unwrap().to_string();
    assert_eq!(production, "https://shop.netlify.app");
    let deploy_host = host(done["url"].as_str().unwrap());
    assert_eq!(
        fetch(emu.port, &deploy_host, "/my%20file%20%26%20more%2B.txt").2,
        b"odd name\n"
    );
    assert_eq!(
        fetch(emu.port, &host(&production), "/").2,
        b"<h1>Shop</h1>\n"
    );

    let again = sb.run(&["deploy", dir, "--to", "netlify", "--json"]);
    again.expect_code(0);
    assert_eq!(again.last_event()["uploaded"], 0);

    sitedrop_e2e::write(&site, "index.html", b"<h1>Shop v2</h1>\n");
    sb.run(&["deploy", dir, "--to", "netlify", "--json"])
        .expect_code(0);
    assert_eq!(
        fetch(emu.port, &host(&production), "/").2,
        b"<h1>Shop v2</h1>\n"
    );
    let first = done["id"].as_i64().unwrap().to_string();
    let back = sb.run(&["rollback", &first, "--json"]);
    back.expect_code(0);
    assert_eq!(
        fetch(emu.port, &host(&production), "/").2,
        b"<h1>Shop</h1>\n"
    );
}

#[test]
fn deploy_to_vercel_goes_live_in_production_and_as_a_preview() {
    let emu = EmulatorProcess::start(&[]);
    let sb = sandbox(&emu, Some(("VERCEL_TOKEN", TOKEN)));
    let site = sb.folder("shop", &FILES);
    let dir = site.to_str().unwrap();
    let run = sb.run(&["deploy", dir, "--to", "vercel", "--json"]);
    run.expect_code(0);
    let done = run.last_event();
    assert_eq!(
        (
            done["event"].as_str(),
            done["platform"].as_str(),
            done["status"].as_str()
        ),
        (Some("done"), Some("vercel"), Some("live")),
        "{done}"
    );
    let production = done["production_url"].as_str().unwrap().to_string();
    assert_eq!(production, "https://shop.vercel.app");
    assert_eq!(
        fetch(emu.port, &host(&production), "/css/site.css").2,
        b"body{}\n"
    );

    sitedrop_e2e::write(&site, "index.html", b"<h1>Preview</h1>\n");
    let preview = sb.run(&["deploy", dir, "--to", "vercel", "--preview"]);
    preview.expect_code(0);
    let out = preview.stdout();
    let url = out
        .lines()
        .find_map(|l| l.strip_prefix("Live: "))
        .unwrap_or_else(|| panic!("{out}"));
    assert_ne!(url, production);
    assert_eq!(fetch(emu.port, &host(url), "/").2, b"<h1>Preview</h1>\n");
    assert_eq!(
        fetch(emu.port, &host(&production), "/").2,
        b"<h1>Shop</h1>\n"
    );
}

#[test]
fn deploy_to_netlify_without_a_token_says_so_then_gives_a_temporary_site_and_claim_link() {
    let emu = EmulatorProcess::start(&[]);
    let sb = sandbox(&emu, None);
    let site = sb.folder("first-site", &FILES);
    let dir = site.to_str().unwrap();

    let run = sb.run(&["deploy", dir, "--to", "netlify", "--json"]);
    run.expect_code(0);
    let events = run.events();
    let warned = events
        .iter()
        .position(|e| {
            e["event"] == "warning"
                && e["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("No Netlify account is connected"))
        })
        .unwrap_or_else(|| panic!("{}", run.stdout()));
    let uploading = events
        .iter()
        .position(|e| e["event"] == "uploading")
        .unwrap();
    assert!(warned < uploading, "said before uploading");
    let done = run.last_event();
    assert_eq!(done["event"], "done");
    let claim = done["claim_url"]
        .as_str()
        .unwrap_or_else(|| panic!("{done}"));
    assert!(
        claim.starts_with("https://app.netlify.com/drop/"),
        "{claim}"
    );
    let url = done["url"].as_str().unwrap();
    assert_eq!(fetch(emu.port, &host(url), "/").2, b"<h1>Shop</h1>\n");

    // Without --json: the note on stderr, the claim link and how long it lives on stdout.
    let human = sb.run(&["deploy", dir, "--to", "netlify"]);
    human.expect_code(0);
    assert!(
        human
            .stderr()
            .contains("Note: No Netlify account is connected, so this is deployed without one"),
        "{}",
        human.stderr()
    );
    assert!(
        human.stderr().contains("makes a new temporary site"),
        "{}",
        human.stderr()
    );
    let out = human.stdout();
    assert!(
        out.contains("Claim it to keep it: https://app.netlify.com/drop/"),
        "{out}"
    );
    assert!(out.contains("This site is temporary"), "{out}");
}

#[test]
fn deploy_to_vercel_without_a_token_says_how_to_connect() {
    let emu = EmulatorProcess::start(&[]);
    let sb = sandbox(&emu, None);
    let site = sb.folder("site", &FILES);
    let run = sb.run(&["deploy", site.to_str().unwrap(), "--to", "vercel", "--json"]);
    run.expect_code(2);
    let error = run.last_event();
    assert_eq!(error["kind"], "no_credentials", "{error}");
    assert!(
        error["message"].as_str().unwrap().contains("VERCEL_TOKEN"),
        "{error}"
    );
}
