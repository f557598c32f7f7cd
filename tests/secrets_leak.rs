//! Secrets kept (issue 10): a whole CLI session on every platform, with credentials that
//! occur nowhere else, then `scripts/check-no-secrets.sh` over the data folder and every
//! captured stdout and stderr. Deploys, redeploys, rollbacks, wrong credentials, refusals, a
//! platform echoing the token back in an error, the keychain login: the token strings, the
//! upload JWTs and the presigned URLs must appear in none of it.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;
use sitedrop_e2e::{bin, EmulatorProcess, Run, Sandbox};

const TOKEN: &str = "sdleak_tok_4c7e9a1f2b";
const WRONG: &str = "sdleak_wrong_5e1c9d77";
const AWS_KEY: &str = "AKIDSDLEAK7Q3Z";
const AWS_SECRET: &str = "sdleak-aws-secret-8b2d3f";
const AWS_WRONG: &str = "sdleak-aws-wrong-0a6c1e";

/// Every run's output, kept as files for the scanner.
struct Recorder {
    dir: PathBuf,
    n: usize,
}

impl Recorder {
    fn keep(&mut self, label: &str, run: Run) -> Run {
        self.n += 1;
        let base = self.dir.join(format!("{:03}-{label}", self.n));
        std::fs::write(base.with_extension("stdout"), &run.0.stdout).unwrap();
        std::fs::write(base.with_extension("stderr"), &run.0.stderr).unwrap();
        run
    }
}

fn scan(paths: &[&Path]) -> std::process::Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/check-no-secrets.sh");
    let mut cmd = Command::new(script);
    for secret in [TOKEN, WRONG, AWS_SECRET, AWS_WRONG] {
        cmd.args(["-s", secret]);
    }
    cmd.args(paths).output().expect("run check-no-secrets.sh")
}

fn credentials(sb: &mut Sandbox, platform: &str, right: bool) {
    let drop = [
        "CLOUDFLARE_API_TOKEN",
        "CLOUDFLARE_ACCOUNT_ID",
        "NETLIFY_AUTH_TOKEN",
        "VERCEL_TOKEN",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
    ];
    sb.env.retain(|(k, _)| !drop.contains(&k.as_str()));
    let token = if right { TOKEN } else { WRONG };
    let pairs: Vec<(&str, &str)> = match platform {
        "cloudflare-pages" | "cloudflare-workers" => vec![
            ("CLOUDFLARE_API_TOKEN", token),
            ("CLOUDFLARE_ACCOUNT_ID", "0123456789abcdef0123456789abcdef"),
        ],
        "netlify" => vec![("NETLIFY_AUTH_TOKEN", token)],
        "vercel" => vec![("VERCEL_TOKEN", token)],
        _ => vec![
            ("AWS_ACCESS_KEY_ID", AWS_KEY),
            (
                "AWS_SECRET_ACCESS_KEY",
                if right { AWS_SECRET } else { AWS_WRONG },
            ),
            ("AWS_REGION", "us-east-1"),
        ],
    };
    sb.env.extend(
        pairs
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
}

const UPLOADS: [(&str, &str, &str); 5] = [
    ("cloudflare-pages", "cloudflare", "/pages/assets/upload"),
    ("cloudflare-workers", "cloudflare", "/workers/assets/upload"),
    ("netlify", "netlify", "/files/"),
    ("vercel", "vercel", "/v2/files"),
    ("amplify", "amplify", "/_amplify-upload/"),
];

#[test]
fn no_credential_reaches_the_data_folder_or_any_output() {
    let emu = EmulatorProcess::start(&[
        "--token",
        TOKEN,
        "--aws-access-key-id",
        AWS_KEY,
        "--aws-secret-access-key",
        AWS_SECRET,
    ]);
    emu.control(
        "POST",
        "config",
        Some(json!({"netlify_rate_limit_per_minute": 0})),
    );
    let mut sb = Sandbox::new();
    sb.env = emu.env();
    let out = sb.root.path().join("outputs");
    std::fs::create_dir_all(&out).unwrap();
    let mut rec = Recorder {
        dir: out.clone(),
        n: 0,
    };

    for (platform, emu_name, uploads) in UPLOADS {
        let dir = sb.folder(
            &format!("leak-{platform}"),
            &[
                ("index.html", b"<h1>one</h1>\n"),
                ("app.js", b"console.log(1)\n"),
            ],
        );
        let dir_s = dir.to_str().unwrap();
        credentials(&mut sb, platform, true);
        let first = rec.keep(
            "deploy-json",
            sb.run(&["deploy", dir_s, "--to", platform, "--json"]),
        );
        first.expect_code(0);
        sitedrop_e2e::write(&dir, "index.html", b"<h1>two</h1>\n");
        rec.keep("deploy-human", sb.run(&["deploy", dir_s, "--to", platform]))
            .expect_code(0);
        let id = first.last_event()["id"].as_i64().unwrap().to_string();
        rec.keep("rollback", sb.run(&["rollback", &id, "--json"]));
        rec.keep("rollback-human", sb.run(&["rollback", &id]));

        // Refused uploads, and a platform that echoes the credential back in its error.
        emu.control(
            "POST",
            "faults",
            Some(json!({"platform": emu_name, "path": uploads, "status": 400,
                "body": format!("{{\"message\":\"bad request, Authorization: Bearer {TOKEN}\",\"token\":\"{TOKEN}\"}}")})),
        );
        sitedrop_e2e::write(&dir, "index.html", b"<h1>three</h1>\n");
        rec.keep(
            "refused",
            sb.run(&["deploy", dir_s, "--to", platform, "--json"]),
        )
        .expect_code(1);
        rec.keep(
            "refused-human",
            sb.run(&["deploy", dir_s, "--to", platform]),
        );
        emu.control("DELETE", "faults", None);

        credentials(&mut sb, platform, false);
        rec.keep(
            "wrong",
            sb.run(&["deploy", dir_s, "--to", platform, "--json"]),
        )
        .expect_code(2);
        rec.keep("wrong-human", sb.run(&["deploy", dir_s, "--to", platform]));
    }
    rec.keep("history", sb.run(&["history"]));
    let history = rec
        .keep(
            "history-json",
            sb.run(&["history", "--json", "--limit", "500"]),
        )
        .stdout();
    rec.keep("accounts", sb.run(&["accounts", "--json"]));

    // The keychain path: the token read from stdin, kept in a real Secret Service (whose own
    // files are meant to hold it and are not scanned), used by a deploy.
    if keyring_available() {
        let dir = sb.folder("leak-keychain", &[("index.html", b"<h1>k</h1>\n")]);
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/with-keyring.sh");
        let steps = r#"printf %s "$TOKEN_FOR_STDIN" | "$SITEDROP" login vercel
unset TOKEN_FOR_STDIN
"$SITEDROP" accounts
"$SITEDROP" deploy "$SITE" --to vercel --json
"$SITEDROP" logout vercel"#;
        let mut cmd = Command::new(script);
        cmd.args(["bash", "-c", steps]);
        let template = sb.cli();
        for (k, v) in template.get_envs() {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        cmd.env_remove("VERCEL_TOKEN")
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .env("SITEDROP", bin("sitedrop"))
            .env("SITE", &dir)
            .env("TOKEN_FOR_STDIN", TOKEN);
        let run = rec.keep("keychain", Run(cmd.output().unwrap()));
        assert!(
            run.stdout().contains("\"event\":\"done\""),
            "{}",
            run.stdout()
        );
    }

    // Nothing anywhere: the data folder (database, journal, locks) and every output.
    let verdict = scan(&[&sb.data, &out]);
    assert!(
        verdict.status.success(),
        "{}{}",
        String::from_utf8_lossy(&verdict.stdout),
        String::from_utf8_lossy(&verdict.stderr)
    );
    // The session did exercise what it claims: the refusals and wrong tokens were recorded.
    assert!(history.contains("\"error_kind\":\"rejected\""), "{history}");
    assert!(
        history.contains("\"error_kind\":\"token_invalid\""),
        "{history}"
    );

    // And the scanner does find a secret when there is one.
    std::fs::write(out.join("planted.log"), format!("oops {TOKEN}\n")).unwrap();
    let planted = scan(&[&out]);
    assert_eq!(planted.status.code(), Some(1));
    let said = String::from_utf8_lossy(&planted.stderr);
    assert!(
        said.contains("planted.log") && !said.contains(TOKEN),
        "{said}"
    );
}

fn keyring_available() -> bool {
    ["dbus-run-session", "gnome-keyring-daemon", "dbus-send"]
        .iter()
        .all(|tool| {
            Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .output()
                .is_ok_and(|o| o.status.success())
        })
}
