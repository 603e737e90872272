"""Run this Python as if it were on Windows or macOS, as far as softmax-mnist can tell.

Put this folder first on PYTHONPATH and set SOFTMAX_MNIST_SIMULATE to ``windows`` or ``macos``
(tests/test_simulated.py does). Python imports ``sitecustomize`` at start-up, in the process
and in every process it starts, so the children are simulated too.

windows: what Windows' Python lacks is taken away from the project's code (anything outside
the Python installation: softmax_mnist, a student's files; an installed package such as
psutil or waitress chose its POSIX branch at import and keeps it): ``import resource`` /
``fcntl`` / ``termios`` / ``pwd`` fail; signal.SIGALRM, SIGKILL, SIGHUP, SIGQUIT, SIGUSR1/2,
alarm and setitimer and os.fork, killpg, setsid, getpgid, setpgid, getuid, mkfifo and select.poll are
gone; os.set_blocking works on pipes only (Python 3.12 and later on Windows) and select.select
on sockets only. For every caller: multiprocessing offers spawn only; libc has no prctl;
Popen refuses pass_fds and preexec_fn and ignores start_new_session; Popen.kill is terminate.

macos: multiprocessing starts with spawn (fork is there but not the default: Python's own
sign that fork is unsafe there) and a forked child crashes, as one may there; libc has no
prctl; RLIMIT_AS can be set but nothing enforces it (setrlimit accepts it and ignores it).

Either: SOFTMAX_MNIST_STRICT_ENCODING=1 makes a text file opened by the project's code without
an explicit encoding an error (EncodingWarning raised), while third-party code's (matplotlib's
font cache) is let be. The console encoding (PYTHONIOENCODING=gbk) and the paths (a folder
with Chinese characters and spaces) are the test's part.
"""

from __future__ import annotations

import os
import sys
import sysconfig
import types

SYSTEM = os.environ.get("SOFTMAX_MNIST_SIMULATE", "")
_INSTALLED = tuple({os.path.realpath(sysconfig.get_paths()[k]) for k in ("stdlib", "platstdlib", "purelib",
                                                                        "platlib")})


def _outside_python(filename: str | None) -> bool:
    """Code of the project or a student, not of Python or an installed package."""
    if not filename or filename.startswith("<"):
        return False
    return not os.path.realpath(filename).startswith(_INSTALLED)


class _Without(types.ModuleType):
    """A module as the project's code sees it on the simulated system: some names gone, some
    replaced. Installed packages keep the real one (they chose their POSIX branch at import)."""

    def __init__(self, real, removed=(), replaced=None):
        super().__init__(real.__name__, real.__doc__)
        self.__dict__.update(_real=real, _removed=set(removed), _replaced=dict(replaced or {}))

    def __getattr__(self, name):
        if name in self._removed:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r} (simulated {SYSTEM})")
        if name in self._replaced:
            return self._replaced[name]
        return getattr(self._real, name)


def _project_imports(missing=(), seen=None) -> None:
    """The project's ``import X``: ModuleNotFoundError for ``missing``, ``seen[X]`` for X."""
    import builtins

    real_import = builtins.__import__
    seen = seen or {}

    def simulated_import(name, globals=None, locals=None, fromlist=(), level=0):
        top = name.split(".")[0]
        if level == 0 and (top in missing or top in seen) \
                and _outside_python((globals or {}).get("__file__")):
            if top in missing:
                raise ModuleNotFoundError(f"No module named '{name}' (simulated {SYSTEM})", name=name)
            if name == top or not fromlist:
                real_import(name, globals, locals, fromlist, level)
                return seen[top]
        return real_import(name, globals, locals, fromlist, level)

    builtins.__import__ = simulated_import


def _windows() -> None:
    import errno
    import select
    import signal
    import stat
    import subprocess

    def set_blocking(fd, blocking):
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            raise OSError(errno.ENOTSUP, "set_blocking works on pipes only (simulated Windows)")
        os.set_blocking(fd, blocking)

    def simulated_select(rlist, wlist, xlist, timeout=None):
        for obj in (*rlist, *wlist, *xlist):
            fd = obj if isinstance(obj, int) else obj.fileno()
            if not stat.S_ISSOCK(os.fstat(fd).st_mode):
                raise OSError(10038, "An operation was attempted on something that is not a "
                              "socket (simulated Windows)")
        return select.select(rlist, wlist, xlist, timeout)

    _project_imports(missing={"resource", "fcntl", "termios", "pwd", "grp"}, seen={
        "signal": _Without(signal, ["SIGALRM", "SIGKILL", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2",
                                    "alarm", "setitimer", "getitimer", "ITIMER_REAL",
                                    "ITIMER_VIRTUAL", "ITIMER_PROF", "pthread_kill"]),
        "os": _Without(os, ["fork", "forkpty", "killpg", "setsid", "getpgid", "setpgid", "setpgrp",
                            "sched_getaffinity", "sched_setaffinity", "getuid", "geteuid", "mkfifo", "mknod"],
                       {"set_blocking": set_blocking}),
        "select": _Without(select, ["poll", "epoll"], {"select": simulated_select}),
    })

    # Popen: what Windows refuses, and kill is terminate
    real_init = subprocess.Popen.__init__

    def popen_init(self, *args, pass_fds=(), preexec_fn=None, start_new_session=False, **kw):
        if preexec_fn is not None:
            raise ValueError("preexec_fn is not supported on Windows platforms")
        if pass_fds:
            raise AssertionError("pass_fds not supported on Windows.")
        real_init(self, *args, **kw)

    subprocess.Popen.__init__ = popen_init
    subprocess.Popen.kill = subprocess.Popen.terminate
    _spawn_only(all_methods=["spawn"])
    _no_prctl()


def _spawn_only(all_methods) -> None:
    import multiprocessing
    import multiprocessing.context as ctx

    real_get_context = ctx.DefaultContext.get_context

    def get_context(self, method=None):
        if method is not None and method not in all_methods:
            raise ValueError(f"cannot find context for {method!r}")
        return real_get_context(self, method)

    ctx.DefaultContext.get_context = get_context
    ctx.DefaultContext.get_all_start_methods = lambda self: list(all_methods)
    # the package's functions are bound to the default context when it is imported
    multiprocessing.get_context = ctx._default_context.get_context
    multiprocessing.get_all_start_methods = ctx._default_context.get_all_start_methods
    multiprocessing.set_start_method("spawn", force=True)
    if "fork" not in all_methods:
        from multiprocessing import popen_fork

        popen_fork.Popen.kill = popen_fork.Popen.terminate  # SIGKILL is gone


def _no_prctl() -> None:
    import ctypes

    real_cdll = ctypes.CDLL

    class CDLL(real_cdll):
        def __getattr__(self, name):
            if name == "prctl":
                raise AttributeError(f"{name} (simulated: this system's libc has none)")
            return super().__getattr__(name)

    ctypes.CDLL = CDLL


def _forked_child_crashes() -> None:
    """What macOS's documentation warns of: a forked child that uses the system's frameworks
    (Accelerate's BLAS, Objective-C) may crash. Here it always does, so a fork is seen."""
    def crash():
        os.write(2, b"simulated macOS: a forked child crashed (fork is not safe here)\n")
        os._exit(134)

    os.register_at_fork(after_in_child=crash)


def _macos() -> None:
    _spawn_only(all_methods=["spawn", "fork", "forkserver"])
    _no_prctl()
    _forked_child_crashes()
    try:
        import resource
    except ImportError:
        return
    real_setrlimit = resource.setrlimit

    def setrlimit(which, limits):
        if which == resource.RLIMIT_AS:
            return  # accepted, not enforced
        real_setrlimit(which, limits)

    resource.setrlimit = setrlimit


def _strict_encoding() -> None:
    import warnings

    real_show = warnings._showwarnmsg

    def show(msg):
        if issubclass(msg.category, EncodingWarning):
            frame = sys._getframe(1)
            while frame is not None and not _outside_python(frame.f_code.co_filename):
                if "site-packages" in frame.f_code.co_filename:
                    return  # a third-party package's own open(): not ours to fix
                frame = frame.f_back
            if frame is not None:
                raise EncodingWarning(f"{msg.message} at {frame.f_code.co_filename}:{frame.f_lineno}")
            return
        real_show(msg)

    warnings._showwarnmsg = show
    warnings.simplefilter("always", EncodingWarning)


if SYSTEM == "windows":
    _windows()
elif SYSTEM == "macos":
    _macos()
if os.environ.get("SOFTMAX_MNIST_STRICT_ENCODING"):
    _strict_encoding()
