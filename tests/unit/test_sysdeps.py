"""The one list of operating-system packages: checked, named when missing, installable by CI.

Absence is simulated with SYNCAUDIT_SIMULATE_MISSING; nothing is uninstalled.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from syncaudit import sysdeps
from syncaudit.errors import SystemPackageMissing
from syncaudit.reports.render import html_to_pdf

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "src" / "syncaudit" / "sysdeps.py"


def _check(*args: str, missing: str = "") -> subprocess.CompletedProcess[str]:
    """The script as a fresh machine runs it: system python, no syncaudit installed."""
    env = {"PATH": "/usr/bin:/bin", sysdeps.SIMULATE_ENV: missing}
    return subprocess.run(
        [sys.executable, "-I", str(SCRIPT), *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_an_absent_optional_package_is_named_with_its_install_command() -> None:
    result = _check("check", "pdf", missing="libharfbuzz-subset0")
    assert result.returncode == 0  # PDF still works without it
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "libharfbuzz-subset0 (optional for pdf" in lines[0]
    assert lines[0].endswith(
        "Install: sudo apt-get install -y --no-install-recommends libharfbuzz-subset0"
    )


def test_an_absent_required_package_fails_the_check() -> None:
    result = _check("check", missing="libpango-1.0-0 chromium")
    assert result.returncode == 1
    assert "libpango-1.0-0 (required for pdf" in result.stderr
    # the machine itself may lack another package too: it is named in the same command
    command = result.stderr.split("Install: ", 1)[1].split()
    assert command[:5] == ["sudo", "apt-get", "install", "-y", "--no-install-recommends"]
    assert {"libpango-1.0-0", "chromium"} <= set(command[5:])


def test_missing_lists_names_for_apt_get() -> None:
    result = _check("missing", missing="libharfbuzz-subset0 chromium")
    assert result.returncode == 0
    names = set(result.stdout.split())
    assert {"libharfbuzz-subset0", "chromium"} <= names
    assert names <= {p.name for p in sysdeps.PACKAGES}


def test_unknown_feature_is_a_usage_error() -> None:
    result = _check("check", "docx")
    assert result.returncode == 2
    assert "unknown feature" in result.stderr


def test_pdf_names_the_missing_library(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(sysdeps.SIMULATE_ENV, "libpango-1.0-0")
    with pytest.raises(SystemPackageMissing) as caught:
        html_to_pdf("<p>x</p>")
    assert "libpango-1.0-0" in str(caught.value)
    assert "apt-get install -y --no-install-recommends libpango-1.0-0" in caught.value.next_step
    assert "--format html" in caught.value.next_step


def test_every_package_is_named_in_the_readme_and_in_ci() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    for package in sysdeps.PACKAGES:
        assert f"`{package.name}`" in readme, package.name
    assert "sysdeps.py missing" in ci


BLOCK_HARFBUZZ_SUBSET = """
import cffi

_dlopen = cffi.FFI.dlopen


def dlopen(self, name, *args, **kwargs):
    if "harfbuzz-subset" in str(name):
        raise OSError(f"cannot load library {name!r} (blocked by the test)")
    return _dlopen(self, name, *args, **kwargs)


cffi.FFI.dlopen = dlopen
"""


def test_pdf_tests_pass_where_harfbuzz_subset_is_absent(tmp_path: Path) -> None:
    """A newcomer's machine without libharfbuzz-subset0: WeasyPrint warns, the tests pass.

    The library is made unloadable for a child pytest (sitecustomize wraps cffi's dlopen), which
    runs the PDF tests with the project's own warning filters (warnings are errors)."""
    (tmp_path / "sitecustomize.py").write_text(BLOCK_HARFBUZZ_SUBSET, encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(ROOT / "tests" / "reports" / "test_outputs.py"),
            "-k",
            "pdf",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path), "HOME": str(tmp_path)},
        check=False,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
    assert "warning" not in result.stdout.lower()
