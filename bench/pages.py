"""Share pages, measured (not tested): a 64 MiB download through a page against the pre-signed
GET of the same object in the same run, a folder of 1,000 × 64 KiB files zipped, and the
landing page's latency with 64 connections.

Usage: python bench/pages.py PATH/TO/bucketshare [--seconds 10]
(scripts/bench.sh runs it with the release build.) Prints a Markdown table.
"""

import argparse
import concurrent.futures
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.request

import boto3
import botocore.config

sys.path.insert(0, os.path.dirname(__file__))
from bench import KIB, MIB, Bucketshare, wrk  # noqa: E402


def zip_rate(url, runs=3):
    """MB/s of a folder's zip downloaded whole, the best of `runs`, and its size."""
    best, size = 0.0, 0
    for _ in range(runs):
        start = time.monotonic()
        size = 0
        with urllib.request.urlopen(url) as res:
            while chunk := res.read(1 << 20):
                size += len(chunk)
        best = max(best, size / MIB / (time.monotonic() - start))
    return best, size


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="bucketshare-pages-bench-")
    bs = Bucketshare(args.binary, work, "pages")
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
        s3.put_object(Bucket="bench", Key="medium.bin", Body=os.urandom(64 * MIB))
        s3.put_object(Bucket="bench", Key="small.txt", Body=b"a small shared file\n" * 50,
                      ContentType="text/plain")
        chunk = os.urandom(64 * KIB)
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda i: s3.put_object(Bucket="bench", Key=f"folder/f{i:04}.bin", Body=chunk),
                          range(1000)))

        def page(target):
            out = bs.cli("link", "create", f"s3://bench/{target}", "--as", "bench", "--page", "--json")
            return json.loads(out)["url"]

        presigned = s3.generate_presigned_url(
            "get_object", Params={"Bucket": "bench", "Key": "medium.bin"}, ExpiresIn=3600)
        rows = []
        pid = bs.proc.pid
        print(f"Measuring (each {args.seconds} s):", flush=True)
        signed = wrk(presigned, 4, args.seconds, pid)
        rows.append(("64 MiB, pre-signed GET, 4 connections", signed))
        through = wrk(f"{page('medium.bin')}/download", 4, args.seconds, pid)
        rows.append(("64 MiB, share page download, 4 connections", through))
        landing = wrk(page("small.txt"), 64, args.seconds, pid)
        rows.append(("landing page (text preview), 64 connections", landing))
        rate, size = zip_rate(f"{page('folder/')}/zip")

        print()
        print("| case | req/s | MB/s | p50 ms | p99 ms | peak RSS MiB |")
        print("|---|---:|---:|---:|---:|---:|")
        for name, r in rows:
            print(f"| {name} | {r['req_per_s']:.1f} | {r['mb_per_s']:.1f} | {r['p50_ms']:.2f} | "
                  f"{r['p99_ms']:.2f} | {r['peak_rss_mib']:.0f} |")
        print()
        print(f"share page / pre-signed (64 MiB MB/s): {through['mb_per_s'] / signed['mb_per_s']:.2f}×")
        print(f"folder zip, 1,000 × 64 KiB ({size / MIB:.1f} MiB): {rate:.0f} MB/s (best of 3)")
    finally:
        bs.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
