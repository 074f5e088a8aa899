"""Issue 21's size rules for the runtime code: no file under plugins/ or roles/ over 400 lines, no
Python function (plugins/, roles/, extensions/) over 80 lines."""
import ast
import os

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 80


def files_under(*tops):
    for top in tops:
        for root, dirs, names in os.walk(os.path.join(REPO, top)):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            for name in sorted(names):
                yield os.path.relpath(os.path.join(root, name), REPO)


def text(path):
    with open(os.path.join(REPO, path), "rb") as fh:
        return fh.read().decode("utf-8", "replace")


def is_python(path):
    return path.endswith(".py") or text(path).startswith(("#!/usr/bin/python", "#!/usr/bin/env python"))


def long_functions(source, limit):
    """(name, first line, length) of every function or method longer than limit lines."""
    return [(node.name, node.lineno, node.end_lineno - node.lineno + 1)
            for node in ast.walk(ast.parse(source))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > limit]


def test_no_runtime_file_is_over_400_lines():
    paths = list(files_under("plugins", "roles"))
    assert len(paths) > 50, paths  # the walk found the tree
    too_long = {path: n for path in paths for n in [len(text(path).splitlines())] if n > MAX_FILE_LINES}
    assert not too_long, too_long


def test_no_runtime_function_is_over_80_lines():
    paths = [path for path in files_under("plugins", "roles", "extensions") if is_python(path)]
    assert any(path.startswith("extensions") for path in paths), paths
    too_long = {path: found for path in paths for found in [long_functions(text(path), MAX_FUNCTION_LINES)]
                if found}
    assert not too_long, too_long


def function(name, lines, indent=""):
    return indent + "def %s():\n" % name + (indent + "    x = 1\n") * (lines - 2) + indent + "    return x\n"


def test_the_function_check_counts_every_line_from_def_to_the_end_and_sees_methods():
    source = function("fits", 80) + "class C:\n" + function("method", 81, indent="    ")
    assert long_functions(source, MAX_FUNCTION_LINES) == [("method", 82, 81)]
