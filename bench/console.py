#!/usr/bin/env python3
"""How quick the console's links, audit and bucket pages stay with 1,000,000 rows each.

Fills a fresh data dir with 1,000,000 share links, 1,000,000 audit events and a bucket of
1,000,000 objects (rows straight into SQLite, in one transaction each, and a small blob file
for each object, written an hour ago), times the release binary's start on it (until it
answers), signs in, and times the pages and server functions an admin uses (median of 5
calls). Run by scripts/bench.sh.
"""

import hashlib
import http.cookiejar
import json
import os
import random
import sqlite3
import statistics
import string
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from bench import Bucketshare  # noqa: E402

ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
PASSWORD = "benchmark-password-1"


def fill(db_path, rows):
    db = sqlite3.connect(db_path)
    user_id, key_id = db.execute(
        "SELECT u.id, k.id FROM iam_users u JOIN access_keys k ON k.user_id = u.id"
    ).fetchone()
    now = int(time.time())
    rnd = random.Random(7)
    alphabet = string.ascii_lowercase + "234567"
    started = time.monotonic()
    db.execute("BEGIN")
    db.executemany(
        "INSERT INTO share_links (id, bucket, object_key, method, user_id, access_key_id,"
        " created_by, created_at, expires_at, revoked_at, label, signature_hash, access_count)"
        " VALUES (?, 'bench', ?, 'GET', ?, ?, 'admin', ?, ?, ?, ?, ?, ?)",
        (
            (
                "l" + "".join(rnd.choices(alphabet, k=15)),
                f"docs/{i % 1000}/file-{i}.pdf",
                user_id,
                key_id,
                now - rnd.randrange(30 * 86400),
                now + rnd.randrange(-86400, 7 * 86400),
                now if i % 10 == 0 else None,
                f"label {i}" if i % 3 == 0 else None,
                hashlib.sha256(f"sig{i}".encode()).hexdigest(),
                rnd.randrange(50),
            )
            for i in range(rows)
        ),
    )
    db.execute("COMMIT")
    links_s = time.monotonic() - started
    started = time.monotonic()
    db.execute("BEGIN")
    now_ms = now * 1000
    db.executemany(
        "INSERT INTO audit_events (at, actor_kind, actor, access_key_id, link_id, action,"
        " bucket, object_key, outcome, status, bytes_sent, client_ip, user_agent)"
        " VALUES (?, ?, ?, ?, NULL, ?, 'bench', ?, ?, ?, ?, '198.51.100.7', 'curl/8')",
        (
            (
                now_ms - (rows - i) * 2000,
                "link" if i % 4 else "user",
                "bench" if i % 4 else f"user{i % 97}",
                key_id,
                "GetObject",
                f"docs/{i % 1000}/file-{i}.pdf",
                "denied" if i % 50 == 0 else "allowed",
                403 if i % 50 == 0 else 200,
                4096,
            )
            for i in range(rows)
        ),
    )
    # The hourly counts the audit writer keeps beside the events it writes (the dashboard's).
    db.execute(
        "INSERT INTO access_hours (hour, allowed, denied)"
        " SELECT at / 3600000, SUM(CASE WHEN outcome = 'allowed' THEN 1 ELSE 0 END),"
        " SUM(CASE WHEN outcome = 'allowed' THEN 0 ELSE 1 END) FROM audit_events"
        " WHERE actor_kind IN ('link', 'presigned') GROUP BY at / 3600000"
    )
    db.execute("COMMIT")
    audit_s = time.monotonic() - started
    started = time.monotonic()
    db.execute("BEGIN")
    db.executemany(
        "INSERT INTO objects (bucket, key, blob, size, etag, content_type, last_modified)"
        " VALUES ('bench', ?, ?, ?, '\"0\"', 'application/pdf', ?)",
        ((f"docs/{i % 1000}/file-{i}.pdf", blob_name(i), 4096 + i % 100_000, now - i) for i in range(rows)),
    )
    db.execute("COMMIT")
    objects_s = time.monotonic() - started
    db.execute("ANALYZE")
    db.close()
    return links_s, audit_s, objects_s


def blob_name(i):
    """Spread over the 256 shards as the store's own random names are."""
    return hashlib.md5(str(i).encode()).hexdigest()


def write_blobs(objects_dir, rows):
    """A 4-byte file per object row, modified an hour ago (the start's sweep looks at them)."""
    started = time.monotonic()
    an_hour_ago = time.time() - 3600
    blobs = os.path.join(objects_dir, "blobs")
    for shard in range(256):
        os.makedirs(os.path.join(blobs, f"{shard:02x}"), exist_ok=True)
    for i in range(rows):
        name = blob_name(i)
        path = os.path.join(blobs, name[:2], name)
        with open(path, "wb") as f:
            f.write(b"blob")
        os.utime(path, (an_hour_ago, an_hour_ago))
    return time.monotonic() - started


class Console:
    def __init__(self, base):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.csrf = ""

    def call(self, name, form):
        data = urllib.parse.urlencode(form).encode()
        req = urllib.request.Request(
            f"{self.base}/api/{name}", data=data,
            headers={"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"},
        )
        with self.opener.open(req) as res:
            return res.read()

    def get(self, path):
        with self.opener.open(f"{self.base}{path}") as res:
            return res.read()

    def sign_in(self):
        self.csrf = json.loads(self.call("session", {}))["csrf"]
        self.call("login", {"csrf": self.csrf, "username": "admin", "password": PASSWORD})


def timed(fn, runs=5):
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main():
    binary = sys.argv[1]
    work = tempfile.mkdtemp(prefix="bucketshare-console-bench-")
    bs = Bucketshare(binary, work)
    bs.cli("user", "create", "bench", "--json")
    bs.cli("bucket", "create", "bench", "--owner", "bench")
    print(f"Filling {ROWS:,} links, {ROWS:,} audit events and {ROWS:,} objects …", flush=True)
    links_s, audit_s, objects_s = fill(os.path.join(bs.data, "bucketshare.db"), ROWS)
    blobs_s = write_blobs(os.path.join(bs.data, "objects"), ROWS)
    started = time.monotonic()
    bs.start()
    ready_s = time.monotonic() - started
    console = Console(f"http://127.0.0.1:{bs.console_port}")
    console.sign_in()
    lq = lambda **kw: {f"query[{k}]": kw.get(k, "") for k in ("bucket", "user", "status", "search", "after")}
    aq = lambda **kw: {f"query[{k}]": kw.get(k, "") for k in ("actor", "action", "bucket", "outcome", "since", "until", "before")}
    first = json.loads(console.call("links/list", lq(status="all")))
    page_two = first[-1]["id"]
    events = json.loads(console.call("audit/page", aq()))
    deep = events[-1]["id"] - ROWS // 2
    cases = [
        ("links page (SSR HTML), working links", lambda: console.get("/links")),
        ("links/list working, a page of rows", lambda: console.call("links/list", lq(status="active"))),
        ("links/list all, a page of rows", lambda: console.call("links/list", lq(status="all"))),
        ("links/list all, next page", lambda: console.call("links/list", lq(status="all", after=page_two))),
        ("links/list by bucket and user", lambda: console.call("links/list", lq(status="all", bucket="bench", user="bench"))),
        ("audit page (SSR HTML)", lambda: console.get("/audit")),
        ("audit/page newest 100", lambda: console.call("audit/page", aq())),
        ("audit/page half-way down", lambda: console.call("audit/page", aq(before=str(deep)))),
        ("audit/page refusals only", lambda: console.call("audit/page", aq(outcome="denied"))),
        ("audit/page one rare actor", lambda: console.call("audit/page", aq(actor="user13"))),
        ("audit/page bucket + last day", lambda: console.call("audit/page", aq(bucket="bench", since=time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86400))))),
        ("dashboard", lambda: console.call("dashboard", {})),
        ("bucket page, Objects tab (SSR HTML)", lambda: console.get("/buckets/bench")),
        ("bucket page, a folder of 1,000 objects", lambda: console.get("/buckets/bench?prefix=docs/7/")),
        ("bucket page, Access tab (SSR HTML)", lambda: console.get("/buckets/bench/access")),
        ("user page (SSR HTML), 1,000,000 links", lambda: console.get("/users/bench")),
        ("bucket page, Links tab (SSR HTML)", lambda: console.get("/buckets/bench/links")),
        ("bucket page, Settings tab (counts the objects)", lambda: console.get("/buckets/bench/settings")),
        ("buckets list (counts the objects)", lambda: console.call("buckets/list", {})),
    ]
    rows = [(name, timed(fn)) for name, fn in cases]
    bs.stop()
    lines = [
        f"Console with {ROWS:,} share links, {ROWS:,} audit events and {ROWS:,} objects in one bucket"
        f" (filled in {links_s:.0f} s + {audit_s:.0f} s + {objects_s:.0f} s, blob files {blobs_s:.0f} s):",
        "",
        f"Start-up on it, until the endpoint answers: {ready_s:.2f} s",
        "",
        "| request | median ms (5 runs) |",
        "|---|---:|",
    ] + [f"| {name} | {ms:,.1f} |" for name, ms in rows]
    print("\n".join(lines))
    subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
