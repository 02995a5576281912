"""Upload pages, measured (not tested): a 256 MiB file sent through an upload page as its script
sends it (8 MiB parts, three at a time), and one part at a time, against boto3's multipart
upload of the same bytes to the same bucket (8 MiB parts, 4 at once), in one run.
Each is the best of three.

Usage: python bench/uploads.py PATH/TO/bucketshare
(scripts/bench.sh runs it with the release build.) Prints a Markdown table.
"""

import argparse
import concurrent.futures
import http.client
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.parse

import boto3
import boto3.s3.transfer
import botocore.config

sys.path.insert(0, os.path.dirname(__file__))
from bench import MIB, Bucketshare  # noqa: E402

SIZE = 256 * MIB


def call(url, method, path, body=None, headers=None):
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    conn.request(method, parts.path + path, body=body, headers=headers or {})
    res = conn.getresponse()
    data = res.read()
    conn.close()
    if res.status >= 300:
        raise RuntimeError(f"{method} {path}: {res.status} {data[:200]!r}")
    return json.loads(data) if data else None


def through_page(url, data, name, parallel):
    """Seconds to send `data` through the upload page at `url`, `parallel` parts at a time."""
    start = time.monotonic()
    offered = call(url, "POST", "/uploads", json.dumps({"name": name, "size": len(data)}),
                   {"content-type": "application/json"})
    part = offered["part_size"]
    view = memoryview(data)

    def send(n):
        call(url, "PUT", f"/uploads/{offered['id']}/{n + 1}", view[n * part:(n + 1) * part])

    with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
        list(pool.map(send, range(offered["parts"])))
    call(url, "POST", f"/uploads/{offered['id']}/done")
    return time.monotonic() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--seconds", type=int, default=10)  # taken for bench.sh; unused
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="bucketshare-uploads-bench-")
    bs = Bucketshare(args.binary, work, "uploads")
    try:
        user = json.loads(bs.cli("user", "create", "bench", "--can-create-buckets", "--json"))
        bs.start()
        s3 = boto3.client(
            "s3", endpoint_url=bs.endpoint, region_name="us-east-1",
            aws_access_key_id=user["access_key_id"], aws_secret_access_key=user["secret_access_key"],
            config=botocore.config.Config(signature_version="s3v4", s3={"addressing_style": "path"},
                                          max_pool_connections=16),
        )
        s3.create_bucket(Bucket="bench")
        page = json.loads(bs.cli("link", "create", "s3://bench/inbox/", "--as", "bench",
                                 "--upload", "--json"))["url"]
        data = os.urandom(SIZE)
        path = os.path.join(work, "file.bin")
        with open(path, "wb") as f:
            f.write(data)
        config = boto3.s3.transfer.TransferConfig(
            multipart_threshold=8 * MIB, multipart_chunksize=8 * MIB, max_concurrency=4)
        rows = []
        for label, run in [
            ("boto3 multipart PUT (8 MiB parts, 4 at once)",
             lambda i: s3.upload_file(path, "bench", f"boto3/{i}.bin", Config=config)),
            ("upload page, 3 parts at a time (as its script sends them)",
             lambda i: through_page(page, data, f"par{i}.bin", 3)),
            ("upload page, one part at a time",
             lambda i: through_page(page, data, f"seq{i}.bin", 1)),
        ]:
            best = None
            for i in range(3):
                start = time.monotonic()
                run(i)
                took = time.monotonic() - start
                best = took if best is None else min(best, took)
            rows.append((label, SIZE / MIB / best, best))
        base = rows[0][1]
        print("\n| 256 MiB upload | MB/s | seconds | × boto3 |")
        print("|---|---:|---:|---:|")
        for label, rate, secs in rows:
            print(f"| {label} | {rate:.1f} | {secs:.2f} | {rate / base:.2f} |")
    finally:
        bs.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
