//! `sitedrop deploy DIR --to amplify` end to end: the real CLI against the real emulator
//! binary, which verifies every SigV4 signature and the presigned upload.
//!
//! The 1 GB memory measurement is here too, ignored by default (it writes about 4 GB to
//! disk and takes a minute or two):
//! `cargo test -p sitedrop-e2e --test cli_amplify -- --ignored --nocapture`

use sitedrop_e2e::{fetch, history, EmulatorProcess, Sandbox};

/// A sandbox pointed at the emulator with its default AWS keys.
fn sandbox(emu: &EmulatorProcess) -> Sandbox {
    let mut sb = Sandbox::new();
    sb.env = emu.env();
    for (k, v) in [
        ("AWS_ACCESS_KEY_ID", "AKIDSITEDROPTEST"),
        ("AWS_SECRET_ACCESS_KEY", "sitedrop-test-secret"),
        ("AWS_REGION", "us-east-1"),
    ] {
        sb.env.push((k.into(), v.into()));
    }
    sb
}

fn host_of(url: &str) -> String {
    url.trim_start_matches("https://")
        .trim_end_matches('/')
        .to_string()
}

#[test]
fn deploy_to_amplify_goes_live_and_serves_exact_bytes() {
    let emu = EmulatorProcess::start(&[]);
    let sb = sandbox(&emu);
    let files: [(&str, &[u8]); 3] = [
        ("index.html", b"<h1>Amplified</h1>\n"),
        ("css/site.css", b"h1{color:teal}\n"),
        ("img/a b.png", b"\x89PNG\r\n\x1a\n"),
    ];
    let site = sb.folder("portfolio", &files);
    let run = sb.run(&[
        "deploy",
        site.to_str().unwrap(),
        "--to",
        "amplify",
        "--json",
    ]);
    run.expect_code(0);
    let done = run.last_event();
    assert_eq!(done["event"], "done", "{done}");
    assert_eq!(done["platform"], "amplify");
    assert_eq!(done["project"], "portfolio");
    assert_eq!(done["status"], "live");
    assert_eq!(
        (done["files"].as_u64(), done["uploaded"].as_u64()),
        (Some(3), Some(3))
    );
    let url = done["url"].as_str().unwrap();
    assert!(
        url.starts_with("https://main.d") && url.ends_with(".amplifyapp.com/"),
        "{url}"
    );
    let host = host_of(url);
    for (path, body) in files {
        let url_path = format!("/{}", path.replace(' ', "%20"));
        let (status, _, got) = fetch(emu.port, &host, &url_path);
        assert_eq!((status, got.as_slice()), (200, body), "{path}");
    }
    let events = run.events();
    assert!(
        events.iter().any(|e| e["event"] == "processing"),
        "the job's progress is shown: {events:?}"
    );

    // A second deploy of a changed folder replaces the site at the same address.
    sandbox_write(&site, "index.html", b"<h1>v2</h1>\n");
    let run = sb.run(&["deploy", site.to_str().unwrap(), "--to", "amplify"]);
    run.expect_code(0);
    assert!(
        run.stdout().contains(url) || run.stderr().contains(url),
        "the address is printed"
    );
    assert_eq!(fetch(emu.port, &host, "/").2, b"<h1>v2</h1>\n");

    // The same folder again: Amplify would take every byte again, so nothing is sent and
    // the result says so, and how to publish anyway.
    let run = sb.run(&["deploy", site.to_str().unwrap(), "--to", "amplify"]);
    run.expect_code(0);
    assert!(
        run.stdout().contains("(nothing changed)")
            && run.stdout().contains("no new deployment was made")
            && run.stdout().contains("--force"),
        "{}",
        run.stdout()
    );
    let run = sb.run(&[
        "deploy",
        site.to_str().unwrap(),
        "--to",
        "amplify",
        "--json",
        "--force",
    ]);
    run.expect_code(0);
    let done = run.last_event();
    assert_eq!(
        (&done["status"], &done["unchanged"], &done["uploaded"]),
        (&"live".into(), &true.into(), &3.into()),
        "{done}"
    );
    let rows = history(&sb);
    let statuses: Vec<&str> = rows.iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(
        statuses,
        ["live", "unchanged", "live", "live"],
        "newest first"
    );
}

fn sandbox_write(root: &std::path::Path, rel: &str, body: &[u8]) {
    std::fs::write(root.join(rel), body).unwrap();
}

#[test]
fn a_wrong_secret_exits_2_with_a_sentence() {
    let emu = EmulatorProcess::start(&[]);
    let mut sb = sandbox(&emu);
    sb.env.retain(|(k, _)| k != "AWS_SECRET_ACCESS_KEY");
    sb.env
        .push(("AWS_SECRET_ACCESS_KEY".into(), "not-the-secret".into()));
    let site = sb.folder("oops", &[("index.html", b"x")]);
    let run = sb.run(&[
        "deploy",
        site.to_str().unwrap(),
        "--to",
        "amplify",
        "--json",
    ]);
    run.expect_code(2);
    let err = run.last_event();
    assert_eq!(
        (err["event"].as_str(), err["status"].as_str()),
        (Some("done"), Some("failed"))
    );
    assert_eq!(err["kind"], "token_invalid");
    let message = err["message"].as_str().unwrap();
    assert!(message.contains("secret access key"), "{message}");
    let all = format!("{}{}", run.stdout(), run.stderr());
    assert!(
        !all.contains("not-the-secret"),
        "the secret is never printed"
    );
}

#[test]
fn no_aws_keys_names_the_variables() {
    let emu = EmulatorProcess::start(&[]);
    let mut sb = sandbox(&emu);
    sb.env
        .retain(|(k, _)| !k.starts_with("AWS_ACCESS") && !k.starts_with("AWS_SECRET"));
    let site = sb.folder("nokeys", &[("index.html", b"x")]);
    let run = sb.run(&[
        "deploy",
        site.to_str().unwrap(),
        "--to",
        "amplify",
        "--json",
    ]);
    run.expect_code(2);
    let err = run.last_event();
    assert_eq!(err["kind"], "no_credentials");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("AWS_ACCESS_KEY_ID"),
        "{err}"
    );
}

/// Peak memory of the CLI deploying a 1 GB site (DESIGN: under 150 MB). Generates 1,024 files
/// of 1 MiB each — half pseudo-random `.bin` (the zip's worst case: deflate finds nothing to
/// save), half compressible text — runs the real CLI against the emulator and reads the
/// child's peak RSS from `wait4`.
#[test]
#[ignore = "writes about 4 GB and takes a minute or two; run it explicitly"]
fn one_gigabyte_site_deploys_in_under_150_mb() {
    use std::io::Write;
    let emu = EmulatorProcess::start(&[]);
    let sb = sandbox(&emu);
    let site = sb.folder("big", &[("index.html", b"<h1>1 GB</h1>\n")]);
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut buf = vec![0u8; 1024 * 1024];
    for i in 0..1024 {
        let (dir, name) = (format!("d{:02}", i % 32), format!("f{i:04}"));
        std::fs::create_dir_all(site.join(&dir)).unwrap();
        let path = if i % 2 == 0 {
            for chunk in buf.chunks_mut(8) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
            }
            site.join(dir).join(format!("{name}.bin"))
        } else {
            let text = b"lorem ipsum dolor sit amet, consectetur adipiscing elit\n";
            for (j, b) in buf.iter_mut().enumerate() {
                *b = text[(j + i) % text.len()];
            }
            site.join(dir).join(format!("{name}.txt"))
        };
        std::fs::File::create(path)
            .unwrap()
            .write_all(&buf)
            .unwrap();
    }
    let started = std::time::Instant::now();
    // Reaped below with wait4, which also reports the child's peak memory.
    #[allow(clippy::zombie_processes)]
    let child = sb
        .cli()
        .args([
            "deploy",
            site.to_str().unwrap(),
            "--to",
            "amplify",
            "--json",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    // Read stdout on a thread so the pipe never fills, then reap the child with wait4 to
    // get its own resource usage.
    let mut stdout = child.stdout.unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut s).unwrap();
        s
    });
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our own child, not yet reaped; the pointers are valid for the call.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(reaped, pid);
    let out = reader.join().unwrap();
    let done: serde_json::Value = out
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .next_back()
        .unwrap();
    assert_eq!(done["event"], "done", "{out}");
    let peak_mib = usage.ru_maxrss as f64 / 1024.0; // Linux: kilobytes
    println!(
        "1 GB site ({} files) deployed to Amplify in {:.1} s; CLI peak RSS {:.1} MiB",
        done["files"],
        started.elapsed().as_secs_f64(),
        peak_mib
    );
    assert!(peak_mib < 150.0, "peak RSS {peak_mib:.1} MiB");
}
