"""Run this Python as if it were on Windows or macOS, as far as softmax-mnist can tell.

Put this folder first on PYTHONPATH and set SOFTMAX_MNIST_SIMULATE to ``windows`` or ``macos``
(tests/test_simulated.py does). Python imports ``sitecustomize`` at start-up, in the process
and in every process it starts, so the children are simulated too.

windows: what Windows' Python lacks is taken away from the project's code (anything outside
the Python installation: softmax_mnist, a student's files): ``import resource`` / ``fcntl`` /
``termios`` fail; signal.SIGALRM, SIGKILL, SIGHUP, SIGQUIT, SIGUSR1/2, alarm and setitimer and
os.fork, killpg, setsid, getpgid, setpgid and the prctl of libc are gone; multiprocessing
offers spawn only; os.set_blocking works on pipes only (Python 3.12 and later on Windows);
select.select works on sockets only (for the project's calls: a package such as waitress
chose its POSIX way at import); Popen refuses pass_fds and preexec_fn and ignores
start_new_session; Popen.kill is terminate.

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

SYSTEM = os.environ.get("SOFTMAX_MNIST_SIMULATE", "")
_INSTALLED = tuple({os.path.realpath(sysconfig.get_paths()[k]) for k in ("stdlib", "platstdlib", "purelib",
                                                                        "platlib")})


def _outside_python(filename: str | None) -> bool:
    """Code of the project or a student, not of Python or an installed package."""
    if not filename or filename.startswith("<"):
        return False
    return not os.path.realpath(filename).startswith(_INSTALLED)


def _windows() -> None:
    import builtins
    import errno
    import select
    import signal
    import stat
    import subprocess

    missing_modules = {"resource", "fcntl", "termios", "pwd", "grp"}
    real_import = builtins.__import__

    def simulated_import(name, globals=None, locals=None, fromlist=(), level=0):
        if level == 0 and name.split(".")[0] in missing_modules:
            where = (globals or {}).get("__file__")
            if _outside_python(where):
                raise ModuleNotFoundError(f"No module named '{name}' (simulated Windows)", name=name)
        return real_import(name, globals, locals, fromlist, level)

    builtins.__import__ = simulated_import

    for name in ("SIGALRM", "SIGKILL", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "alarm",
                 "setitimer", "getitimer", "ITIMER_REAL", "ITIMER_VIRTUAL", "ITIMER_PROF"):
        if hasattr(signal, name):
            delattr(signal, name)
    for name in ("fork", "forkpty", "killpg", "setsid", "getpgid", "setpgid", "setpgrp",
                 "sched_getaffinity", "sched_setaffinity"):
        if hasattr(os, name):
            delattr(os, name)

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

    # set_blocking and select: pipes and sockets only, as Windows' Python has them
    real_set_blocking = os.set_blocking

    def set_blocking(fd, blocking):
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            raise OSError(errno.ENOTSUP, "set_blocking works on pipes only (simulated Windows)")
        real_set_blocking(fd, blocking)

    os.set_blocking = set_blocking
    real_select = select.select

    def simulated_select(rlist, wlist, xlist, timeout=None):
        if not _outside_python(sys._getframe(1).f_code.co_filename):
            return real_select(rlist, wlist, xlist, timeout)  # waitress takes its POSIX branch here
        for obj in (*rlist, *wlist, *xlist):
            fd = obj if isinstance(obj, int) else obj.fileno()
            if not stat.S_ISSOCK(os.fstat(fd).st_mode):
                raise OSError(10038, "An operation was attempted on something that is not a "
                              "socket (simulated Windows)")
        return real_select(rlist, wlist, xlist, timeout)

    select.select = simulated_select
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
