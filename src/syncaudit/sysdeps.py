"""The operating-system packages syncaudit needs: the one list, and the one check.

Python packages come from pyproject.toml; these come from Debian. `.ci/run` installs the missing
ones (as root), `make test` / `make demo` name them before they start, and `report --format pdf`
names them when PDF cannot be written. A *required* package is one without which its feature does
not work; an *optional* one only makes it better (a missing optional package is named, not fatal).

Runs without syncaudit installed, with the standard library only, so a fresh machine can ask:

    python3 src/syncaudit/sysdeps.py check [FEATURE ...]    # one line if anything is missing;
                                                             # exit 1 if a required one is
    python3 src/syncaudit/sysdeps.py missing [FEATURE ...]  # the package names, for apt-get

`SYNCAUDIT_SIMULATE_MISSING="pkg pkg"` makes those packages count as absent (tests, trying the
message) without uninstalling anything.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

SIMULATE_ENV = "SYNCAUDIT_SIMULATE_MISSING"


@dataclass(frozen=True, kw_only=True)
class Package:
    name: str  # the Debian package
    probe: str  # "lib:<soname>" loads a shared library; "file:<path>" looks for a file
    feature: str  # what needs it: "pdf" (PDF reports), "browser" (web console tests)
    required: bool  # False: the feature works without it, only less well
    why: str


PACKAGES: tuple[Package, ...] = (
    Package(
        name="libpango-1.0-0",
        probe="lib:libpango-1.0.so.0",
        feature="pdf",
        required=True,
        why="WeasyPrint lays out PDF reports with Pango",
    ),
    Package(
        name="libpangoft2-1.0-0",
        probe="lib:libpangoft2-1.0.so.0",
        feature="pdf",
        required=True,
        why="Pango's FreeType fonts for PDF reports",
    ),
    Package(
        name="libharfbuzz-subset0",
        probe="lib:libharfbuzz-subset.so.0",
        feature="pdf",
        required=False,
        why="embeds only the glyphs used, so PDFs stay small; future WeasyPrint requires it",
    ),
    Package(
        name="fonts-dejavu-core",
        probe="file:/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        feature="pdf",
        required=False,
        why="a font with the Finnish and Swedish letters for PDF reports",
    ),
    Package(
        name="chromium",
        probe="file:/usr/bin/chromium",
        feature="browser",
        required=False,
        why="the web console's end-to-end tests run in a real headless Chromium",
    ),
)
FEATURES = tuple(dict.fromkeys(p.feature for p in PACKAGES))


def _simulated_missing() -> set[str]:
    return set(os.environ.get(SIMULATE_ENV, "").split())


def _present(package: Package) -> bool:
    if package.name in _simulated_missing():
        return False
    kind, _, target = package.probe.partition(":")
    if kind == "file":
        return os.path.exists(target)
    try:
        ctypes.CDLL(target)
    except OSError:
        return False
    return True


def packages_for(features: Iterable[str] = ()) -> list[Package]:
    wanted = set(features) or set(FEATURES)
    unknown = wanted - set(FEATURES)
    if unknown:
        raise ValueError(f"unknown feature(s) {sorted(unknown)}; known: {', '.join(FEATURES)}")
    return [p for p in PACKAGES if p.feature in wanted]


def missing(features: Iterable[str] = (), *, required_only: bool = False) -> list[Package]:
    """The packages of these features (all when empty) that are not on this machine."""
    return [
        p for p in packages_for(features) if (p.required or not required_only) and not _present(p)
    ]


def install_command(packages: Sequence[Package]) -> str:
    names = " ".join(p.name for p in packages)
    return f"sudo apt-get install -y --no-install-recommends {names}"


def message(packages: Sequence[Package]) -> str:
    """One line: what is missing, what for, and the command that installs it."""
    parts = [
        f"{p.name} ({'required' if p.required else 'optional'} for {p.feature}: {p.why})"
        for p in packages
    ]
    return f"missing system packages: {'; '.join(parts)}. Install: {install_command(packages)}"


def main(argv: Sequence[str]) -> int:
    if not argv or argv[0] not in {"check", "missing"}:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        absent = missing(argv[1:])
    except ValueError as exc:
        print(f"sysdeps: {exc}", file=sys.stderr)
        return 2
    if argv[0] == "missing":
        if absent:
            print(" ".join(p.name for p in absent))
        return 0
    if absent:
        print(message(absent), file=sys.stderr)
    return 1 if any(p.required for p in absent) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
