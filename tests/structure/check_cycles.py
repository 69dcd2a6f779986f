#!/usr/bin/env python3
"""check_cycles.py — no call cycles between source files (docs/DESIGN.md: data flows one way).

Reads the global symbols each object file of the build defines and uses (nm), draws an edge from a file to the
file that defines a symbol it uses, and fails on every strongly connected set of two or more files. Test objects
are left out. --self-test runs the cycle finder on fabricated symbol tables first (one with a cycle, one without),
so the check itself is checked.

usage: check_cycles.py [--self-test] BUILD_DIR
"""
import os
import subprocess
import sys


def sccs(graph):
    """Tarjan: the strongly connected sets of two or more nodes."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
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

    sys.setrecursionlimit(100000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def file_graph(tables):
    """tables: {file: (defined symbols, used symbols)} -> {file: files whose symbols it uses}."""
    owner = {}
    for f, (defs, _) in tables.items():
        for s in defs:
            owner.setdefault(s, f)
    return {f: {owner[s] for s in uses if s in owner and owner[s] != f} for f, (_, uses) in tables.items()}


def self_test():
    cyc = {"a.c": ({"fa"}, {"fb"}), "b.c": ({"fb"}, {"fc"}), "c.c": ({"fc"}, {"fa"}), "d.c": ({"fd"}, {"fa"})}
    ok = {"a.c": ({"fa"}, {"fb"}), "b.c": ({"fb"}, {"fc"}), "c.c": ({"fc"}, set())}
    got_cyc, got_ok = sccs(file_graph(cyc)), sccs(file_graph(ok))
    if got_cyc != [["a.c", "b.c", "c.c"]] or got_ok:
        print(f"check_cycles: SELF-TEST FAILED: {got_cyc} / {got_ok}")
        return False
    print("check_cycles: self-test: a fabricated 3-file cycle found, an acyclic chain passed")
    return True


def main(argv):
    if "--self-test" in argv:
        argv = [a for a in argv if a != "--self-test"]
        if not self_test():
            return 1
    if len(argv) != 2:
        print(__doc__)
        return 2
    tables = {}
    for root, _, files in os.walk(argv[1]):
        if "/tests/" in root + "/" or "meson-" in root:
            continue
        for name in files:
            if not name.endswith(".o") or name.startswith("test_"):
                continue
            path = os.path.join(root, name)
            res = subprocess.run(["nm", "-g", path], capture_output=True, text=True)
            if res.returncode:
                print(f"check_cycles: nm {path}: {res.stderr.strip()}")
                return 1
            defs, uses = set(), set()
            for line in res.stdout.splitlines():
                p = line.split()
                if len(p) == 2 and p[0] == "U":
                    uses.add(p[1])
                elif len(p) == 3 and p[1] in "TDBRVWC":
                    defs.add(p[2])
            key = os.path.relpath(path, argv[1])
            tables[key] = (defs, uses)
    if len(tables) < 20:
        print(f"check_cycles: only {len(tables)} object files under {argv[1]}: is the build complete?")
        return 1
    cycles = sccs(file_graph(tables))
    for c in cycles:
        print("check_cycles: call cycle between " + " <-> ".join(c))
    print(f"check_cycles: {len(tables)} object files, {len(cycles)} cycle(s)")
    return 1 if cycles else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
