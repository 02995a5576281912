#!/usr/bin/env python3
"""Every path ARCHITECTURE.md names exists: each `quoted` name that looks like a path (a `/` in
it, or a file extension) must be a tracked file or folder, given from the repository's root or
as the end of one (`s3/mod.rs` for server/src/s3/mod.rs). URLs (`/login`, `…/access`),
placeholders (`<noun>`, `a|b`) and what git ignores (outputs a run makes) are not checked. Usage: scripts/doc-paths.py [FILE…] (default ARCHITECTURE.md)."""
import re
import subprocess
import sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
tracked = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True, check=True).stdout.split()
folders = set()
for p in tracked:
    parts = Path(p).parts
    for i in range(1, len(parts)):
        folders.add("/".join(parts[:i]) + "/")
known = set(tracked) | folders
ends = [("/" + k) for k in known]

def exists(name):
    name = name.rstrip("/") + ("/" if name.endswith("/") else "")
    if name in known or name.rstrip("/") in known or name.rstrip("/") + "/" in known:
        return True
    return any(e.endswith("/" + name) or e.endswith("/" + name.rstrip("/") + "/") for e in ends)

missing = []
for doc in sys.argv[1:] or ["ARCHITECTURE.md"]:
    text = (root / doc).read_text(encoding="utf-8")
    for number, line in enumerate(text.splitlines(), 1):
        for name in re.findall(r"`([^`\s]+)`", line):
            looks_like_path = "/" in name or re.search(r"\.(rs|sh|toml|md|json|mjs|py|sql|ts)$", name)
            if not looks_like_path or name.startswith(("/", "…")) or any(c in name for c in "<|*?") or "://" in name:
                continue
            ignored = subprocess.run(["git", "check-ignore", "-q", name], cwd=root).returncode == 0
            if ignored:
                continue
            if not exists(name):
                missing.append(f"{doc}:{number}: `{name}` names no file or folder")
for line in missing:
    print(line)
if missing:
    sys.exit(1)
print("doc-paths: every path ARCHITECTURE.md names exists")
