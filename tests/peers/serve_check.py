"""Compares what the emulator serves for a deploy with the folder it was made from."""

import http.client
import urllib.parse


def url_path(rel):
    """The path a browser requests for file `rel`: each UTF-8 byte outside the unreserved set
    percent-encoded (RFC 3986 §2), `/` kept. The names' bytes are sent as they are on disk, so
    an NFD name is asked for in NFD."""
    return "/" + urllib.parse.quote(rel, safe="/")


def fetch(port, host, path):
    """GET `path` from the emulator on 127.0.0.1:`port` as site `host`: (status, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path, headers={"Host": host})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def mismatches(port, host, files):
    """Every file of `files` ((rel, bytes) pairs) that `host` does not serve byte for byte,
    as sentences; empty when all match."""
    wrong = []
    for rel, body in files:
        path = url_path(rel)
        status, got = fetch(port, host, path)
        if status != 200 or got != body:
            wrong.append(f"{host}{path}: HTTP {status}, {len(got)} bytes (want 200, {len(body)} bytes)")
    return wrong
