#!/usr/bin/env python3
"""Fails when the modules of a crate import each other in a cycle.

Reads every `.rs` file under each crate's `src/`, maps it to its module path (`s3::objects`),
and records an edge to every module it names through `crate::`, `super::` or `self::` (in `use`
items and in paths in code). Edges are then folded onto the modules directly under the crate
root and under each folder module (`s3`, `store`, ...): a cycle among siblings is reported with
one line per import that makes it. A child using its parent (`super::`) is not a cycle; a
parent re-exporting a child is not an import of it.

    scripts/module-cycles.py [crate-dir ...]     (default: app domain model server)
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def module_of(src: Path, file: Path) -> tuple:
    parts = list(file.relative_to(src).with_suffix("").parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts.pop()
    return tuple(parts)


PATH = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+|::\{)")
USE_GROUP = re.compile(r"\buse\s+(crate|super|self)::\{([^;]*)\};", re.S)


def strip(text: str) -> str:
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
    # Unit tests may use anything of their module's parents and siblings.
    cut = re.search(r"#\[cfg\(test\)\]\s*mod\s+tests\b", text)
    return text[: cut.start()] if cut else text


def resolve(base: tuple, head: str, rest: list, here: tuple, is_dir: bool) -> tuple:
    if head == "crate":
        path = ()
    elif head == "self":
        path = here
    else:  # super
        path = here[:-1]
    while rest and rest[0] == "super":
        path = path[:-1]
        rest = rest[1:]
    return path + tuple(rest)


def edges_of(crate: Path):
    src = crate / "src"
    modules = {}
    for file in sorted(src.rglob("*.rs")):
        if "bin" in file.relative_to(src).parts:
            continue
        modules[module_of(src, file)] = file
    known = set(modules)
    edges = []
    for here, file in modules.items():
        text = strip(file.read_text())
        is_dir = file.name in ("mod.rs", "lib.rs", "main.rs")
        found = []
        for m in USE_GROUP.finditer(text):
            head, body = m.group(1), m.group(2)
            for item in re.split(r",(?![^{]*\})", body):
                item = item.strip().split(" as ")[0]
                names = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", item.split("{")[0])
                if names:
                    found.append((head, names))
        for m in PATH.finditer(text):
            if m.group(2) == "::{":
                continue
            found.append((m.group(1), m.group(2).strip(":").split("::")))
        for head, names in found:
            target = resolve((), head, names, here, is_dir)
            # The longest known module the path names.
            while target and target not in known:
                target = target[:-1]
            if target != here:
                edges.append((here, target, file))
    return known, edges


def cycles(crate: Path) -> list:
    known, edges = edges_of(crate)
    problems = []
    folders = {m[:-1] for m in known if m} | {()}
    for folder in sorted(folders):
        depth = len(folder)
        graph = {}
        why = {}
        for here, there, file in edges:
            if here[:depth] != folder or there[:depth] != folder:
                continue
            if len(here) <= depth or len(there) <= depth:
                continue  # the folder module itself, or a path above it
            a, b = here[depth], there[depth]
            if a == b:
                continue
            graph.setdefault(a, set()).add(b)
            why.setdefault((a, b), f"{file.relative_to(ROOT)} uses {'::'.join(there)}")
        # Tarjan's strongly connected components.
        index, low, stack, on, out = {}, {}, [], set(), []

        def visit(v):
            index[v] = low[v] = len(index)
            stack.append(v)
            on.add(v)
            for w in graph.get(v, ()):
                if w not in index:
                    visit(w)
                    low[v] = min(low[v], low[w])
                elif w in on:
                    low[v] = min(low[v], index[w])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))

        for v in sorted(graph):
            if v not in index:
                visit(v)
        for comp in out:
            name = "::".join(folder) or "crate root"
            lines = [why[(a, b)] for a in comp for b in comp if (a, b) in why]
            problems.append(f"{crate.name} ({name}): cycle among {', '.join(comp)}\n    " + "\n    ".join(lines))
    return problems


def main() -> int:
    crates = sys.argv[1:] or ["app", "domain", "model", "server"]
    problems = []
    for name in crates:
        problems += cycles(ROOT / name)
    for p in problems:
        print(p)
    if problems:
        print(f"module-cycles: {len(problems)} cycle(s)")
        return 1
    print(f"module-cycles: none in {', '.join(crates)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
