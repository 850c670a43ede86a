"""A user's project finds the package, its types and its mypy plugin, installed normally or editable.

The project is copied to a temporary directory and installed into a fresh virtual environment,
first from a wheel (``pip install``), then editable (``pip install -e``): hatchling's editable
install is a ``.pth`` path entry, which mypy follows (an import hook, as some backends install,
would hide the package from mypy).  A small user project with the README's ``mypy.ini`` lines is
then checked by that environment's mypy, and the log says which copy of ``parallelism`` it read.

The environment sees this interpreter's site-packages (mypy, wrapt... need no download) but its
own site-packages come first.  Only the build backend may be fetched, from the package index.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import venv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.test_typing import code_block, type_checking_section

ROOT = Path(__file__).resolve().parent.parent

APP = """\
from parallelism import Deferred, process, scheduler


@process
def double(x: int) -> int:
    return 2 * x


@process
def total(xs: list[int]) -> int:
    return sum(xs)


def main() -> None:
    with scheduler():
        parts = [double(i) for i in range(3)]
        grand = total(parts)
        reveal_type(grand)
        double("x")
"""

EXPECTED = [
    'app.py:18: note: Revealed type is "parallelism._deferred.Deferred[int]"',
    'app.py:19: error: Argument 1 to "double" has incompatible type "str"; '
    'expected "int | Deferred[int]"  [arg-type]',
]


@dataclass
class Environment:
    python: Path
    work: Path
    source: Path
    site_packages: Path
    project: Path

    def run(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MYPYPATH", "PYTHONHOME")}
        return subprocess.run(
            [str(self.python), *args],
            cwd=cwd or self.project,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    def pip(self, *args: str) -> None:
        done = self.run("-m", "pip", "--quiet", *args)
        assert done.returncode == 0, f"pip {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"

    def mypy(self, cache: str) -> tuple[list[str], str]:
        """mypy's messages on the user's project, and the file it read ``parallelism`` from."""
        done = self.run(
            "-m", "mypy", "--strict", "--config-file", "mypy.ini", "--cache-dir", str(self.work / cache),
            "--no-error-summary", "--hide-error-context", "--no-pretty", "--no-color-output", "-v",
            "app.py",
        )  # fmt: skip
        assert done.returncode == 1, done.stdout + done.stderr[-3000:]
        assert "Error importing plugin" not in done.stdout + done.stderr
        parsed = re.search(r"Parsing (\S*parallelism[/\\]__init__\.py) \(parallelism\)", done.stderr)
        assert parsed, "mypy did not read parallelism/__init__.py:\n" + done.stderr[-3000:]
        return done.stdout.splitlines(), parsed.group(1)

    def plugin_file(self) -> str:
        done = self.run("-c", "import parallelism.mypy_plugin as p; print(p.__file__)")
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()


def _has_build_backend(python: Path) -> bool:
    """hatchling, and editables, which its editable build imports."""
    done = subprocess.run(
        [str(python), "-c", "import hatchling.build, editables"], capture_output=True, timeout=60, check=False
    )
    return done.returncode == 0


@pytest.fixture(scope="module")
def environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Environment]:
    work = tmp_path_factory.mktemp("install")
    source = work / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "parallelism", source / "parallelism", ignore=shutil.ignore_patterns("__pycache__")
    )

    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(work / "venv")
    python = work / "venv" / ("Scripts" if os.name == "nt" else "bin") / "python"
    done = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    project = work / "project"
    project.mkdir()
    (project / "mypy.ini").write_text(code_block(type_checking_section(), "ini"))
    (project / "app.py").write_text(APP)
    env = Environment(python, work, source, Path(done.stdout.strip()), project)

    if importlib.util.find_spec("pip") is None:
        pytest.skip("pip is not installed")
    if not _has_build_backend(python):
        # The build backend (pyproject.toml's build-system) is the one thing not installed here.
        try:
            env.pip("install", "hatchling", "editables")
        except AssertionError as error:
            pytest.skip(f"cannot install the build backend hatchling (no package index?): {error}")
    yield env


def test_normal_install(environment: Environment) -> None:
    environment.pip(
        "install", "--no-deps", "--ignore-installed", "--no-build-isolation", str(environment.source)
    )
    try:
        messages, found = environment.mypy("cache-normal")
        assert messages == EXPECTED
        installed = environment.site_packages / "parallelism"
        assert Path(found).parent == installed
        assert Path(environment.plugin_file()).parent == installed
        assert (installed / "py.typed").is_file()
    finally:
        environment.pip("uninstall", "--yes", "parallelism")


def test_editable_install(environment: Environment) -> None:
    source = environment.source
    environment.pip("install", "--no-deps", "--ignore-installed", "--no-build-isolation", "-e", str(source))
    try:
        pth = [p for p in environment.site_packages.glob("*.pth") if str(source) in p.read_text()]
        assert pth, "the editable install is not a plain .pth path entry"
        messages, found = environment.mypy("cache-editable")
        assert messages == EXPECTED
        assert Path(found).parent == source / "parallelism"
        assert Path(environment.plugin_file()).parent == source / "parallelism"
    finally:
        environment.pip("uninstall", "--yes", "parallelism")
