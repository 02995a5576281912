"""Which ceph/s3-tests run against bucketshare: a pytest plugin (`-p s3tests_selection`).

It reads the exclusion list given with `--excluded FILE` (conformance/excluded.txt): one entry
per line, `KIND NAME: reason`, where KIND is

- `file`   a test module of the suite (`test_iam.py`): every test in it,
- `marker` one of the suite's pytest markers (`versioning`): every test carrying it,
- `test`   tests by name (`test_bucket_acl_default`), every parametrization of each; `*` and `?`
           match as in shell patterns (`test_*versioning*`).

and two kinds that keep the test in the run:

- `xfail`  a test of something bucketshare should do and does not yet: it runs, expected to fail
           (strictly: once it passes, the run fails until the entry is removed).
- `alone`  a test that needs the endpoint to itself (it counts every bucket the user has): left
           out of the parallel run, run by itself with `--alone`.

Every entry must name something the suite has, so the list cannot rot silently: an entry that
matches no collected test fails the run. Deselected tests are reported by pytest as such.
"""


import fnmatch

import pytest

KINDS = ("file", "marker", "test", "xfail", "alone")
TALLY = pytest.StashKey[dict]()


def pytest_addoption(parser):
    parser.addoption("--excluded", required=True, help="the list of tests left out, with reasons")
    parser.addoption("--alone", action="store_true", help="run only the tests listed as `alone`")


def read_entries(path):
    entries = []
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            head, sep, reason = line.partition(":")
            kind, _, name = head.strip().partition(" ")
            if not sep or not reason.strip() or kind not in KINDS or not name.strip():
                raise pytest.UsageError(f"{path}:{number}: expected `KIND NAME: reason` (KIND one of {', '.join(KINDS)}), got {line!r}")
            entries.append((kind, name.strip(), number, reason.strip()))
    return entries


def matches(item, kind, name):
    if kind == "file":
        return item.path.name == name
    if kind == "marker":
        return item.get_closest_marker(name) is not None
    # test, xfail, alone: by name.
    return fnmatch.fnmatchcase(getattr(item, "originalname", None) or item.name, name)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session, config, items):
    path = config.getoption("excluded")
    entries = read_entries(path)
    alone_pass = config.getoption("alone")
    used = set()
    keep, drop = [], []
    tally = {"all": len(items), "left out": 0, "xfail": 0, "alone": 0}
    for item in items:
        hits = [(kind, number, reason) for kind, name, number, reason in entries if matches(item, kind, name)]
        used.update(number for _, number, _ in hits)
        kinds = {kind for kind, _, _ in hits}
        left_out = kinds & {"file", "marker", "test"}
        tally["left out"] += bool(left_out)
        tally["xfail"] += not left_out and "xfail" in kinds
        tally["alone"] += not left_out and "alone" in kinds
        if left_out or ("alone" in kinds) != alone_pass:
            drop.append(item)
            continue
        for kind, _, reason in hits:
            if kind == "xfail":
                item.add_marker(pytest.mark.xfail(strict=True, reason=reason))
        keep.append(item)
    config.stash[TALLY] = tally
    # Only a run over the whole suite can tell that an entry names nothing.
    if not config.getoption("keyword") and not config.getoption("markexpr") and not config.args[1:]:
        unused = [f"{path}:{number}: {kind} {name}" for kind, name, number, _ in entries if number not in used]
        if unused:
            raise pytest.UsageError("excluded entries that match no test of the suite:\n" + "\n".join(unused))
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_terminal_summary(terminalreporter, config):
    tally = config.stash.get(TALLY, None)
    if tally:
        terminalreporter.write_line(
            f"selection: {tally['all']} tests in the suite, {tally['left out']} left out, "
            f"{tally['xfail']} expected to fail, {tally['alone']} run alone (conformance/excluded.txt)"
        )
