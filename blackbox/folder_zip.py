"""A folder shared as one page, as its recipient gets it: Download all, checked entry by entry.

Usage: folder_zip.py tree ENDPOINT AK SK BUCKET WORKDIR
         uploads a tree with odd names under BUCKET/tree/ and prints nothing
       folder_zip.py check ZIP_URL WORKDIR
         downloads the zip and compares every entry (names and bytes) with the tree
       folder_zip.py many ENDPOINT AK SK BUCKET COUNT
         uploads COUNT files of 4 KiB under BUCKET/many/
       folder_zip.py rss ZIP_URL PID COUNT
         downloads the zip of COUNT files while sampling the server's resident memory; prints
         the growth in MiB and the zip's size and speed; fails if an entry is missing

Each prints `ok …` lines, or `FAIL …` and exits 1.
"""

import concurrent.futures
import io
import os
import sys
import threading
import time
import urllib.request
import zipfile

TREE = {
    "a.txt": b"alpha\n",
    "with space/b c.txt": b"bravo charlie\n",
    "ünïcode/ñame ✓.txt": "non-ASCII names kept\n".encode(),
    "plus+and%percent/x+y%z.bin": bytes(range(256)) * 64,
    "deep/er/and/deeper/file.txt": b"deep\n",
    "empty": b"",
}


def fail(what):
    print(f"FAIL  {what}")
    sys.exit(1)


def client(endpoint, ak, sk):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=ak,
        aws_secret_access_key=sk,
        region_name="us-east-1",
        config=Config(max_pool_connections=32, retries={"max_attempts": 3}),
    )


def tree(endpoint, ak, sk, bucket, _work):
    s3 = client(endpoint, ak, sk)
    for name, body in TREE.items():
        s3.put_object(Bucket=bucket, Key=f"tree/{name}", Body=body)
    # A folder marker, as consoles make them: no entry of its own in the zip.
    s3.put_object(Bucket=bucket, Key="tree/with space/", Body=b"")


def check(url, _work):
    with urllib.request.urlopen(url) as res:
        if res.status != 200:
            fail(f"Download all answered {res.status}")
        if res.headers["Content-Type"] != "application/zip":
            fail(f"Download all is {res.headers['Content-Type']}")
        disposition = res.headers["Content-Disposition"]
        body = res.read()
    if "tree.zip" not in disposition:
        fail(f"the zip is named by {disposition!r}")
    archive = zipfile.ZipFile(io.BytesIO(body))
    if archive.testzip() is not None:
        fail(f"a CRC is wrong: {archive.testzip()}")
    got = {info.filename: archive.read(info) for info in archive.infolist()}
    if got != TREE:
        fail(f"entries differ: {sorted(got)} vs {sorted(TREE)}")
    print(f"ok    Download all of a folder page: {len(got)} entries, names (spaces, +, %, "
          "non-ASCII) and bytes as uploaded, CRCs right, the folder marker no entry")


def many(endpoint, ak, sk, bucket, count):
    s3 = client(endpoint, ak, sk)
    body = b"x" * 4096

    def put(i):
        s3.put_object(Bucket=bucket, Key=f"many/{i // 1000:02}/f{i:05}.bin", Body=body)

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(put, range(int(count))))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def rss(url, pid, count):
    count = int(count)
    before = rss_kib(pid)
    peak = [before]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_kib(pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    start = time.monotonic()
    path = "/dev/shm/bucketshare-many.zip" if os.path.isdir("/dev/shm") else "many.zip"
    size = 0
    with urllib.request.urlopen(url) as res, open(path, "wb") as out:
        while chunk := res.read(1 << 20):
            size += len(chunk)
            out.write(chunk)
    took = time.monotonic() - start
    done.set()
    sampler.join()
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    os.remove(path)
    if len(names) != count or len(set(names)) != count:
        fail(f"the zip of {count} files holds {len(names)} entries")
    growth = (peak[0] - before) / 1024
    if growth > 64:
        fail(f"the server grew by {growth:.1f} MiB while zipping {count} files")
    print(f"ok    a {count}-file folder zips streamed: {size / 2**20:.1f} MiB in {took:.1f} s, "
          f"server memory {before / 1024:.0f} MiB, peak +{growth:.1f} MiB (ZIP64 end records: "
          f"{'yes' if count > 65535 else 'no'})")


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    {"tree": tree, "check": check, "many": many, "rss": rss}[mode](*args)
