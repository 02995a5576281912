"""An upload page as a program drives its script's calls, over raw HTTP (standard library only).

- A 20 MiB file whose first part is cut off halfway (the connection closed mid-body), then
  resumed: the page says which parts arrived, the rest is sent, the file completes. Its bytes
  are written to WORK/resumed.bin for the caller to compare with what the store holds.
- 20 uploads to one page at once: each lands, each under its own name.
- A name such as ../../other-bucket/x lands inside the page's folder, as x.
- Nothing of the folder can be read or listed through the page.

Usage: python blackbox/upload_page.py PAGE_URL WORK_DIR
Prints `ok    …` lines, and `landed: NAME` for each file that arrived; exits 1 on a failure.
"""

import http.client
import json
import socket
import sys
import threading
import urllib.parse

url, work = sys.argv[1], sys.argv[2]
parsed = urllib.parse.urlsplit(url)
host, port, base = parsed.hostname, parsed.port or 80, parsed.path


def fail(what):
    print(f"FAIL  {what}")
    sys.exit(1)


def call(method, path, body=None, headers=None):
    conn = http.client.HTTPConnection(host, port, timeout=60)
    conn.request(method, base + path, body=body, headers=headers or {})
    res = conn.getresponse()
    data = res.read()
    conn.close()
    try:
        return res.status, json.loads(data)
    except ValueError:
        return res.status, data.decode("utf-8", "replace")


def offer(name, size):
    body = json.dumps({"name": name, "size": size, "type": "application/octet-stream"})
    return call("POST", "/uploads", body, {"content-type": "application/json"})


def send(name, data):
    status, offered = offer(name, len(data))
    if status != 201:
        return status, offered
    part = offered["part_size"]
    for n in range(offered["parts"]):
        chunk = data[n * part:(n + 1) * part]
        status, said = call("PUT", f"/uploads/{offered['id']}/{n + 1}", chunk)
        if status != 200:
            return status, said
    return call("POST", f"/uploads/{offered['id']}/done")


# 1. Cut off mid-part, then resumed.
data = bytes((i * 7) % 251 for i in range(20 << 20))
status, offered = offer("resumed.bin", len(data))
if status != 201:
    fail(f"offer: {status} {offered}")
upload, part = offered["id"], offered["part_size"]
raw = socket.create_connection((host, port))
raw.sendall(
    (
        f"PUT {base}/uploads/{upload}/1 HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Content-Length: {part}\r\n\r\n"
    ).encode()
)
raw.sendall(data[: part // 2])
raw.close()
status, state = call("GET", f"/uploads/{upload}")
if status != 200 or state["arrived"] != []:
    fail(f"after the cut, the page says {status} {state}")
for n in range(offered["parts"]):
    status, said = call("PUT", f"/uploads/{upload}/{n + 1}", data[n * part:(n + 1) * part])
    if status != 200:
        fail(f"part {n + 1}: {status} {said}")
status, done = call("POST", f"/uploads/{upload}/done")
if status != 200:
    fail(f"done: {status} {done}")
with open(f"{work}/resumed.bin", "wb") as f:
    f.write(data)
print(f"landed: {done['name']}")
print("ok    an upload cut off mid-part (connection closed) resumes: the page keeps what arrived")

# 2. Twenty at once.
results = []
lock = threading.Lock()


def one(i):
    got = send("batch.txt", f"file number {i}\n".encode())
    with lock:
        results.append(got)


threads = [threading.Thread(target=one, args=(i,)) for i in range(20)]
for t in threads:
    t.start()
for t in threads:
    t.join()
names = sorted(r[1]["name"] for r in results if r[0] == 200)
if len(names) != 20 or len(set(names)) != 20:
    fail(f"20 concurrent uploads: {[r[0] for r in results]}, names {names}")
for name in names:
    print(f"landed: {name}")
print("ok    20 concurrent uploads to one page all land, each under its own name")

# 3. A name that climbs out stays in.
status, done = send("../../other-bucket/x", b"stays inside\n")
if status != 200 or done["name"] != "x":
    fail(f"../../other-bucket/x: {status} {done}")
print(f"landed: {done['name']}")
print("ok    a name like ../../other-bucket/x lands inside the page's folder, as x")

# 4. Nothing read or listed through the page.
for path in ["/download", "/zip", "/preview", "/download?path=x", "/zip?path=",
             "/uploads", f"/uploads/{upload}"]:
    status, body = call("GET", path)
    text = body if isinstance(body, str) else json.dumps(body)
    if status in (200, 206) or "stays inside" in text or "batch" in text:
        fail(f"GET {path}: {status} {text[:200]}")
print("ok    the page neither lists nor reads its folder (download, zip, preview, path)")
