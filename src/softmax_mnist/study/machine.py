"""The machine a study ran on, as results.json's meta records it beside the times: the CPU's
model name (from whichever source this system has), cores, Python, NumPy and Typst versions,
and how busy it was (the load average)."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from pathlib import Path

import numpy as np

CPUINFO = Path("/proc/cpuinfo")


def _cpu_from_cpuinfo() -> str | None:  # Linux
    for line in CPUINFO.read_text(encoding="utf-8", errors="replace").splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("model name", "Hardware", "cpu model"):
            return value
    return None


def _cpu_from_sysctl() -> str | None:  # macOS (the brand string), the BSDs (hw.model)
    sysctl = shutil.which("sysctl") or "/usr/sbin/sysctl"
    for key in ("machdep.cpu.brand_string", "hw.model"):
        out = subprocess.run([sysctl, "-n", key], capture_output=True, encoding="utf-8",
                             errors="replace", timeout=5, stdin=subprocess.DEVNULL)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout
    return None


def _cpu_from_registry() -> str | None:  # Windows
    import winreg

    key = r"HARDWARE\DESCRIPTION\System\CentralProcessor\0"
    with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, key) as k:
        return winreg.QueryValueEx(k, "ProcessorNameString")[0]


def cpu_name() -> str:
    """The CPU's model name, from whichever source this system has: /proc/cpuinfo, sysctl, the
    Windows registry or PROCESSOR_IDENTIFIER; else what the platform module knows."""
    for probe in (_cpu_from_cpuinfo, _cpu_from_sysctl, _cpu_from_registry,
                  lambda: os.environ.get("PROCESSOR_IDENTIFIER")):
        try:
            name = " ".join(str(probe() or "").split())
        except (OSError, ImportError, subprocess.SubprocessError, ValueError):
            continue
        if name:
            return name
    return platform.processor() or platform.machine() or "?"


def describe() -> dict:
    """results.json's meta["machine"]."""
    import typst

    return {"cpu": cpu_name(), "cores": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "typst": getattr(typst, "__version__", "?")}


def load_average() -> float | None:
    """The 1-minute load average, where the system reports one (not on Windows)."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None

