"""The layers, read from the source: every import of every module (also those inside
functions) goes down the house, never up; and the math that must exist once exists once."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import softmax_mnist

PACKAGE = Path(softmax_mnist.__file__).parent
# each layer and the layers it may import; the ground floor (errors, fileio) serves all
GROUND = {"softmax_mnist", "softmax_mnist.errors", "softmax_mnist.fileio"}
MAY_IMPORT = {
    "core": {"core"},
    "course": {"core", "course"},
    "checker": {"core", "course", "checker"},
    "study": {"core", "course", "checker", "study"},
    "apps": {"core", "course", "checker", "study", "apps"},
}
# the course's import paths at the top of the package: they only re-export the course layer
SHIMS = {"loss", "optimizer", "solver", "dataloader", "visualize"}


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "static" not in p.parts)


def name_of(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every softmax_mnist module ``path`` imports, wherever in the file."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}  # `from pkg import module`
    return {m for m in found if m.split(".")[0] == "softmax_mnist"}


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in MAY_IMPORT else None


def test_the_tree_has_the_five_layers_and_nothing_loose():
    top = {p.stem for p in PACKAGE.glob("*.py")}
    assert top == {"__init__", "__main__", "errors", "fileio"} | SHIMS
    assert {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()} == set(MAY_IMPORT)
    for layer in MAY_IMPORT:  # each says what lives there
        assert len((PACKAGE / layer / "__init__.py").read_text().splitlines()) > 5


def allowed(me: str) -> set[str]:
    """The layers module ``me`` may import."""
    if layer_of(me):
        return MAY_IMPORT[layer_of(me)]
    short = me.rsplit(".", 1)[-1]
    return {"course"} if short in SHIMS else {"apps"} if short == "__main__" else set()


@pytest.mark.parametrize("path", modules(), ids=lambda p: name_of(p))
def test_imports_go_down_the_house(path):
    me = name_of(path)

    def wrong(m: str) -> bool:
        if layer_of(m):
            return layer_of(m) not in allowed(me)
        return m not in GROUND and m.rsplit(".", 1)[0] not in GROUND  # a shim: for users only

    bad = sorted(m for m in imports(path) if wrong(m))
    assert not bad, f"{me} imports {bad}"


def test_the_core_imports_nothing_of_files_reports_the_course_or_apps():
    """The issue's wording, checked by name as well as by layer."""
    for path in (PACKAGE / "core").glob("*.py"):
        for module in imports(path):
            assert not re.search(r"checkpoint|modelfile|report|study|course|apps|cli|web", module), \
                f"{name_of(path)} imports {module}"


def test_the_gradient_and_the_update_are_written_once():
    sources = {name_of(p): p.read_text(encoding="utf-8") for p in modules()}
    gradient = [m for m, s in sources.items() if re.search(r"\[[^\]]+\]\s*-=\s*1(\.0)?\b", s)]
    momentum = [m for m, s in sources.items() if re.search(r"\bv\s*\*=\s*mu\b", s)]
    assert gradient == ["softmax_mnist.core.functional"]
    assert momentum == ["softmax_mnist.core.optimizer"]


# a formula that must be computed in one place, recognised by what it computes (whatever its
# names), and the modules allowed to hold it. study.keycode is the report's readable copy of the
# course's forward and step, held equal to the engine by tests/test_keycode.py.
READABLE_COPY = "softmax_mnist.study.report.keycode"
ONCE = {
    "a softmax: exp of the logits minus their row maximum": (
        (r"np\.exp\(", r"\.max\(axis=(1|-1)"), {"softmax_mnist.core.functional", READABLE_COPY}),
    "a log-softmax's normaliser: log of a sum of exps": (
        (r"np\.log\(\s*np\.exp\(|logsumexp",), {"softmax_mnist.core.functional", READABLE_COPY}),
    "a central difference: (f(a + h) - f(a - h)) / (2 h), whatever h is called": (
        (r"\)\s*/\s*\(?\s*2(\.0)?\s*\*\s*\w+|\)\s*/\s*2(\.0)?\s*/\s*\w+",), {"softmax_mnist.core.gradcheck"}),
    "a confusion matrix: counts of (true, predicted) pairs": (
        (r"np\.add\.at\(|bincount\([^)]*\*[^)]*\+|histogram2d\(",), {"softmax_mnist.core.functional"}),
    "a velocity made only when momentum is set": (
        (r"zeros_like\(.*\bif\b.*\b(momentum|momenta|mu)\b|\bif\b.*\b(momentum|momenta|mu)\b.*zeros_like\(",),
        {"softmax_mnist.core.optimizer"}),
}


@pytest.mark.parametrize("what", ONCE)
def test_each_formula_is_computed_in_one_place(what):
    """By meaning where a pattern can tell it: the checker and the report call core.gradcheck,
    the study and the playground core.functional.confusion_matrix, the course's SGD and the
    checkpoint core.optimizer.new_velocity."""
    patterns, owners = ONCE[what]
    found = {name_of(p) for p in modules()
             if all(re.search(pat, p.read_text(encoding="utf-8")) for pat in patterns)}
    assert found and found <= owners, f"{what}: in {sorted(found - owners)}; only {sorted(owners)} may"


def test_the_init_scale_is_written_once():
    """sqrt(4 / (D + C)) computed: core.functional.init_std; the skeleton (checker/skeleton/loss.py,
    the student's own file to fill in) keeps the course's given copy of it."""
    pattern = re.compile(r"(np|math|numpy)\.sqrt\(\s*4(\.0)?\s*/"  # np.sqrt(4 / (D + C))
                         r"|\(\s*4(\.0)?\s*/\s*\([^()]*\)\s*\)\s*\*\*\s*0?\.5")  # (4 / (D + C)) ** 0.5
    found = {name_of(p) for p in modules() if pattern.search(p.read_text(encoding="utf-8"))}
    assert found == {"softmax_mnist.core.functional", "softmax_mnist.checker.skeleton.loss"}


def test_the_checks_child_is_started_never_imported():
    """checker.child is a process's entry (python -m); what the study's worker shares with it
    lives in checker.folder (reading and importing a folder) and checker.guard (its limits)."""
    for path in modules():
        assert not any(m.startswith("softmax_mnist.checker.child") for m in imports(path)), name_of(path)


def test_the_course_paths_still_import():
    from softmax_mnist.course import dataloader, loss, optimizer, solver, visualize
    from softmax_mnist.dataloader import build_dataloader
    from softmax_mnist.loss import SoftmaxCrossEntropyLoss
    from softmax_mnist.optimizer import SGD
    from softmax_mnist.solver import Solver
    from softmax_mnist.visualize import plot_loss_and_acc

    assert (Solver, SoftmaxCrossEntropyLoss, SGD, build_dataloader, plot_loss_and_acc) == (
        solver.Solver, loss.SoftmaxCrossEntropyLoss, optimizer.SGD, dataloader.build_dataloader,
        visualize.plot_loss_and_acc)
