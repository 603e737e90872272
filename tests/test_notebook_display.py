"""The course's notebook cells, as a student runs them in Jupyter: a cell ending in
``plot_loss_and_acc({...})`` shows both plots inline, the package's other plots show too, and a
script still unpacks the two Figures with nothing shown and nothing blocking."""

from __future__ import annotations

import base64
import re
import subprocess
import sys
import textwrap

import nbformat
import pytest
from nbclient import NotebookClient

from softmax_mnist.course import visualize as course_viz
from softmax_mnist.study.report import visualize as viz

PNG = b"\x89PNG\r\n\x1a\n"


def course_cells(data_root: str) -> list[str]:
    """A student's runner.ipynb: the course's calls (2 epochs instead of 10, to be quick)."""
    return [
        "from softmax_mnist.course.solver import Solver\n"
        "from softmax_mnist.visualize import plot_loss_and_acc",
        textwrap.dedent(f"""\
            cfg = {{
                'data_root': {data_root!r},
                'max_epoch': 2,
                'batch_size': 100,
                'learning_rate': 0.01,
                'momentum': 0,
                'display_freq': 50,
            }}
            runner = Solver(cfg)
            loss1, acc1 = runner.train()"""),
        "test_loss, test_acc = runner.test()\n"
        "print('Final test accuracy {:.4f}\\n'.format(test_acc))",
        textwrap.dedent("""\
            cfg['momentum'] = 0.9
            runner = Solver(cfg)
            loss2, acc2 = runner.train()
            test_loss, test_acc = runner.test()
            print('Final test accuracy {:.4f}\\n'.format(test_acc))"""),
        "plot_loss_and_acc({'SGD': [loss1, acc1], 'SGD with momentum': [loss2, acc2]})",
        # assigned, the figures are not shown: they are the script's two Figures
        "fig_loss, fig_acc = plot_loss_and_acc({'SGD': [loss1, acc1]})\n"
        "print(type(fig_loss).__name__, type(fig_acc).__name__, fig_acc.axes[0].get_ylabel())",
        # the package's other plots, as a notebook would call them
        "from softmax_mnist.study.report.visualize import plot_history, plot_weights\n"
        "plot_weights(runner.model.W)",
        "plot_history(runner.history)",
    ]


@pytest.fixture(scope="module")
def executed(mnist_dir, tmp_path_factory):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c)
                                         for c in course_cells(str(mnist_dir))])
    work = tmp_path_factory.mktemp("course-notebook")
    NotebookClient(nb, kernel_name="python3", timeout=300,
                   resources={"metadata": {"path": str(work)}}).execute()
    return nb


def pngs(cell) -> list[bytes]:
    return [base64.b64decode(o["data"]["image/png"]) for o in cell.outputs
            if "image/png" in o.get("data", {})]


def text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o["output_type"] == "stream")


def test_course_cells_run_and_train(executed):
    cells = executed.cells
    assert not [o for c in cells for o in c.outputs if o["output_type"] == "error"]
    # display_freq 50: a line every 50 of the 550 iterations of each of the 2 epochs
    assert len(re.findall(r"iter \d+/550", text(cells[1]))) == 22
    without = float(re.search(r"Final test accuracy (0\.\d{4})", text(cells[2])).group(1))
    with_m = float(re.search(r"Final test accuracy (0\.\d{4})", text(cells[3])).group(1))
    assert 0.83 < without < 0.92 and 0.88 < with_m < 0.94 and with_m > without


def test_bare_plot_loss_and_acc_shows_both_plots(executed):
    images = pngs(executed.cells[4])
    assert len(images) == 2
    assert all(png.startswith(PNG) and len(png) > 5000 for png in images)
    assert images[0] != images[1]  # the loss plot and the accuracy plot


def test_assigned_pair_shows_nothing_and_unpacks_to_figures(executed):
    cell = executed.cells[5]
    assert pngs(cell) == []
    assert text(cell).split() == ["Figure", "Figure", "accuracy"]


def test_other_plots_show_inline(executed):
    for cell in executed.cells[6:8]:
        images = pngs(cell)
        assert len(images) == 1 and images[0].startswith(PNG), cell.source


def test_script_unpacks_two_figures_and_nothing_shows_or_blocks(tmp_path):
    script = tmp_path / "course.py"
    script.write_text(textwrap.dedent("""\
        import sys
        from matplotlib.figure import Figure
        from softmax_mnist.course.visualize import plot_loss_and_acc, show_figures_inline

        fig_loss, fig_acc = plot_loss_and_acc({'SGD': [[1.0, 0.5], [0.6, 0.8]]})
        pair = plot_loss_and_acc({'SGD': [[1.0, 0.5], [0.6, 0.8]]})
        assert isinstance(fig_loss, Figure) and isinstance(fig_acc, Figure)
        assert isinstance(pair, tuple) and len(pair) == 2
        assert fig_acc.axes[0].get_ylabel() == 'accuracy'
        assert not show_figures_inline()
        print('pyplot' if 'matplotlib.pyplot' in sys.modules else 'no pyplot',
              'IPython' if 'IPython' in sys.modules else 'no IPython')
        """))
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}  # no DISPLAY, no MPLBACKEND
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            timeout=120, env=env, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["no", "pyplot", "no", "IPython"]


def test_pair_is_a_plain_tuple_outside_ipython():
    pair = course_viz.plot_loss_and_acc({"a": [[1.0, 0.5], [0.5, 0.8]]})
    assert isinstance(pair, course_viz.FigurePair) and tuple(pair) == (pair[0], pair[1])
    assert repr(pair).startswith("(<Figure size 600x400")
    assert viz.figure_png(pair[0]).startswith(PNG)


def test_curves_tick_whole_epochs_only():
    pair = course_viz.plot_loss_and_acc({"a": [[1.0, 0.7], [0.6, 0.8]], "b": [[0.9, 0.5], [0.7, 0.9]]})
    for fig in pair:
        ticks = fig.axes[0].xaxis.get_majorticklocs()
        inside = [t for t in ticks if 1 <= t <= 2]
        assert inside == [1.0, 2.0], ticks
