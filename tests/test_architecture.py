"""The package's shape (docs/design.md §1): subpackages import one way only, no cycles, no
single-letter module aliases, every command is `python -m pgan_tf.<command>` with main(argv), and
the scripts users call by path are thin wrappers."""

import ast
import os
import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = None

import pytest

from tools import import_graph

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(REPO, "pgan_tf")

# A module may import modules of its own rank or lower; "commands" are the modules at the top of
# the package (python -m pgan_tf.<name>).
RANKS = {
    "pgan_tf": 0,
    "pgan_tf.core": 0,
    "pgan_tf.data": 1,
    "pgan_tf.model": 1,
    "pgan_tf.metrics": 2,
    "pgan_tf.training": 3,
    "pgan_tf.serving": 4,
    "pgan_tf.official": 4,
    "pgan_tf.media": 4,
    "commands": 5,
    "pgan_tf.ablation": 6,
}
COMMANDS = [
    "train",
    "evaluate",
    "generate",
    "serving_rest",
    "import_official",
    "create_tfrecords",
    "export_saved_model",
]


def _group(module):
    parts = module.split(".")
    if len(parts) == 1:
        return "pgan_tf"
    group = ".".join(parts[:2])
    return group if group in RANKS else "commands"


def test_import_graph_has_no_cycles():
    assert import_graph.cycles(import_graph.graph(PACKAGE)) == []


def test_subpackages_import_only_downwards():
    upward = []
    for module, deps in import_graph.graph(PACKAGE).items():
        for dep in deps:
            if RANKS[_group(dep)] > RANKS[_group(module)]:
                upward.append(f"{module} -> {dep}")
    assert upward == []


def test_data_and_model_do_not_know_each_other():
    edges = import_graph.fold(import_graph.graph(PACKAGE))
    assert "pgan_tf.model" not in edges["pgan_tf.data"]
    assert "pgan_tf.data" not in edges["pgan_tf.model"]


def _python_files(*roots):
    for root in roots:
        for folder, _, files in os.walk(os.path.join(REPO, root)):
            if "fixtures" in folder:
                continue
            yield from (os.path.join(folder, f) for f in files if f.endswith(".py"))


def test_no_single_letter_module_aliases():
    found = []
    for path in _python_files("pgan_tf", "tests", "benchmarks", "data_prep", "export", "tools"):
        tree = ast.parse(open(path).read(), path)
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                found += [
                    f"{os.path.relpath(path, REPO)}: {a.name} as {a.asname}"
                    for a in node.names
                    if a.asname and len(a.asname) == 1
                ]
    assert found == []


def test_one_flag_library():
    """Commands, benchmarks and tools parse flags with `pgan_tf.core.cli` only (absl's syntax
    without absl's global flag registry)."""
    found = []
    for path in _python_files("pgan_tf", "benchmarks", "data_prep", "export", "tools"):
        tree = ast.parse(open(path).read(), path)
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            found += [f"{os.path.relpath(path, REPO)}: {n}" for n in names if n.startswith("absl")]
    assert found == []


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_main_taking_argv(command):
    path = os.path.join(PACKAGE, f"{command}.py")
    tree = ast.parse(open(path).read(), path)
    mains = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "main"]
    assert len(mains) == 1, f"pgan_tf/{command}.py has no top-level main()"
    args = mains[0].args
    assert [a.arg for a in args.args] == ["argv"] and len(args.defaults) == 1


@pytest.mark.skipif(tomllib is None, reason="tomllib needs Python 3.11")
def test_console_scripts_point_at_the_commands():
    with open(os.path.join(REPO, "pyproject.toml"), "rb") as f:
        scripts = tomllib.load(f)["project"]["scripts"]
    assert sorted(target for target in scripts.values()) == sorted(
        f"pgan_tf.{c}:main" for c in COMMANDS
    )


@pytest.mark.parametrize(
    "script", ["data_prep/create_tfrecords.py", "export/export_saved_model.py"]
)
def test_scripts_are_thin_wrappers(script):
    source = open(os.path.join(REPO, script)).read()
    body = ast.parse(source).body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    assert "sys.path" not in source
    assert len(body) <= 4, f"{script} holds logic; it belongs in the pgan_tf command it wraps"


MAX_MODULE_LINES, MAX_FUNCTION_LINES, MAX_CLASS_LINES = 450, 80, 250
PRIVATE_MODULES = (
    "tensorflow.python",
    "tensorflow.core",
    "tensorflow.compiler",
    "tensorflow.tsl",
    "keras.src",
)
PRIVATE_ATTRIBUTES = {"_momentums", "_velocities", "_get_variable_index", "_get_function"}
TF_COMPAT = "pgan_tf/core/tf_compat.py"


def _product_files(repo):
    """(path relative to `repo`, parsed module, line count) of every module in pgan_tf/ and
    benchmarks/."""
    for root in ("pgan_tf", "benchmarks"):
        for folder, _, files in sorted(os.walk(os.path.join(repo, root))):
            for f in sorted(files):
                if f.endswith(".py"):
                    path = os.path.join(folder, f)
                    with open(path, encoding="utf-8") as src:
                        source = src.read()
                    rel = os.path.relpath(path, repo).replace(os.sep, "/")
                    yield rel, ast.parse(source, path), len(source.splitlines())


def oversized(repo):
    """{key: what is over}: modules over 450 lines (key: the path), functions over 80 and classes
    over 250 (key: "path:name"), sized as end_lineno - lineno + 1."""
    limits = {
        ast.FunctionDef: MAX_FUNCTION_LINES,
        ast.AsyncFunctionDef: MAX_FUNCTION_LINES,
        ast.ClassDef: MAX_CLASS_LINES,
    }
    found = {}
    for rel, tree, lines in _product_files(repo):
        if lines > MAX_MODULE_LINES:
            found[rel] = f"{rel}: {lines} lines > {MAX_MODULE_LINES}"
        for node in ast.walk(tree):
            limit = limits.get(type(node))
            size = limit and node.end_lineno - node.lineno + 1
            if limit and size > limit:
                found[f"{rel}:{node.name}"] = (
                    f"{rel}:{node.lineno} {node.name}: {size} lines > {limit}"
                )
    return found


def private_uses(repo):
    """Imports of TensorFlow/Keras internals and uses of their private attributes, outside
    pgan_tf/core/tf_compat.py."""
    found = []
    for rel, tree, _ in _product_files(repo):
        if rel == TF_COMPAT:
            continue
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Attribute) and node.attr in PRIVATE_ATTRIBUTES:
                found.append(f"{rel}:{node.lineno} .{node.attr}")
            private = [
                n for n in names if any(n == p or n.startswith(p + ".") for p in PRIVATE_MODULES)
            ]
            if private:
                found.append(f"{rel}:{node.lineno} imports {private[0]}")
    return found


def test_no_module_function_or_class_over_the_size_limits():
    """Issue 22 part 7: split by responsibility; nothing is allowed over the limits."""
    assert list(oversized(REPO).values()) == []


def test_private_tensorflow_internals_only_in_tf_compat():
    assert private_uses(REPO) == []


def test_no_merge_conflict_markers_in_sources_or_docs():
    """A merge resolved in haste can leave `<<<<<<<` lines behind in a doc no test reads."""
    marker = ("<" * 7 + " ", ">" * 7 + " ", "=" * 7 + "\n")
    found = []
    for top in ("pgan_tf", "tests", "benchmarks", "docs", "tools", "."):
        base = os.path.join(REPO, top)
        names = os.listdir(base) if top == "." else None
        walk = [(base, [], names)] if names is not None else os.walk(base)
        for root, _, files in walk:
            for name in files:
                path = os.path.join(root, name)
                if not name.endswith((".py", ".md", ".flags", ".toml")) or not os.path.isfile(path):
                    continue
                for number, line in enumerate(open(path, encoding="utf-8"), 1):
                    if line.startswith(marker) and (line != "=" * 7 + "\n" or name.endswith(".py")):
                        found.append(f"{os.path.relpath(path, REPO)}:{number}")
    assert found == []


def test_the_first_line_of_an_error_has_one_home():
    """Errors become one line through `core/errors.first_line` only (parser descriptions, which
    take the first line of a docstring, are not errors)."""
    found = []
    for root, _, files in os.walk(PACKAGE):
        for name in files:
            path = os.path.join(root, name)
            if not name.endswith(".py") or path.endswith(os.path.join("core", "errors.py")):
                continue
            for number, line in enumerate(open(path, encoding="utf-8"), 1):
                if ".splitlines()[0]" in line and "__doc__" not in line:
                    found.append(f"{os.path.relpath(path, REPO)}:{number}")
    assert found == []
