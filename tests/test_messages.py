"""Core and the ground floor name settings, never a front end's flags, in what they say: a
message says `lr=0.001` (errors.advice) and the CLI says --lr 0.001 (errors.in_terms)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import softmax_mnist

PACKAGE = Path(softmax_mnist.__file__).parent
FLAG = re.compile(r"(?<![\w-])--[a-z]")


def _strings(tree: ast.AST):
    """The string pieces of a module that are not docstrings nor a command line (errors.command)."""
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            doc = node.body[0] if node.body else None
            if isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant):
                skip.add(id(doc.value))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "command":
            skip.update(id(a) for a in ast.walk(node))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            yield node.lineno, node.value


def test_core_and_the_ground_floor_name_no_flags():
    files = [*sorted((PACKAGE / "core").glob("*.py")), PACKAGE / "errors.py", PACKAGE / "fileio.py"]
    found = [f"{path.name}:{line}: {text!r}" for path in files
             for line, text in _strings(ast.parse(path.read_text(encoding="utf-8")))
             if FLAG.search(text)]
    assert found == []
