"""The package's import graph: every pgan_tf module, the pgan_tf modules it imports (at any
depth in the file, lazy imports included), its layer (0 = imports nothing of the package) and
any import cycle. Reads the sources only (ast), imports nothing.

    python tools/import_graph.py            # modules by layer, then cycles
    python tools/import_graph.py --packages # the same, folded to subpackages
"""

import argparse
import ast
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def module_files(package_dir):
    """{module name: path} of every .py file under the package directory."""
    found = {}
    base = os.path.dirname(package_dir)
    for folder, _, files in os.walk(package_dir):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                mod = os.path.relpath(path, base)[:-3].replace(os.sep, ".")
                found[mod.removesuffix(".__init__")] = path
    return found


def imports_of(path, module, known):
    """The known modules a file imports (absolute and relative imports, lazy ones included)."""
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            names = [f"{base}.{a.name}" for a in node.names] + [base]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module and name != "pgan_tf":
                out.add(name)
    return out


def graph(package_dir):
    files = module_files(package_dir)
    return {m: imports_of(p, m, files) for m, p in sorted(files.items())}


def fold(edges, depth=2):
    """The graph with every module replaced by its first `depth` name parts (its subpackage)."""

    def key(m):
        return ".".join(m.split(".")[:depth])

    out = {}
    for m, deps in edges.items():
        out.setdefault(key(m), set()).update(key(d) for d in deps if key(d) != key(m))
    return out


def cycles(edges):
    """Strongly connected components with more than one node (Tarjan)."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
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
                found.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in edges:
        if v not in index:
            visit(v)
    return found


def layers(edges):
    """{module: layer}: 0 for modules importing nothing of the package, else 1 + max of deps."""
    memo = {}

    def layer(v, seen=()):
        if v in memo:
            return memo[v]
        if v in seen:
            return 0
        memo[v] = 1 + max((layer(w, seen + (v,)) for w in edges.get(v, ())), default=-1)
        return memo[v]

    return {v: layer(v) for v in edges}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", action="store_true", help="fold modules into subpackages")
    args = parser.parse_args(argv)
    edges = graph(os.path.join(ROOT, "pgan_tf"))
    if args.packages:
        edges = fold(edges)
    by_layer = {}
    for m, lay in layers(edges).items():
        by_layer.setdefault(lay, []).append(m)
    print(f"{len(edges)} modules, {sum(len(d) for d in edges.values())} import edges")
    for lay in sorted(by_layer):
        print(f"layer {lay}:")
        for m in sorted(by_layer[lay]):
            deps = ", ".join(sorted(edges[m])) or "-"
            print(f"  {m:40s} <- {deps}")
    found = cycles(edges)
    print(f"cycles: {found if found else 'none'}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
