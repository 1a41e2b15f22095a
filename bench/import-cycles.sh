#!/usr/bin/env bash
# List module-level import cycles in src/: module a imports module b (a `use crate::…`,
# `use super::…`, `use self::…` or `use child::…` line naming b or something inside b, or such a
# path written in code, e.g. `super::b::f()`) and b, directly or through other modules, imports a.
#
# Usage: bench/import-cycles.sh [--with-tests] [--with-parents] [--use-only] [--edges] [SRC_DIR]
#   --with-tests    also read `#[cfg(test)]` modules and tests.rs files (left out by default:
#                   a test may reach anywhere without making the code depend on it)
#   --with-parents  also count a module importing one of its ancestors (`use super::X` in a child
#                   of a mod.rs that declares it). Left out by default: a child reaching up to its
#                   parent's items is how Rust modules are built; the parent's `mod child;`
#                   is not an import. A cycle between two modules with a common parent is counted.
#   --use-only      count only `use` lines, not `crate::…`/`super::…` paths written in code
#   --edges         print every import edge found, then the cycles
# Prints one line per cycle (a strongly connected component of the import graph, largest first,
# with one path round it) and exits 1 if there is any, 0 with "no import cycles" if not.
# A module is a file: src/a/b.rs and src/a/b/mod.rs are `a::b`; src/lib.rs is `crate`;
# src/main.rs and src/bin/ are binaries and are left out.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 - "$@" <<'PY'
import os, re, sys

args = [a for a in sys.argv[1:] if not a.startswith("--")]
flags = {a for a in sys.argv[1:] if a.startswith("--")}
unknown = flags - {"--with-tests", "--with-parents", "--use-only", "--edges"}
if unknown:
    sys.exit(f"import-cycles: unknown option {sorted(unknown)[0]}")
src = args[0] if args else "src"
with_tests = "--with-tests" in flags
with_parents = "--with-parents" in flags


def module_of(path):
    rel = os.path.relpath(path, src)[: -len(".rs")].split(os.sep)
    if rel[-1] == "mod":
        rel = rel[:-1]
    if rel == ["lib"]:
        return ()
    return tuple(rel)


def strip_comments_and_strings(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r'r(#*)"(?:.|\n)*?"\1', '""', text)
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
    return text


def drop_test_modules(text):
    """Cut every `#[cfg(test)] mod name { … }` block and note `#[cfg(test)] mod name;`."""
    out, test_children, i = [], set(), 0
    pat = re.compile(r"#\[cfg\(test\)\]\s*(?:pub(?:\([a-z]+\))?\s+)?mod\s+(\w+)\s*([;{])")
    while True:
        m = pat.search(text, i)
        if not m:
            out.append(text[i:])
            break
        out.append(text[i : m.start()])
        if m.group(2) == ";":
            test_children.add(m.group(1))
            i = m.end()
            continue
        depth, j = 1, m.end()
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        i = j
    return "".join(out), test_children


def expand(tree):
    """`a::{b, c::{d, e}}` -> ["a::b", "a::c::d", "a::c::e"]."""
    tree = re.sub(r"\s+", "", tree)
    m = re.match(r"^(.*?)\{(.*)\}$", tree)
    if not m:
        return [re.sub(r"as\w+$", "", tree) if "::" in tree else tree]
    prefix, inner = m.groups()
    parts, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += {"{": 1, "}": -1}.get(ch, 0)
        cur += ch
    parts.append(cur)
    return [p for part in parts if part for p in expand(prefix + part)]


files = []
for root, _, names in os.walk(src):
    for n in names:
        if n.endswith(".rs"):
            files.append(os.path.join(root, n))
files = sorted(f for f in files if not (f == os.path.join(src, "main.rs") or os.sep + "bin" + os.sep in f))
if not with_tests:
    files = [f for f in files if os.path.basename(f) != "tests.rs"]
modules = {module_of(f): f for f in files}

edges = {}  # (from, to) -> first line that made it
for f in files:
    me = module_of(f)
    text = strip_comments_and_strings(open(f, encoding="utf-8").read())
    if not with_tests:
        text, test_children = drop_test_modules(text)
        for child in test_children:
            modules.pop(me + (child,), None)
    children = set(re.findall(r"(?:^|[;}\s])(?:pub(?:\([a-z]+\))?\s+)?mod\s+(\w+)\s*;", text))
    paths = []
    for m in re.finditer(r"(?:^|[;{}\s])(?:pub(?:\([a-z]+\))?\s+)?use\s+([^;]+);", text):
        paths += expand(m.group(1))
    if "--use-only" not in flags:
        paths += re.findall(r"(?<![\w:])((?:crate|super)(?:::\w+)+)", text)
    for p in paths:
        segs = [s for s in p.split("::") if s]
        if not segs:
            continue
        if segs[0] == "crate":
            base, rest = (), segs[1:]
        elif segs[0] in ("super", "self"):
            base, rest = me, segs
            while rest and rest[0] in ("super", "self"):
                if rest[0] == "super":
                    base = base[:-1]
                rest = rest[1:]
        elif segs[0] in children:
            base, rest = me, segs
        else:
            continue  # another crate (std, tokio, …)
        target = base
        for s in rest:
            if target + (s,) in modules:
                target = target + (s,)
            else:
                break
        if target == me or target not in modules:
            continue
        if not with_parents and me[: len(target)] == target:
            continue  # a child reaching its own ancestor
        edges.setdefault((me, target), p)

name = lambda m: "::".join(m) if m else "crate"
if "--edges" in flags:
    for (a, b), p in sorted(edges.items()):
        print(f"{name(a)} -> {name(b)}    ({p})")
    print()

graph = {}
for a, b in edges:
    graph.setdefault(a, set()).add(b)

# Tarjan's strongly connected components.
index, low, stack, on, sccs = {}, {}, [], set(), []
sys.setrecursionlimit(10000)


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
            sccs.append(comp)


for v in sorted(graph):
    if v not in index:
        visit(v)


def cycle_through(comp):
    """A shortest path from the component's first module back to itself, inside the component."""
    members, start = set(comp), min(comp)
    prev, frontier = {start: None}, [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph.get(v, ())):
                if w == start:
                    path = [v]
                    while prev[path[-1]] is not None:
                        path.append(prev[path[-1]])
                    return [start] + path[::-1][1:] + [start] if len(path) > 1 else [start, v, start]
                if w in members and w not in prev:
                    prev[w] = v
                    nxt.append(w)
        frontier = nxt
    return [start]


if not sccs:
    print(f"no import cycles among {len(modules)} modules ({len(edges)} import edges)")
    sys.exit(0)
for comp in sorted(sccs, key=lambda c: (-len(c), min(c))):
    cyc = cycle_through(comp)
    print(f"cycle of {len(comp)}: " + " -> ".join(name(m) for m in cyc)
          + ("" if len(comp) == len(cyc) - 1 else f"   (component: {', '.join(sorted(name(m) for m in comp))})"))
print(f"{len(sccs)} import cycle(s) among {len(modules)} modules ({len(edges)} import edges)")
sys.exit(1)
PY
