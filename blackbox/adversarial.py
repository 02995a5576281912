"""The adversarial suite of the S3 endpoint: thousands of variants of genuine pre-signed URLs,
sent as exact bytes, each judged by what it must never do.

scripts/adversarial.sh runs it in three phases against one server and its data dir:

  adversarial.py seed   ENDPOINT FIXTURE BIN DATA   uploads the objects (as alice, with boto3)
  adversarial.py check  ENDPOINT FIXTURE BIN DATA   makes users' own URLs (boto3, SigV4 and SigV2)
                                                    and checks that every genuine URL works
  adversarial.py attack ENDPOINT FIXTURE BIN DATA   after the script killed some of them: sends
                                                    the variants of every URL, judges the answers,
                                                    compares the data and reads the audit

FIXTURE is a directory the script fills with the admin CLI's JSON: `user-NAME.json`
(`user create --json`) and `link-NAME.json` (`link create --json`); `check` adds `genuine.json`.
BIN and DATA run the admin CLI (`link show`, `audit`, `bucket list`).

A link's name says what the script does to it between `check` and `attack`: `live-…` links stay
alive, `revoked-…` are revoked, `expired-…` are issued for 2 s, and links named after a user of
FATES die with that user (bob's key is disabled, carol is disabled, dave's grant is removed).

A BYPASS is (a) a 2xx for any variant of a dead URL; (b) a 2xx for a variant of a live GET URL
with bytes other than the object's; (c) a 2xx for a variant that asks another method, bucket or
key than the genuine URL signs; (d) a 2xx for a URL living longer than the 7-day cap, however
validly signed; (e) a change of data other than the live PUT URLs' own objects. 5xx answers and
gaps in the audit fail the run too. A 4xx refusal of a harmless-looking variant is never a
failure: the endpoint may refuse whatever it finds ambiguous.
"""

import concurrent.futures
import dataclasses
import datetime
import hashlib
import http.client
import json
import os
import random
import re
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

REGION = "us-east-1"
WEEK = 7 * 24 * 3600
THREADS = 8

# What scripts/adversarial.sh does to these users before the attack.
FATES = {"bob": "key disabled", "carol": "user disabled", "dave": "grant removed"}
# How `link show` names the state of a link killed each way.
LINK_STATE = {
    "revoked": "revoked",
    "expired": "expired",
    "key disabled": "key disabled",
    "user disabled": "user disabled",
    "grant removed": "no permission",
}
# Every object, with distinct bytes, so that an answer from the wrong object is told apart.
OBJECTS = [
    "team/report.txt",
    "team/secret.txt",
    "team/dir/nested file.txt",
    "team/a+b.txt",
    "team/public/doc.txt",
    "team/drop/live-put.bin",
    "team/drop/user-put.bin",
    "team/drop/revoked-put.bin",
    "team/drop/carol-put.bin",
    "other/report.txt",
    "other/secret.txt",
]
# Parameters that authenticate a pre-signed URL (SigV4, then SigV2).
AUTH_PARAMS = [
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
    "AWSAccessKeyId",
    "Expires",
    "Signature",
]
# Lifetimes over the cap, signed as they are: SigV4 seconds, SigV2 seconds ahead of now. The
# first of each gets every variant; the others those that re-spell their parameters (FOCUSED).
OVER_CAP_V4 = [WEEK + 1, 8 * 24 * 3600, 2**32 - 1]
OVER_CAP_V2 = [WEEK + 3600, 365 * 24 * 3600, 2**31 - 1]
FOCUSED = {"replay", "encode-name-char", "dup-encoded-name", "encode-value"}


def content(path):
    """The seeded bytes of `BUCKET/KEY`."""
    return f"adversarial fixture object {path}\n".encode() * 3


# --- the admin CLI, boto3 and plain HTTP --------------------------------------------------------


class Cli:
    """The admin CLI on the suite's data dir."""

    def __init__(self, binary, data):
        self.prefix = [binary, "--data-dir", data]

    def json(self, *args):
        done = subprocess.run([*self.prefix, *args], check=True, capture_output=True, text=True)
        return json.loads(done.stdout)


def s3_client(endpoint, user, signature_version="s3v4"):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=user["access_key_id"],
        aws_secret_access_key=user["secret_access_key"],
        region_name=REGION,
        config=Config(signature_version=signature_version, s3={"addressing_style": "path"}),
    )


@dataclasses.dataclass(frozen=True)
class Genuine:
    """A URL as its issuer made it, and what it is entitled to."""

    name: str
    url: str
    method: str
    bucket: str
    key: str
    state: str  # live, dead, or over-cap
    why: str = ""  # what killed it, or its lifetime over the cap
    link_id: str = ""
    focused: bool = False  # only the FOCUSED variant classes

    @property
    def path(self):
        return urlsplit(self.url).path

    @property
    def pairs(self):
        """The query as sent: (raw name, raw value) pairs."""
        return [tuple(p.split("=", 1)) for p in urlsplit(self.url).query.split("&")]

    @property
    def signature_param(self):
        return "X-Amz-Signature" if "X-Amz-Signature" in dict(self.pairs) else "Signature"

    @property
    def signature(self):
        return dict(parse_qsl(urlsplit(self.url).query))[self.signature_param]

    @property
    def access_key(self):
        query = dict(parse_qsl(urlsplit(self.url).query))
        return query.get("AWSAccessKeyId") or query["X-Amz-Credential"].split("/")[0]


@dataclasses.dataclass
class Variant:
    cls: str
    genuine: Genuine
    method: str
    path: str
    query: str | None  # raw, exactly as sent; None: no `?` at all
    headers: tuple = ()  # (name, value) added; a value of None leaves the header out (Host)
    retarget: bool = False  # asks another bucket or key on purpose
    chunked: bool = False
    tag: str = ""

    @property
    def target(self):
        return self.path if self.query is None else f"{self.path}?{self.query}"

    @property
    def body(self):
        if self.method in ("PUT", "POST"):
            return f"adversarial upload {self.tag}\n".encode()
        return None

    def show(self):
        added = "".join(f" [{n}: {v}]" for n, v in self.headers)
        return f"{self.method} {self.target}{added}"


@dataclasses.dataclass
class Answer:
    status: int  # 0: no answer at all
    body: bytes = b""
    content_range: str = ""
    error: str = ""

    @property
    def code(self):
        found = re.search(rb"<Code>([^<]*)</Code>", self.body)
        return found.group(1).decode() if found else ""

    @property
    def xml_error(self):
        return b"<Error>" in self.body and bool(self.code)


class Sender:
    """Sends variants byte for byte (http.client leaves the target as given), one keep-alive
    connection per thread."""

    def __init__(self, endpoint):
        self.netloc = urlsplit(endpoint).netloc
        self.local = threading.local()

    def _connection(self):
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection(self.netloc, timeout=15)
        return conn

    def _drop(self):
        if getattr(self.local, "conn", None) is not None:
            self.local.conn.close()
        self.local.conn = None

    def headers(self, v):
        named = {n.lower() for n, _ in v.headers}
        out = [] if "host" in named else [("Host", self.netloc)]
        out += [(n, value) for n, value in v.headers if value is not None]
        # Tags tie each request to its audit events (request id, or the user agent).
        out += [("User-Agent", f"bucketshare-adversarial ({v.tag})"), ("X-Request-Id", v.tag)]
        if v.chunked:
            out.append(("Transfer-Encoding", "chunked"))
        elif v.body is not None:
            out.append(("Content-Length", str(len(v.body))))
        return out

    def send(self, v):
        try:
            return self._send(v)
        except (http.client.HTTPException, OSError):
            # The server may have closed a kept-alive connection in between: one fresh try.
            self._drop()
        try:
            return self._send(v)
        except (http.client.HTTPException, OSError) as err:
            self._drop()
            return Answer(0, error=repr(err))

    def _send(self, v):
        conn = self._connection()
        conn.putrequest(v.method, v.target, skip_host=True, skip_accept_encoding=True)
        for name, value in self.headers(v):
            conn.putheader(name, value)
        if v.chunked:
            conn.endheaders(iter([v.body]), encode_chunked=True)
        else:
            conn.endheaders(v.body)
        res = conn.getresponse()
        body = res.read()
        if res.will_close:
            self._drop()
        return Answer(res.status, body, res.getheader("Content-Range") or "")


class Checks:
    """`ok`/`FAIL` lines, counted like the other black-box scripts."""

    def __init__(self):
        self.passed = 0
        self.failed = []

    def __call__(self, ok, name, detail=""):
        if ok:
            self.passed += 1
            print(f"ok    {name}")
        else:
            self.failed.append(name)
            print(f"FAIL  {name}")
            for line in detail.splitlines():
                print(f"        {line}")
        return ok


# --- phases -------------------------------------------------------------------------------------


def load_users(fixture):
    return {p.stem[len("user-"):]: json.loads(p.read_text()) for p in fixture.glob("user-*.json")}


def seed(endpoint, fixture, _cli):
    alice = s3_client(endpoint, load_users(fixture)["alice"])
    for path in OBJECTS:
        bucket, key = path.split("/", 1)
        alice.put_object(Bucket=bucket, Key=key, Body=content(path))
    print(f"seeded {len(OBJECTS)} objects")
    return True


def link_fate(name):
    """What the script does to the link NAME (None: nothing, it stays alive)."""
    head = name.split("-")[0]
    return {"revoked": "revoked", "expired": "expired", **FATES}.get(head)


def issued_links(fixture):
    """The share links the script issued. Their names say their method (`…-get`, `…-put`) and
    fate; `attack` checks both against `link show`."""
    links = []
    for path in sorted(fixture.glob("link-*.json")):
        name = path.stem[len("link-"):]
        issued = json.loads(path.read_text())
        bucket, key = unquote(urlsplit(issued["url"]).path).lstrip("/").split("/", 1)
        fate = link_fate(name)
        links.append(
            Genuine(
                name=f"link {name}",
                url=issued["url"],
                method="PUT" if name.endswith("-put") else "GET",
                bucket=bucket,
                key=key,
                state="dead" if fate else "live",
                why=fate or "",
                link_id=issued["id"],
            )
        )
    return links


def users_own_urls(endpoint, users):
    """Pre-signed URLs users make themselves with boto3: SigV4 and SigV2 (HmacV1 query auth, as
    aws cli v1 makes them), live ones, ones that will die, and ones over the 7-day cap."""
    urls = []
    clients = {}

    def presign(user, version, method, bucket, key, expires):
        if (user, version) not in clients:
            clients[user, version] = s3_client(endpoint, users[user], "s3v4" if version == 4 else "s3")
        client = clients[user, version]
        op = "get_object" if method == "GET" else "put_object"
        return client.generate_presigned_url(op, Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires)

    def add(name, user, version, method, key, state, why="", expires=3600, focused=False):
        url = presign(user, version, method, "team", key, expires)
        urls.append(Genuine(f"{user} SigV{version} {name}", url, method, "team", key, state, why, focused=focused))

    add("GET", "alice", 4, "GET", "dir/nested file.txt", "live")
    add("GET", "alice", 2, "GET", "a+b.txt", "live")
    add("PUT", "alice", 4, "PUT", "drop/user-put.bin", "live")
    for version in (4, 2):
        add("GET 2 s", "alice", version, "GET", "report.txt", "dead", "expired", expires=2)
        for user, fate in FATES.items():
            add("GET", user, version, "GET", "report.txt", "dead", fate)
    add("PUT", "carol", 4, "PUT", "drop/carol-put.bin", "dead", FATES["carol"])
    for i, secs in enumerate(OVER_CAP_V4):
        add(f"GET {secs} s", "alice", 4, "GET", "report.txt", "over-cap", f"X-Amz-Expires={secs}", secs, i > 0)
    for i, secs in enumerate(OVER_CAP_V2):
        add(f"GET +{secs} s", "alice", 2, "GET", "report.txt", "over-cap", f"Expires=now+{secs}", secs, i > 0)
    return urls


def check(endpoint, fixture, _cli):
    """Every genuine URL works before anything is killed, or its refusals later would prove
    nothing. The 2-second link is tried first of all, before any CLI call or boto3 client."""
    checks = Checks()
    sender = Sender(endpoint)
    links = sorted(issued_links(fixture), key=lambda g: g.why != "expired")
    broken = [problem for g in links if (problem := try_genuine(sender, g))]
    own = users_own_urls(endpoint, load_users(fixture))
    tried = sorted((g for g in own if g.state != "over-cap"), key=lambda g: g.why != "expired")
    broken += [problem for g in tried if (problem := try_genuine(sender, g))]
    checks(
        not broken,
        f"all {len(links) + len(tried)} genuine URLs work before the attack ({len(links)} share "
        f"links, {len(tried)} users' own; SigV4 and SigV2; GET and PUT)",
        "\n".join(broken),
    )
    genuine = links + own
    (fixture / "genuine.json").write_text(json.dumps([dataclasses.asdict(g) for g in genuine], indent=1))
    return not checks.failed


def try_genuine(sender, g):
    """Uses a genuine URL as its holder would; what went wrong, if anything. A PUT uploads the
    seeded bytes again, so the object stays as it was."""
    expected = content(f"{g.bucket}/{g.key}")
    conn = http.client.HTTPConnection(sender.netloc, timeout=15)
    try:
        conn.request(g.method, urlsplit(g.url)._replace(scheme="", netloc="").geturl(),
                     body=expected if g.method == "PUT" else None, headers={"Host": sender.netloc})
        res = conn.getresponse()
        answer = Answer(res.status, res.read())
    except (http.client.HTTPException, OSError) as err:
        answer = Answer(0, error=repr(err))
    finally:
        conn.close()
    if answer.status == 200 and (g.method == "PUT" or answer.body == expected):
        return None
    return f"{g.name}: {answer.status} {answer.code or answer.error} {g.url}"


# --- variants -----------------------------------------------------------------------------------


def pct(ch, lower=False):
    return ("%%%02x" if lower else "%%%02X") % ord(ch)


def encode(value):
    """As the SDKs encode query values."""
    return quote(value, safe="-_.~")


def tweak(text, pos):
    """`text` with the character at `pos` changed, kind for kind (digit, letter, other)."""
    if not text:
        return "x"
    pos %= len(text)
    c = text[pos]
    if c.isdigit():
        new = str((int(c) + 1) % 10)
    elif c.isascii() and c.isalpha():
        new = chr((ord(c.lower()) - ord("a") + 1) % 26 + ord("a"))
        new = new.upper() if c.isupper() else new
    else:
        new = "x" if c != "x" else "y"
    return text[:pos] + new + text[pos + 1 :]


def shift_amz_date(value, seconds):
    try:
        at = datetime.datetime.strptime(value, "%Y%m%dT%H%M%SZ") + datetime.timedelta(seconds=seconds)
    except ValueError:
        return tweak(value, 0)
    return at.strftime("%Y%m%dT%H%M%SZ")


def alternatives(name, value, world):
    """Other plausible values of a parameter (decoded), each one edit away from `value`."""
    now = int(time.time())
    if name == "X-Amz-Signature":
        return [value.upper(), "0" * 64, value[:-1], value + "0", tweak(value, 0)]
    if name == "X-Amz-Credential":
        akid, date, region, service, end = (value.split("/") + [""] * 5)[:5]
        return [
            "/".join([world.other_akid, date, region, service, end]),
            "/".join([akid, shift_amz_date(date + "T000000Z", 86400)[:8], region, service, end]),
            "/".join([akid, date, "us-west-2", service, end]),
            "/".join([akid, date, region, "s4", end]),
            "/".join([akid, date, region, service, end + "2"]),
            "/".join([akid, date, region, service]),
        ]
    if name == "X-Amz-Date":
        return [shift_amz_date(value, 1), shift_amz_date(value, -86400), shift_amz_date(value, 86400), value[:-1]]
    if name == "X-Amz-Expires":
        more = str(int(value) + 1) if value.isdigit() else "1"
        return [more, "0", "-1", "604800", "604801", "3600.0", "0x10", " 60", "1e3"]
    if name == "X-Amz-SignedHeaders":
        return ["host;range", "host;x-amz-date", "", "HOST", "range"]
    if name == "X-Amz-Algorithm":
        return ["AWS4-HMAC-SHA512", value.lower(), "AWS4-ECDSA-P256-SHA256"]
    if name == "Expires":
        at = int(value) if value.isdigit() else now
        return [str(at + 1), str(at - 1), str(at + 3600), str(now + WEEK + 3600), "0", "-1", "+" + value]
    if name == "Signature":
        return [tweak(value, 0), tweak(value, 13), "A" * 27 + "=", value[:-1]]
    if name == "AWSAccessKeyId":
        return [world.other_akid, value.lower()]
    if name == "bucketshare-link":
        return [world.other_link(value), ""]
    if name.startswith("response-"):
        return ["inline", value + "x"]
    if name == "x-id":
        return ["PutObject", "DeleteObject", "ListObjectsV2"]
    return [tweak(value, 0)]


def join(pairs):
    return "&".join(n if v is None else f"{n}={v}" for n, v in pairs)


@dataclasses.dataclass
class World:
    """What variants borrow from outside their own URL."""

    port: int
    other_akid: str
    link_ids: list

    def other_link(self, link_id):
        return next((i for i in self.link_ids if i != link_id), "x")


def query_variants(g, world):
    """(class, pairs) for every edit of the query; each keeps the method, bucket and key."""
    pairs = g.pairs
    n = len(pairs)
    auth = [i for i, (name, _) in enumerate(pairs) if name in AUTH_PARAMS]

    def with_pair(i, pair):
        return pairs[:i] + [pair] + pairs[i + 1 :]

    def alt(name, value):
        return encode(alternatives(name, unquote(value), world)[0])

    yield "replay", pairs
    # Each parameter dropped, repeated, re-cased or emptied.
    for i, (name, value) in enumerate(pairs):
        yield "drop-param", pairs[:i] + pairs[i + 1 :]
        yield "dup-param-same", pairs + [(name, value)]
        yield "dup-param-same", pairs[: i + 1] + [(name, value)] + pairs[i + 1 :]
        yield "dup-param-other", [(name, alt(name, value))] + pairs
        yield "dup-param-other", pairs + [(name, alt(name, value))]
        for recased in {name.lower(), name.upper(), name.swapcase()} - {name}:
            yield "recase-name", with_pair(i, (recased, value))
        for recased in {value.lower(), value.upper()} - {value}:
            yield "recase-value", with_pair(i, (name, recased))
        yield "empty-value", with_pair(i, (name, ""))
        yield "empty-value", with_pair(i, (name, None))
    # One character of one name percent-encoded (upper and lower hex): another spelling of the
    # same name to any decoder, another name to a reader of the raw query.
    for i, (name, value) in enumerate(pairs):
        for j, ch in enumerate(name):
            yield "encode-name-char", with_pair(i, (name[:j] + pct(ch) + name[j + 1 :], value))
            if ch.isalpha() and (i in auth or j == 0):
                yield "encode-name-char", with_pair(i, (name[:j] + pct(ch, lower=True) + name[j + 1 :], value))
        yield "encode-name-whole", with_pair(i, ("".join(pct(c) for c in name), value))
    # The same parameter twice, spelt two ways: which one does each reader take?
    for i in auth:
        name, value = pairs[i]
        spelt = pct(name[0]) + name[1:]
        yield "dup-encoded-name", pairs + [(spelt, value)]
        yield "dup-encoded-name", with_pair(i, (name, alt(name, value))) + [(spelt, value)]
        yield "dup-encoded-name", with_pair(i, (spelt, value)) + [(name, alt(name, value))]
        yield "dup-encoded-name", [(spelt, alt(name, value))] + pairs
        yield "dup-encoded-name", pairs + [(name.lower(), value)]
    # Values spelt otherwise: escapes added, removed, in lower case, doubled; `+` and `%20`.
    for i, (name, value) in enumerate(pairs):
        if value:
            yield "encode-value", with_pair(i, (name, pct(value[0]) + value[1:]))
            yield "encode-value", with_pair(i, (name, value[:-1] + pct(value[-1], lower=True)))
            yield "encode-value", with_pair(i, (name, "".join(pct(c) for c in unquote(value))))
            yield "encode-value", with_pair(i, (name, re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), value)))
            plain = unquote(value)
            if plain != value and not re.search(r"[&#=+%\s\"]", plain):
                yield "encode-value", with_pair(i, (name, plain))
            yield "double-encode", with_pair(i, (name, "%25" + pct(value[0])[1:] + value[1:]))
            if "%" in value:
                yield "double-encode", with_pair(i, (name, value.replace("%", "%25")))
        yield "double-encode", with_pair(i, ("%25" + pct(name[0])[1:] + name[1:], value))
        if value and "%20" in value:
            yield "plus-space", with_pair(i, (name, value.replace("%20", "+")))
        if value and "%2B" in value:
            yield "plus-space", with_pair(i, (name, value.replace("%2B", "+")))
        if value is not None:
            yield "plus-space", with_pair(i, (name, value + "+"))
            yield "plus-space", with_pair(i, (name, "+" + value))
        yield "plus-space", with_pair(i, (name + "+", value))
    # Values changed: one character, or a plausible other value (a day later, another key…).
    for i, (name, value) in enumerate(pairs):
        plain = unquote(value or "")
        edits = {tweak(plain, 0), tweak(plain, len(plain) // 2), tweak(plain, -1)}
        edits |= set(alternatives(name, plain, world))
        for edited in sorted(edits - {plain}):
            yield "mutate-value", with_pair(i, (name, encode(edited)))
    # Re-ordered: a signature covers the sorted query, so these may pass; they must not change
    # which link, key or expiry each reader sees.
    yield "reorder", pairs[::-1]
    yield "reorder", pairs[1:] + pairs[:1]
    yield "reorder", sorted(pairs)
    yield "reorder", sorted(pairs, reverse=True)
    for i in range(1, n):
        yield "reorder", [pairs[i]] + pairs[:i] + pairs[i + 1 :]
    shuffler = random.Random(g.url)
    for _ in range(3):
        yield "reorder", shuffler.sample(pairs, n)
    # Parameters added: sub-resources that would change the operation, a second signature.
    now = int(time.time())
    extras = [
        ("x-id", "GetObject"),
        ("x-id", "PutObject"),
        ("X-Amz-Security-Token", "adversarial"),
        ("response-content-type", "text%2Fhtml"),
        ("response-content-disposition", "inline"),
        ("acl", ""),
        ("uploads", None),
        ("tagging", None),
        ("versionId", "null"),
        ("partNumber", "1"),
        ("uploadId", "adversarial"),
        ("list-type", "2"),
        ("delete", None),
        ("bucketshare-link", world.other_link("")),
        ("", ""),
        ("", None),
        ("X-Amz-Signature", "0" * 64),
        ("Signature", "A" * 27 + "="),
    ]
    for extra in extras:
        yield "add-param", pairs + [extra]
    yield "add-param", [("X-Amz-Signature", "0" * 64)] + pairs
    yield "add-param", [("Signature", "A" * 27 + "%3D")] + pairs
    # SigV2 and SigV4 parameters together, the foreign set first and last.
    if g.signature_param == "X-Amz-Signature":
        v2 = [("AWSAccessKeyId", g.access_key), ("Expires", str(now + 3600)), ("Signature", "A" * 27 + "%3D")]
        yield "sigv2-with-sigv4", v2 + pairs
        yield "sigv2-with-sigv4", pairs + v2
        signature_last = [p for p in pairs if p[0] != "X-Amz-Signature"] + v2 + [
            p for p in pairs if p[0] == "X-Amz-Signature"
        ]
        yield "sigv2-with-sigv4", signature_last
    else:
        date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        v4 = [
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
            ("X-Amz-Credential", encode(f"{g.access_key}/{date[:8]}/{REGION}/s3/aws4_request")),
            ("X-Amz-Date", date),
            ("X-Amz-Expires", "3600"),
            ("X-Amz-SignedHeaders", "host"),
            ("X-Amz-Signature", "0" * 64),
        ]
        yield "sigv2-with-sigv4", v4 + pairs
        yield "sigv2-with-sigv4", pairs + v4


def path_variants(g):
    """(path, retarget) for re-encoded, normalised and re-aimed paths."""
    p, b = g.path, g.bucket
    rest = p[len(b) + 2 :]  # the key as the URL spells it
    other = "other" if b != "other" else "team"
    # Spellings of the same bucket and key.
    same = [
        f"/{b}/" + rest.replace("/", "%2F"),
        f"/{b}%2F{rest}",
        f"/{b}%2f{rest}",
        f"/{b}/./{rest}",
        f"/./{b}/{rest}",
        f"//{b}/{rest}",
        f"/{b}//{rest}",
        f"/{b}/zz/../{rest}",
        f"/{b}/zz/%2E%2E/{rest}",
        f"/{other}/../{b}/{rest}",
        f"{p}/",
        f"/{pct(b[0])}{b[1:]}/{rest}",
        f"/{pct(b[0], lower=True)}{b[1:]}/{rest}",
        f"/{b}/{pct(rest[0])}{rest[1:]}",
        f"/{b}/{rest[:-1]}{pct(rest[-1], lower=True)}",
        f"/{b}/" + "".join(pct(c) if c.isalnum() else c for c in rest),
        f"/{b}/{rest}".replace("%", "%25", 1) if "%" in rest else f"/{b}/%25{pct(rest[0])[1:]}{rest[1:]}",
        f"http://127.0.0.1:{urlsplit(g.url).port}{p}",
        f"http://evil.example{p}",
    ]
    if "%20" in rest:
        same.append(f"/{b}/" + rest.replace("%20", "+"))
    if "%2B" in rest:
        same.append(f"/{b}/" + rest.replace("%2B", "+"))
    yield from ((path, False) for path in same)
    # Other buckets and keys.
    elsewhere = [
        f"/{b}/secret.txt",
        f"/{other}/{rest}",
        f"/{b}",
        f"/{b}/",
        "/",
        f"/{b}/{rest}x",
        f"/{b}/{rest[:-1]}",
        f"/{b}/{rest.upper()}",
        f"/{b.upper()}/{rest}",
        f"/{b}/public/../secret.txt",
        f"/{b}/../{other}/{rest}",
        f"/{b}/{rest}/..",
        f"/{b}/{rest};x",
        f"/{b}/{rest}%00",
        f"/{b}/{rest}%00.jpg",
        f"/{b}/{rest}%23x",
        f"/{b}/{rest}%3Fx",
        f"/{b}/{rest}%5C..%5Csecret.txt",
        f"/{b}/{rest}%2F..%2Fsecret.txt",
    ]
    if "%2B" in rest:
        elsewhere.append(f"/{b}/" + rest.replace("%2B", "%20"))
    yield from ((path, True) for path in elsewhere if path != p)


def header_variants(g, world):
    """Headers added to (or replacing those of) a genuine request."""
    akid = g.access_key
    date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    host = f"127.0.0.1:{world.port}"
    v4_header = (
        f"AWS4-HMAC-SHA256 Credential={akid}/{date[:8]}/{REGION}/s3/aws4_request, "
        f"SignedHeaders=host;x-amz-date, Signature={'0' * 64}"
    )
    yield (("Authorization", v4_header),)
    yield (("Authorization", v4_header), ("X-Amz-Date", date))
    yield (("Authorization", f"AWS {akid}:{'A' * 27}="),)
    yield (("Authorization", f"AWS {akid}:{'A' * 27}="), ("X-Amz-Date", date))
    yield (("Authorization", "Bearer adversarial"),)
    yield (("Authorization", ""),)
    yield (("X-Amz-Date", date),)
    yield (("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"),)
    yield (("X-Amz-Security-Token", "adversarial"),)
    yield (("x-amz-copy-source", "team/secret.txt"),)
    yield (("x-amz-copy-source", "/other/secret.txt"),)
    yield (("Range", "bytes=0-4"),)
    yield (("Range", "bytes=-3"),)
    yield (("Range", "bytes=5-"),)
    yield (("Host", f"localhost:{world.port}"),)
    yield (("Host", "127.0.0.1"),)
    yield (("Host", "127.0.0.1:1"),)
    yield (("Host", "evil.example"),)
    yield (("Host", f"{g.bucket}.127.0.0.1:{world.port}"),)
    yield (("Host", f"{g.bucket}.localhost:{world.port}"),)
    yield (("Host", None),)
    yield (("Host", host), ("Host", "evil.example"))
    yield (("X-HTTP-Method-Override", "DELETE"),)
    yield (("X-HTTP-Method-Override", "PUT"),)
    yield (("X-Original-URL", "/team/secret.txt"),)
    yield (("X-Rewrite-URL", "/team/secret.txt"),)
    yield (("X-Forwarded-Host", "evil.example"),)
    yield (("X-Forwarded-Proto", "https"),)
    yield (("Forwarded", "host=evil.example;proto=https"),)
    yield (("Content-Type", "text/html"),)
    yield (("Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg=="),)
    yield (("Expect", "100-continue"),)


def variants_of(g, world):
    query = urlsplit(g.url).query
    for cls, pairs in query_variants(g, world):
        if cls in FOCUSED or not g.focused:
            yield Variant(cls, g, g.method, g.path, join(pairs))
    if g.focused:
        return
    for path, retarget in path_variants(g):
        yield Variant("path", g, g.method, path, query, retarget=retarget)
    for method in ("GET", "PUT", "DELETE", "HEAD", "POST"):
        if method != g.method:
            yield Variant("method", g, method, g.path, query)
    for headers in header_variants(g, world):
        yield Variant("header", g, g.method, g.path, query, headers=headers)
    if g.method == "PUT":
        yield Variant("header", g, g.method, g.path, query, chunked=True)
    yield Variant("path", g, g.method, g.path, None, retarget=False)  # no query at all


def all_variants(genuine, world):
    """Every variant once: an edit that gives an earlier request again is not sent twice."""
    seen = set()
    out = []
    for g in genuine:
        for v in variants_of(g, world):
            key = (g.name, v.method, v.target, v.headers, v.chunked)
            if key not in seen:
                seen.add(key)
                v.tag = f"adv-{len(out):05d}"
                out.append(v)
    return out


# --- judging ------------------------------------------------------------------------------------


def genuine_bytes(v, answer):
    """Whether a 2xx to a GET carries the genuine object's bytes (or a range of them)."""
    expected = content(f"{v.genuine.bucket}/{v.genuine.key}")
    if answer.status == 206:
        found = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", answer.content_range)
        if not found:
            return False
        start, end, total = map(int, found.groups())
        return total == len(expected) and answer.body == expected[start : end + 1]
    return answer.body == expected


def bypass(v, answer):
    """The rule a 2xx answer breaks, if any."""
    if not 200 <= answer.status < 300:
        return None
    g = v.genuine
    if g.state == "dead":
        return f"(a) {g.why} URL served"
    if g.state == "over-cap":
        return f"(d) over the 7-day cap ({g.why}) served"
    if v.method != g.method:
        return f"(c) {v.method} through a {g.method} URL"
    if v.retarget:
        return "(c) another bucket or key served"
    if g.method == "GET" and not genuine_bytes(v, answer):
        return "(b) bytes other than the object's"
    return None


def carries_signature(v, g):
    """Whether the query, decoded as any form decoder does, holds g's signature exactly once
    under its exact name: such a request is an attempt to use that link."""
    pairs = parse_qsl(v.query or "", keep_blank_values=True)
    return pairs.count((g.signature_param, g.signature)) == 1


def auth_refusal(answer):
    return answer.status in (401, 403) or (answer.status == 400 and answer.code.startswith("Authorization"))


def inventory(endpoint, users, cli):
    """Every bucket (as the CLI lists them) and the SHA-256 of every object (read by inspector,
    who may read every bucket)."""
    buckets = sorted(b["name"] for b in cli.json("bucket", "list", "--json"))
    s3 = s3_client(endpoint, users["inspector"])
    objects = {}
    for bucket in buckets:
        # botocore asks for encoding-type=url and decodes the keys itself.
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        try:
            keys = [obj["Key"] for page in pages for obj in page.get("Contents", [])]
        except ClientError as err:
            objects[f"{bucket}/"] = f"not listed: {err}"
            continue
        for key in keys:
            try:
                body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
                objects[f"{bucket}/{key}"] = hashlib.sha256(body).hexdigest()
            except ClientError as err:
                objects[f"{bucket}/{key}"] = f"not read: {err}"
    return buckets, objects


def dump(results, path):
    """One JSON line per variant and its answer, for whoever chases a finding."""
    with open(path, "w") as out:
        for v, a in results:
            line = {
                "tag": v.tag,
                "class": v.cls,
                "genuine": v.genuine.name,
                "state": v.genuine.state,
                "request": v.show(),
                "status": a.status,
                "code": a.code,
                "bypass": bypass(v, a),
            }
            out.write(json.dumps(line) + "\n")


def statuses(answers):
    counts = Counter(a.status for a in answers)
    return " ".join(f"{s or 'none'}×{n}" for s, n in sorted(counts.items()))


def attack(endpoint, fixture, cli):
    checks = Checks()
    users = load_users(fixture)
    genuine = [Genuine(**g) for g in json.loads((fixture / "genuine.json").read_text())]
    links = [g for g in genuine if g.link_id]
    dead_links = [g for g in links if g.state == "dead"]
    wait_for_expiry(fixture)
    shown = {g.link_id: cli.json("link", "show", g.link_id, "--json") for g in links}
    check_link_states(checks, links, shown)
    before = inventory(endpoint, users, cli)

    world = World(
        port=urlsplit(endpoint).port,
        other_akid=users["inspector"]["access_key_id"],
        link_ids=[g.link_id for g in links],
    )
    variants = all_variants(genuine, world)
    sender = Sender(endpoint)
    started_ms = int(time.time() * 1000)
    began = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        results = list(zip(variants, pool.map(sender.send, variants)))
    print(f"sent {len(variants)} variants of {len(genuine)} genuine URLs in {time.monotonic() - began:.1f} s ({THREADS} threads)")
    if os.environ.get("ADVERSARIAL_RESULTS"):
        dump(results, os.environ["ADVERSARIAL_RESULTS"])

    by_class = defaultdict(list)
    for v, a in results:
        by_class[v.cls].append((v, a))
    print_coverage(by_class)
    bypasses = check_bypasses(checks, by_class)
    check_answers(checks, results)
    changed = check_data(checks, genuine, before, inventory(endpoint, users, cli))
    for g in dead_links:
        check_audit(checks, cli, g, results, started_ms)
    grew = []
    for g in dead_links:
        after = cli.json("link", "show", g.link_id, "--json")["access_count"]
        if after != shown[g.link_id]["access_count"]:
            grew.append(f"{g.name} ({g.why}): {shown[g.link_id]['access_count']} -> {after}")
    checks(not grew, f"the access counts of the {len(dead_links)} dead share links did not grow", "\n".join(grew))

    print(f"adversarial: {len(variants)} variants, {bypasses + changed} bypasses")
    return not checks.failed


def wait_for_expiry(fixture):
    """Until the 2-second link and users' 2-second URLs (made just before genuine.json was
    written) are past their expiry."""
    links = [json.loads(p.read_text())["expires_at"] for p in fixture.glob("link-expired-*.json")]
    own = (fixture / "genuine.json").stat().st_mtime + 2
    time.sleep(max(0.0, max([own, *links]) + 1.5 - time.time()))


def check_link_states(checks, links, shown):
    wrong = []
    for g in links:
        expected = (g.method, g.bucket, g.key, LINK_STATE.get(g.why, "active"))
        got = tuple(shown[g.link_id][field] for field in ("method", "bucket", "key", "state"))
        if got != expected:
            wrong.append(f"{g.name}: {got}, expected {expected}")
    checks(
        not wrong,
        f"the CLI shows each of the {len(links)} share links as issued, in the state the script put it in",
        "\n".join(wrong),
    )


def print_coverage(by_class):
    """What was sent, class by class, and what came back."""
    print(f"  {'variant class':<20} {'sent':>5} {'live':>5} {'dead':>5} {'over-cap':>8}  statuses")
    for cls, got in by_class.items():
        states = Counter(v.genuine.state for v, _ in got)
        print(
            f"  {cls:<20} {len(got):>5} {states['live']:>5} {states['dead']:>5} {states['over-cap']:>8}  "
            f"{statuses(a for _, a in got)}"
        )


def check_bypasses(checks, by_class):
    """One check per variant class, with examples of what got through; the number of bypasses."""
    total = 0
    for cls, got in by_class.items():
        found = [(v, a, rule) for v, a in got if (rule := bypass(v, a))]
        total += len(found)
        detail = "\n".join(f"{rule} — {v.genuine.name}: {v.show()} -> {a.status}" for v, a, rule in found[:4])
        if len(found) > 4:
            detail += f"\n… and {len(found) - 4} more"
        checks(not found, f"no bypass among {len(got)} variants: {cls}", detail)
    return total


def check_answers(checks, results):
    """No 5xx and no dropped connection; refusals that are not S3 XML errors are counted."""
    failures = [(v, a) for v, a in results if a.status >= 500 or a.status == 0]
    detail = "\n".join(
        f"{v.genuine.name} [{v.cls}]: {v.show()} -> {a.status or a.error} {a.code}" for v, a in failures[:8]
    )
    if len(failures) > 8:
        detail += f"\n… {len(failures)} in all: {dict(Counter(v.cls for v, _ in failures))}"
    checks(not failures, "every variant answered, none with a 5xx", detail)
    odd = [(v, a) for v, a in results if a.status >= 400 and v.method != "HEAD" and not a.xml_error]
    print(f"refusals without an S3 XML error body: {len(odd)}")
    for v, a in odd[:5]:
        print(f"        {v.genuine.name} [{v.cls}]: {v.show()} -> {a.status} {a.body[:60]!r}")


def check_data(checks, genuine, before, after):
    """(e): only the live PUT URLs' own objects may have changed; the number of other changes."""
    (buckets_before, objects_before), (buckets_after, objects_after) = before, after
    writable = {f"{g.bucket}/{g.key}" for g in genuine if g.state == "live" and g.method == "PUT"}
    changed = sorted(
        path
        for path in set(objects_before) | set(objects_after)
        if objects_before.get(path) != objects_after.get(path) and path not in writable
    )
    if buckets_after != buckets_before:
        changed.append(f"buckets {buckets_before} -> {buckets_after}")
    checks(
        not changed,
        f"no data changed but the live PUT URLs' own objects ({len(objects_after)} objects in "
        f"{len(buckets_after)} buckets hashed before and after)",
        "\n".join(changed),
    )
    return len(changed)


def check_audit(checks, cli, g, results, started_ms):
    """Every refused attempt at the dead link g is a refusal event of g."""
    wanted = {v.tag: (v, a) for v, a in results if a.status >= 400 and carries_signature(v, g)}
    missing, how = audit_gaps(cli, g, wanted, started_ms)
    by_cls = defaultdict(list)
    for v, a, problem in missing:
        by_cls[v.cls].append((v, a, problem))
    detail = "\n".join(
        f"{cls}: {len(got)}, e.g. {got[0][0].show()} -> {got[0][1].status} {got[0][1].code}: {got[0][2]}"
        for cls, got in by_cls.items()
    )
    checks(
        not missing,
        f"audit of link {g.name.split()[-1]} ({g.why}): all {len(wanted)} refused variants "
        f"carrying its signature are refusals of that link ({how})",
        detail,
    )


def audit_gaps(cli, g, wanted, started_ms):
    """The variants of `wanted` (tag → (variant, answer)) not recorded as refusals of link g,
    and how they were matched. Events are written in batches just after the answers: the audit
    is read again while something is missing and it still grows, for 5 s at most."""
    deadline = time.monotonic() + 5
    seen = -1
    while True:
        events = cli.json("audit", "--link", g.link_id, "--json", "--limit", "0")
        missing, how = unrecorded(events, wanted, started_ms)
        if not missing or len(events) == seen or time.monotonic() > deadline:
            return missing, how
        seen = len(events)
        time.sleep(0.3)


def unrecorded(events, wanted, started_ms):
    """Matches events to requests by the tag each request carries (X-Request-Id, or the user
    agent); a server that keeps neither is held to the count of its denied events instead. An
    authentication refusal (401, 403, 400 Authorization…) must be a `denied` event; another
    refusal (a 405, a malformed request) may be `failed`."""
    tagged = defaultdict(set)
    for e in events:
        in_agent = re.search(r"\((adv-\d+)\)", e.get("user_agent") or "")
        for tag in (e.get("request_id"), in_agent and in_agent.group(1)):
            if tag in wanted:
                tagged[tag].add(e["outcome"])
    if not tagged and wanted:
        denied = sum(1 for e in events if e["outcome"] == "denied" and e["at"] >= started_ms)
        short = max(0, len(wanted) - denied)
        return [(v, a, "uncounted") for v, a in list(wanted.values())[:short]], f"{denied} denied events counted"
    missing = []
    for tag, (v, a) in wanted.items():
        outcomes = tagged.get(tag, set())
        if not outcomes:
            missing.append((v, a, "no event of the link"))
        elif auth_refusal(a) and "denied" not in outcomes:
            missing.append((v, a, f"recorded as {'/'.join(sorted(outcomes))}, not denied"))
        elif not outcomes & {"denied", "failed"}:
            missing.append((v, a, f"recorded as {'/'.join(sorted(outcomes))}"))
    return missing, "matched one by one"


def main():
    phase, endpoint, fixture, binary, data = sys.argv[1:6]
    run = {"seed": seed, "check": check, "attack": attack}[phase]
    sys.exit(0 if run(endpoint, Path(fixture), Cli(binary, data)) else 1)


if __name__ == "__main__":
    main()
