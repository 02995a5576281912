#!/usr/bin/env python3
"""Side-by-side benchmarks of bucketshare, nginx, s3s-fs and Garage on this machine, in one run.

Started by scripts/bench.sh, which installs wrk, nginx, s3s-fs, Garage and boto3 and builds
bucketshare in release mode. Every server listens on 127.0.0.1 only; load comes from wrk (or
boto3) in its own process, bounded in time. Results go to bench/results/<time>.json and .md; the
table is printed.

Cases (numbered as in the benchmark issue):
  1. pre-signed GET of a 4 KiB object, 64 connections
  2. pre-signed GET of a 64 MiB object, 4 connections
  3. SigV4 header-signed GET of a 4 KiB object (an IAM user's request)
  4. PUT of 64 MiB by multipart with boto3 (8 MiB parts, 4 at once), against `dd` writing the
     same bytes into the data dir's file system with fsync; 4b. the CompleteMultipartUpload of a
     1 GiB upload (128 parts of 8 MiB), alone
  5. ListObjectsV2 pages of 1,000 keys in a bucket of 1,000,000 objects (bucketshare only: the
     objects are index rows inserted straight into its database; filling a peer with a million
     objects through S3 takes longer than this whole run)
  6. share-link GET of a 4 KiB object, request audit on vs off
  7. RSS while streaming a 1 GiB object
Besides, cases 1 and 2 through bucketshare in front of Garage (`--store s3`): the cost of the
proxy hop.
"""

import argparse
import concurrent.futures
import datetime
import sqlite3
import statistics
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.config
import botocore.credentials
from boto3.s3.transfer import TransferConfig

KIB = 1024
MIB = 1024 * KIB


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, proc, what):
    for _ in range(200):
        if proc.poll() is not None:
            sys.exit(f"{what} exited at start (status {proc.returncode})")
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"{what} did not answer at {url}")


class RssSampler:
    """Samples a process's resident set size every 20 ms; `peak` is the largest seen (bytes)."""

    def __init__(self, pid):
        self.pid = pid
        self.peak = 0
        self.first = self.read()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def read(self):
        try:
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) * KIB
        except OSError:
            pass
        return 0

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.read())
            time.sleep(0.02)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def parse_duration(text):
    """wrk's latency text (`1.23ms`, `850.00us`, `1.02s`) in milliseconds."""
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not m:
        return None
    value, unit = float(m.group(1)), m.group(2)
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def parse_size(text):
    m = re.fullmatch(r"([\d.]+)([KMGT]?B)", text)
    if not m:
        return None
    return float(m.group(1)) * {"B": 1, "KB": KIB, "MB": MIB, "GB": 1024 * MIB, "TB": 1024**4}[m.group(2)]


def wrk(url, connections, seconds, pid, headers=()):
    """Runs wrk against `url`; returns req/s, MB/s, p50/p99 ms and the server's peak RSS."""
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "30s"]
    for h in headers:
        cmd += ["-H", h]
    cmd.append(url)
    with RssSampler(pid) as rss:
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        sys.exit(f"wrk saw {errors.group(1)} error responses from {url}:\n{out}")
    socket_errors = re.search(r"Socket errors: .*", out)
    result = {
        "req_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "mb_per_s": parse_size(re.search(r"Transfer/sec:\s+(\S+)", out).group(1)) / MIB,
        "p50_ms": parse_duration(re.search(r"\s50%\s+(\S+)", out).group(1)),
        "p99_ms": parse_duration(re.search(r"\s99%\s+(\S+)", out).group(1)),
        "peak_rss_mib": rss.peak / MIB,
    }
    if socket_errors:
        result["socket_errors"] = socket_errors.group(0)
    return result


class Bucketshare:
    def __init__(self, binary, work, name="bucketshare"):
        self.binary = binary
        self.data = os.path.join(work, f"{name}-data")
        self.log = open(os.path.join(work, f"{name}.log"), "a")
        self.s3_port = free_port()
        self.console_port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.s3_port}"
        self.proc = None

    def cli(self, *args, env=None):
        out = subprocess.run(
            [self.binary, "--data-dir", self.data, "--public-s3-url", self.endpoint, *args],
            capture_output=True, text=True, env=dict(os.environ, **(env or {})),
        )
        if out.returncode != 0:
            sys.exit(f"bucketshare {' '.join(args)}: {out.stderr}")
        return out.stdout

    def start(self, audit_requests=True, store_env=None):
        env = dict(os.environ, BUCKETSHARE_ADMIN_PASSWORD="benchmark-password-1", BUCKETSHARE_LOG="warn",
                   **(store_env or {}))
        self.proc = subprocess.Popen(
            [self.binary, "--data-dir", self.data, "serve",
             "--s3-addr", f"127.0.0.1:{self.s3_port}",
             "--console-addr", f"127.0.0.1:{self.console_port}",
             "--audit-requests", "true" if audit_requests else "false"],
            stdout=self.log, stderr=self.log, env=env,
        )
        wait_http(f"{self.endpoint}/healthz", self.proc, "bucketshare")

    def stop(self):
        if self.proc:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)
            self.proc = None


class Nginx:
    def __init__(self, work, root):
        self.port = free_port()
        self.dir = os.path.join(work, "nginx")
        os.makedirs(self.dir, exist_ok=True)
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""
daemon off;
worker_processes 2;
pid {self.dir}/nginx.pid;
error_log {self.dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path {self.dir}/body;
    proxy_temp_path {self.dir}/proxy;
    fastcgi_temp_path {self.dir}/fastcgi;
    uwsgi_temp_path {self.dir}/uwsgi;
    scgi_temp_path {self.dir}/scgi;
    server {{
        listen 127.0.0.1:{self.port};
        root {root};
    }}
}}
""")
        self.proc = subprocess.Popen(["nginx", "-c", conf, "-p", self.dir],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{self.port}"
        wait_http(f"{self.base}/", self.proc, "nginx")

    def worker_pids(self):
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout
        return [int(p) for p in out.split()] or [self.proc.pid]

    def stop(self):
        self.proc.send_signal(signal.SIGQUIT)
        self.proc.wait(timeout=30)


class S3sFs:
    """s3s-fs (crates.io): an S3 server on the same s3s library, files on disk, no IAM."""

    KEY, SECRET = "BENCHPEERKEY0000", "bench-peer-secret-0000000000000000000000"

    def __init__(self, work, files):
        self.port = free_port()
        self.root = os.path.join(work, "s3s-fs")
        os.makedirs(os.path.join(self.root, "bench"))
        for name in os.listdir(files):
            os.link(os.path.join(files, name), os.path.join(self.root, "bench", name))
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            ["s3s-fs", "--host", "127.0.0.1", "--port", str(self.port),
             "--access-key", self.KEY, "--secret-key", self.SECRET, self.root],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=dict(os.environ, RUST_LOG="error"),
        )
        wait_http(f"{self.endpoint}/", self.proc, "s3s-fs")
        self.s3 = boto3.client(
            "s3", endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id=self.KEY, aws_secret_access_key=self.SECRET,
            config=botocore.config.Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )

    def presign(self, key):
        return self.s3.generate_presigned_url(
            "get_object", Params={"Bucket": "bench", "Key": key}, ExpiresIn=3600)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)


class Garage:
    """A single-node Garage (built from crates.io by scripts/setup.sh --garage)."""

    def __init__(self, work, binary, files):
        self.binary = binary
        self.port, rpc, admin = free_port(), free_port(), free_port()
        self.dir = os.path.join(work, "garage")
        os.makedirs(self.dir)
        self.conf = os.path.join(self.dir, "garage.toml")
        with open(self.conf, "w") as f:
            f.write(f"""
metadata_dir = "{self.dir}/meta"
data_dir = "{self.dir}/data"
db_engine = "lmdb"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:{rpc}"
rpc_public_addr = "127.0.0.1:{rpc}"
rpc_secret = "{os.urandom(32).hex()}"
[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:{self.port}"
[admin]
api_bind_addr = "127.0.0.1:{admin}"
""")
        self.proc = subprocess.Popen([binary, "-c", self.conf, "server"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     env=dict(os.environ, RUST_LOG="error"))
        self.endpoint = f"http://127.0.0.1:{self.port}"
        wait_http(f"{self.endpoint}/", self.proc, "garage")
        node = ""
        for _ in range(50):
            node = self.garage("node", "id", "-q", check=False).split("@")[0].strip()
            if node:
                break
            time.sleep(0.2)
        self.garage("layout", "assign", "-z", "dc1", "-c", "10G", node)
        self.garage("layout", "apply", "--version", "1")
        created = self.garage("key", "create", "bench")
        self.key = re.search(r"Key ID:\s*(\S+)", created).group(1)
        self.secret = re.search(r"Secret key:\s*(\S+)", created).group(1)
        self.garage("key", "allow", "--create-bucket", self.key)
        self.s3 = boto3.client(
            "s3", endpoint_url=self.endpoint, region_name="garage",
            aws_access_key_id=self.key, aws_secret_access_key=self.secret,
            config=botocore.config.Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )
        self.s3.create_bucket(Bucket="bench")
        for name in ("small.bin", "medium.bin"):
            self.s3.upload_file(os.path.join(files, name), "bench", name)

    def garage(self, *args, check=True):
        out = subprocess.run([self.binary, "-c", self.conf, *args], capture_output=True, text=True)
        if check and out.returncode != 0:
            sys.exit(f"garage {' '.join(args)}: {out.stderr}")
        return out.stdout

    def store_env(self):
        """What bucketshare needs to keep its objects in this Garage."""
        return {"BUCKETSHARE_STORE": "s3", "BUCKETSHARE_STORE_ENDPOINT": self.endpoint,
                "BUCKETSHARE_STORE_REGION": "garage", "BUCKETSHARE_STORE_ACCESS_KEY": self.key,
                "BUCKETSHARE_STORE_SECRET_KEY": self.secret, "BUCKETSHARE_STORE_PATH_STYLE": "true",
                "BUCKETSHARE_STORE_BUCKET_PREFIX": "bs-"}

    def presign(self, key):
        return self.s3.generate_presigned_url(
            "get_object", Params={"Bucket": "bench", "Key": key}, ExpiresIn=3600)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)


def put_multipart(client, bucket, path, pid, runs=5):
    """Case 4: uploads `path` `runs` times by multipart; the median run's MB/s, peak RSS."""
    config = TransferConfig(multipart_threshold=8 * MIB, multipart_chunksize=8 * MIB, max_concurrency=4)
    size = os.path.getsize(path)
    times = []
    with RssSampler(pid) as rss:
        for i in range(runs):
            started = time.monotonic()
            client.upload_file(path, bucket, f"put-{i}.bin", Config=config)
            times.append(time.monotonic() - started)
    return {"mb_per_s": size / MIB / statistics.median(times), "peak_rss_mib": rss.peak / MIB,
            "p50_ms": statistics.median(times) * 1000, "p99_ms": max(times) * 1000}


def complete_time(client, bucket, path, runs=3):
    """Case 4b: a 1 GiB upload of 8 MiB parts (sent 4 at once, as boto3 does); the median time
    its CompleteMultipartUpload alone takes, once every part is in."""
    times = []
    for i in range(runs):
        key = f"complete-{i}.bin"
        upload = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]

        def send(number):
            with open(path, "rb") as f:
                f.seek((number - 1) * 8 * MIB)
                body = f.read(8 * MIB)
            out = client.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=number, Body=body)
            return {"PartNumber": number, "ETag": out["ETag"]}
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            parts = list(pool.map(send, range(1, os.path.getsize(path) // (8 * MIB) + 1)))
        started = time.monotonic()
        client.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload,
                                         MultipartUpload={"Parts": parts})
        times.append(time.monotonic() - started)
        client.delete_object(Bucket=bucket, Key=key)
    return {"p50_ms": statistics.median(times) * 1000, "p99_ms": max(times) * 1000}


def dd_write(src, directory, runs=5):
    """The same bytes written with dd into `directory` and fsynced: the disk's own pace."""
    times = []
    target = os.path.join(directory, "dd-bench.bin")
    for _ in range(runs):
        started = time.monotonic()
        subprocess.run(["dd", f"if={src}", f"of={target}", "bs=8M", "conv=fsync"],
                       check=True, capture_output=True)
        times.append(time.monotonic() - started)
        os.remove(target)
    size = os.path.getsize(src)
    return {"mb_per_s": size / MIB / statistics.median(times),
            "p50_ms": statistics.median(times) * 1000, "p99_ms": max(times) * 1000}


def fill_listing_bucket(db, bucket, count):
    """Case 5's bucket: `count` object rows inserted into bucketshare's index in one
    transaction (listing reads only the index; no object is ever fetched)."""
    con = sqlite3.connect(db)
    con.execute("PRAGMA busy_timeout = 10000")
    now = int(time.time())
    con.executemany(
        "INSERT INTO objects (bucket, key, blob, size, etag, last_modified) VALUES (?, ?, ?, 1, ?, ?)",
        ((bucket, f"dir/{i:07d}.txt", f"list-bench-{i:07d}", "0" * 32, now) for i in range(count)))
    con.commit()
    con.close()


def sigv4_headers(endpoint, key, secret, path, region="us-east-1"):
    """Authorization headers for one GET, valid for S3's 15-minute clock skew: every request
    wrk sends carries the same signature, as a client re-sending one signed request would."""
    creds = botocore.credentials.Credentials(key, secret)
    request = botocore.awsrequest.AWSRequest(method="GET", url=f"{endpoint}{path}")
    request.headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD"
    botocore.auth.S3SigV4Auth(creds, "s3", region).add_auth(request)
    return [f"{k}: {v}" for k, v in request.headers.items()]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--out", default="bench/results")
    args = parser.parse_args()
    # nginx's workers run as an unprivileged user and must reach the files: work in the
    # system's disk-backed temp dir (every parent traversable), not under a private home.
    work = tempfile.mkdtemp(prefix="bucketshare-bench-", dir="/var/tmp")
    os.chmod(work, 0o755)
    files = os.path.join(work, "files")
    os.makedirs(files, mode=0o755)
    sizes = {"small.bin": 4 * KIB, "medium.bin": 64 * MIB, "huge.bin": 1024 * MIB}
    for name, size in sizes.items():
        with open(os.path.join(files, name), "wb") as f:
            for _ in range(0, size, 4 * MIB):
                f.write(os.urandom(min(4 * MIB, size)))
            f.truncate(size)
        os.chmod(os.path.join(files, name), 0o644)

    bs = Bucketshare(args.binary, work)
    user = json.loads(bs.cli("user", "create", "bench", "--can-create-buckets", "--json"))
    bs.start()
    s3 = boto3.client(
        "s3", endpoint_url=bs.endpoint, region_name="us-east-1",
        aws_access_key_id=user["access_key_id"], aws_secret_access_key=user["secret_access_key"],
        config=botocore.config.Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    s3.create_bucket(Bucket="bench")
    for name in sizes:
        s3.upload_file(os.path.join(files, name), "bench", name)
    presign = lambda key: s3.generate_presigned_url(
        "get_object", Params={"Bucket": "bench", "Key": key}, ExpiresIn=3600)
    link = json.loads(bs.cli("link", "create", "s3://bench/small.bin", "--as", "bench", "--json"))["url"]
    nginx = Nginx(work, files)
    peer = S3sFs(work, files) if shutil.which("s3s-fs") else None
    garage_bin = os.environ.get("GARAGE_BIN")
    garage_bin = garage_bin if garage_bin and os.access(garage_bin, os.X_OK) else None
    secs = args.seconds
    rows = []

    def measure(case, server, url, conns, pid, headers=()):
        print(f"  case {case}: {server} …", flush=True)
        r = wrk(url, conns, secs, pid, headers)
        r.update(case=case, server=server, connections=conns)
        rows.append(r)
        return r

    print("Measuring (each", secs, "s):", flush=True)
    nginx_pid = nginx.worker_pids()[0]
    c1 = measure("1 presigned GET 4 KiB", "bucketshare", presign("small.bin"), 64, bs.proc.pid)
    n1 = measure("1 presigned GET 4 KiB", "nginx", f"{nginx.base}/small.bin", 64, nginx_pid)
    c2 = measure("2 presigned GET 64 MiB", "bucketshare", presign("medium.bin"), 4, bs.proc.pid)
    n2 = measure("2 presigned GET 64 MiB", "nginx", f"{nginx.base}/medium.bin", 4, nginx_pid)
    p1 = p2 = p3 = None
    if peer:
        p1 = measure("1 presigned GET 4 KiB", "s3s-fs", peer.presign("small.bin"), 64, peer.proc.pid)
        p2 = measure("2 presigned GET 64 MiB", "s3s-fs", peer.presign("medium.bin"), 4, peer.proc.pid)
        p3 = measure("3 SigV4 header GET 4 KiB", "s3s-fs", f"{peer.endpoint}/bench/small.bin", 64,
                     peer.proc.pid, sigv4_headers(peer.endpoint, peer.KEY, peer.SECRET, "/bench/small.bin"))
    headers = sigv4_headers(bs.endpoint, user["access_key_id"], user["secret_access_key"], "/bench/small.bin")
    c3 = measure("3 SigV4 header GET 4 KiB", "bucketshare", f"{bs.endpoint}/bench/small.bin", 64,
                 bs.proc.pid, headers)

    # Case 4: 64 MiB multipart PUTs, against dd into the same file system.
    def put(server, client, pid):
        print(f"  case 4: {server} …", flush=True)
        r = put_multipart(client, "bench", os.path.join(files, "medium.bin"), pid)
        r.update(case="4 multipart PUT 64 MiB", server=server, connections=4)
        rows.append(r)
        return r
    c4 = put("bucketshare", s3, bs.proc.pid)
    d4 = dd_write(os.path.join(files, "medium.bin"), bs.data)
    d4.update(case="4 multipart PUT 64 MiB", server="dd (fsync) into the data dir", connections=1)
    rows.append(d4)
    p4 = put("s3s-fs", peer.s3, peer.proc.pid) if peer else None
    print("  case 4b: completing a 1 GiB upload …", flush=True)
    c4b = complete_time(s3, "bench", os.path.join(files, "huge.bin"))
    c4b.update(case="4b CompleteMultipartUpload of 1 GiB (128 parts)", server="bucketshare", connections=1)
    rows.append(c4b)
    if peer:
        peer.stop()

    # Case 5: listing pages of 1,000 in a bucket of 1,000,000 objects.
    print("  case 5: filling a bucket with 1,000,000 object rows …", flush=True)
    s3.create_bucket(Bucket="list")
    fill_listing_bucket(os.path.join(bs.data, "bucketshare.db"), "list", 1_000_000)
    path = "/list?list-type=2&max-keys=1000&start-after=dir%2F0500000.txt"
    c5 = measure("5 ListObjectsV2 page of 1,000 (of 1,000,000)", "bucketshare", f"{bs.endpoint}{path}", 4,
                 bs.proc.pid, sigv4_headers(bs.endpoint, user["access_key_id"], user["secret_access_key"], path))
    started = time.monotonic()
    pages = sum(1 for _ in s3.get_paginator("list_objects_v2").paginate(Bucket="list", PaginationConfig={"PageSize": 1000}))
    walk = time.monotonic() - started
    rows.append({"case": f"5 walk all {pages:,} pages (boto3, one client)", "server": "bucketshare",
                 "connections": 1, "req_per_s": pages / walk, "p50_ms": walk / pages * 1000})

    # Garage: the peer, and bucketshare in front of it.
    g1 = g2 = g3 = g4 = f1 = f2 = f4 = None
    if garage_bin:
        garage = Garage(work, garage_bin, files)
        g1 = measure("1 presigned GET 4 KiB", "garage", garage.presign("small.bin"), 64, garage.proc.pid)
        g2 = measure("2 presigned GET 64 MiB", "garage", garage.presign("medium.bin"), 4, garage.proc.pid)
        g3 = measure("3 SigV4 header GET 4 KiB", "garage", f"{garage.endpoint}/bench/small.bin", 64,
                     garage.proc.pid, sigv4_headers(garage.endpoint, garage.key, garage.secret, "/bench/small.bin", "garage"))
        g4 = put("garage", garage.s3, garage.proc.pid)
        front = Bucketshare(args.binary, work, "bucketshare-garage")
        fuser = json.loads(front.cli("user", "create", "bench", "--can-create-buckets", "--json"))
        front.start(store_env=garage.store_env())
        fs3 = boto3.client(
            "s3", endpoint_url=front.endpoint, region_name="us-east-1",
            aws_access_key_id=fuser["access_key_id"], aws_secret_access_key=fuser["secret_access_key"],
            config=botocore.config.Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )
        fs3.create_bucket(Bucket="bench")
        for name in ("small.bin", "medium.bin"):
            fs3.upload_file(os.path.join(files, name), "bench", name)
        fpresign = lambda key: fs3.generate_presigned_url(
            "get_object", Params={"Bucket": "bench", "Key": key}, ExpiresIn=3600)
        f1 = measure("1 presigned GET 4 KiB", "bucketshare → garage", fpresign("small.bin"), 64, front.proc.pid)
        f2 = measure("2 presigned GET 64 MiB", "bucketshare → garage", fpresign("medium.bin"), 4, front.proc.pid)
        f4 = put("bucketshare → garage", fs3, front.proc.pid)
        front.stop()
        garage.stop()

    # Case 6: the same link, audit on and off, alternated to spread the noise.
    audit = {True: [], False: []}
    for on in (True, False, True, False):
        bs.stop()
        bs.start(audit_requests=on)
        label = "bucketshare audit " + ("on" if on else "off")
        audit[on].append(measure("6 link GET 4 KiB", label, link, 64, bs.proc.pid))
    events = int(subprocess.run(
        [sys.executable, "-c",
         "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("
         "\"SELECT COUNT(*) FROM audit_events WHERE action = 'GetObject'\").fetchone()[0])",
         os.path.join(bs.data, "bucketshare.db")],
        capture_output=True, text=True, check=True).stdout)
    mean = lambda rs: sum(r["req_per_s"] for r in rs) / len(rs)
    audit_ratio = mean(audit[True]) / mean(audit[False])

    # Case 7: one client streams 1 GiB; the server's RSS must stay flat.
    print("  case 7: bucketshare streaming 1 GiB …", flush=True)
    with RssSampler(bs.proc.pid) as rss:
        started = time.monotonic()
        subprocess.run(["curl", "-fsS", "-o", "/dev/null", presign("huge.bin")], check=True)
        elapsed = time.monotonic() - started
    growth = max(0, rss.peak - rss.first) / MIB
    rows.append({"case": "7 stream 1 GiB", "server": "bucketshare", "connections": 1,
                 "mb_per_s": 1024 / elapsed, "peak_rss_mib": rss.peak / MIB,
                 "rss_growth_mib": growth})
    bs.stop()
    nginx.stop()

    ratios = {
        "case 1 vs nginx": c1["req_per_s"] / n1["req_per_s"],
        "case 2 vs nginx": c2["mb_per_s"] / n2["mb_per_s"],
        "case 3 vs case 1": c3["req_per_s"] / c1["req_per_s"],
        **({
            "case 1 vs s3s-fs": c1["req_per_s"] / p1["req_per_s"],
            "case 2 vs s3s-fs": c2["mb_per_s"] / p2["mb_per_s"],
            "case 3 vs s3s-fs": c3["req_per_s"] / p3["req_per_s"],
        } if peer else {}),
        "case 4 vs dd": c4["mb_per_s"] / d4["mb_per_s"],
        "case 4b completing 1 GiB (ms)": c4b["p50_ms"],
        **({"case 4 vs s3s-fs": c4["mb_per_s"] / p4["mb_per_s"]} if peer else {}),
        **({
            "case 1 vs garage": c1["req_per_s"] / g1["req_per_s"],
            "case 2 vs garage": c2["mb_per_s"] / g2["mb_per_s"],
            "case 3 vs garage": c3["req_per_s"] / g3["req_per_s"],
            "case 4 vs garage": c4["mb_per_s"] / g4["mb_per_s"],
            "bucketshare → garage vs garage, case 1": f1["req_per_s"] / g1["req_per_s"],
            "bucketshare → garage vs garage, case 2": f2["mb_per_s"] / g2["mb_per_s"],
            "bucketshare → garage vs garage, case 4": f4["mb_per_s"] / g4["mb_per_s"],
        } if garage_bin else {}),
        "case 6 audit on / off": audit_ratio,
        "case 7 RSS growth (MiB)": growth,
    }
    machine = {
        "cpus": os.cpu_count(),
        "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?"),
        "mem_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3, 1),
        "kernel": os.uname().release,
    }
    result = {"when": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "machine": machine, "seconds_per_case": secs, "rows": rows, "ratios": ratios,
              "audit_events_written": events,
              "not_measured_here": ["case 5 on the peers (filling them with 1,000,000 objects)"]
              + ([] if peer else ["peer s3s-fs (not installed)"])
              + ([] if garage_bin else ["peer Garage (not installed)"])}
    table = markdown(result)
    os.makedirs(args.out, exist_ok=True)
    stamp = result["when"].replace(":", "").replace("+0000", "Z")
    with open(os.path.join(args.out, f"{stamp}.json"), "w") as f:
        json.dump(result, f, indent=2)
    with open(os.path.join(args.out, f"{stamp}.md"), "w") as f:
        f.write(table)
    print()
    print(table)
    shutil.rmtree(work, ignore_errors=True)


def markdown(result):
    fmt = lambda v, d=1: "-" if v is None else f"{v:,.{d}f}"
    m = result["machine"]
    lines = [
        f"bucketshare benchmark, {result['when']}: {m['cpus']} × {m['cpu']}, {m['mem_gib']} GiB, "
        f"Linux {m['kernel']}; wrk -t2, {result['seconds_per_case']} s per measurement, loopback.",
        "",
        "| case | server | conns | req/s | MB/s | p50 ms | p99 ms | peak RSS MiB |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['case']} | {r['server']} | {r['connections']} | {fmt(r.get('req_per_s'), 0)} | "
            f"{fmt(r.get('mb_per_s'))} | {fmt(r.get('p50_ms'), 2)} | {fmt(r.get('p99_ms'), 2)} | "
            f"{fmt(r.get('peak_rss_mib'))} |")
    lines += ["", "| ratio | value |", "|---|---:|"]
    for k, v in result["ratios"].items():
        lines.append(f"| {k} | {v:.2f} |")
    lines += ["", f"Audit events written during case 6: {result['audit_events_written']:,}.",
              "Not measured by this harness yet: " + "; ".join(result["not_measured_here"]) + ".", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
