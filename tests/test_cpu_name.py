"""The report's CPU line on each system: /proc/cpuinfo (Linux), sysctl (macOS, BSD), the registry
or PROCESSOR_IDENTIFIER (Windows), each tried by what the machine has, not by its name."""

from __future__ import annotations

import sys
import types

import pytest

from softmax_mnist.study import machine


@pytest.fixture
def bare(tmp_path, monkeypatch):
    """A machine with none of the sources: no /proc/cpuinfo, no sysctl, no winreg, no variable."""
    monkeypatch.setattr(machine, "CPUINFO", tmp_path / "no-cpuinfo")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setattr(machine.shutil, "which", lambda name: None)
    monkeypatch.setattr(machine.subprocess, "run", _no_sysctl)
    monkeypatch.setitem(sys.modules, "winreg", None)  # import winreg raises ImportError
    monkeypatch.delenv("PROCESSOR_IDENTIFIER", raising=False)
    return bin_dir


def _no_sysctl(args, **kw):
    raise FileNotFoundError(args[0])


def test_linux_reads_proc_cpuinfo(bare, tmp_path, monkeypatch):
    (tmp_path / "cpuinfo").write_text("processor\t: 0\nmodel name\t: AMD EPYC  7B13 64-Core Processor\n",
                                      encoding="utf-8")
    monkeypatch.setattr(machine, "CPUINFO", tmp_path / "cpuinfo")
    assert machine.cpu_name() == "AMD EPYC 7B13 64-Core Processor"


def test_macos_asks_sysctl_for_the_brand_string(bare, monkeypatch):
    calls = []

    def sysctl(args, **kw):
        calls.append(args)
        out = "Apple M2 Pro\n" if args[-1] == "machdep.cpu.brand_string" else ""
        return types.SimpleNamespace(returncode=0 if out else 1, stdout=out)

    monkeypatch.setattr(machine.subprocess, "run", sysctl)
    assert machine.cpu_name() == "Apple M2 Pro"
    assert calls[0][1:] == ["-n", "machdep.cpu.brand_string"]


def test_windows_reads_the_registry(bare, monkeypatch):
    opened = []

    class Key:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def open_key(root, path):
        opened.append(path)
        return Key()

    fake = types.SimpleNamespace(HKEY_LOCAL_MACHINE=object(), OpenKey=open_key,
                                 QueryValueEx=lambda key, name: ("Intel(R) Core(TM) i5-1135G7 @ 2.40GHz ", 1))
    monkeypatch.setitem(sys.modules, "winreg", fake)
    monkeypatch.setenv("PROCESSOR_IDENTIFIER", "Intel64 Family 6 Model 140 Stepping 1, GenuineIntel")
    assert machine.cpu_name() == "Intel(R) Core(TM) i5-1135G7 @ 2.40GHz"
    assert opened == [r"HARDWARE\DESCRIPTION\System\CentralProcessor\0"]


def test_windows_without_the_registry_reads_processor_identifier(bare, monkeypatch):
    monkeypatch.setenv("PROCESSOR_IDENTIFIER", "AMD64 Family 25 Model 80 Stepping 0, AuthenticAMD")
    assert machine.cpu_name() == "AMD64 Family 25 Model 80 Stepping 0, AuthenticAMD"


def test_nothing_known_falls_back_to_the_platform_module(bare, monkeypatch):
    monkeypatch.setattr(machine.platform, "processor", lambda: "")
    monkeypatch.setattr(machine.platform, "machine", lambda: "arm64")
    assert machine.cpu_name() == "arm64"


def test_this_machine_has_a_name():
    assert machine.cpu_name() not in ("", "?")
