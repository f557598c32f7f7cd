"""The site every official client deploys in `make test-peers`: names that break naive
encoders, both Unicode normal forms, empty files, a 5 MiB binary and 20 levels of folders.

Contents are derived from the names (and a fixed-seed generator for the binary), so every run
writes the same bytes."""

import os
import random
import unicodedata

# Names with the characters that are encoded differently by URL, form and shell quoting:
# space, + & % ' ( ), and non-ASCII text in composed (NFC) and decomposed (NFD) form.
AWKWARD = [
    "a b.txt",
    "plus+sign.txt",
    "this&that.txt",
    "100%.txt",
    "it's.txt",
    "(parens).txt",
    "mixed + & % ' ( ).txt",
    "dir with spaces/inner file.txt",
    unicodedata.normalize("NFC", "caf\u00e9/cr\u00e8me br\u00fbl\u00e9e.txt"),
    unicodedata.normalize("NFD", "na\u00efve/\u00fcber.txt"),
    "\u2603 snow/\u65e5\u672c\u8a9e.txt",
]

EMPTY = ["empty.txt", "css/empty.css"]

BIG = "media/blob 5MiB.bin"
BIG_SIZE = 5 * 1024 * 1024

DEEP = "/".join(f"d{i}" for i in range(1, 21)) + "/leaf.txt"


def files():
    """(relative path, bytes) of every file of the site."""
    out = [
        ("index.html", b"<!doctype html><title>peers</title><h1>Sitedrop peers</h1>\n"),
        ("404.html", b"<!doctype html><h1>Not here</h1>\n"),
        ("css/site.css", b"body { margin: 0 }\n"),
    ]
    out += [(p, f"file {p}\n".encode()) for p in AWKWARD]
    out += [(p, b"") for p in EMPTY]
    rng = random.Random(19)
    out.append((BIG, rng.randbytes(BIG_SIZE)))
    out.append((DEEP, b"twenty levels down\n"))
    return out


def write(root):
    """Writes the site under `root` (which must not exist yet)."""
    for rel, body in files():
        path = os.path.join(root, *rel.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(body)
