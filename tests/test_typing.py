"""The typing suite: mypy (strict, with the plugin) over ``tests/typing/``, compared line by line.

Each case file says what mypy must report, as comments on the reported line: ``# E: message
[code]`` for an error, ``# N: message`` for a note (several may follow each other).  A line that
holds only such comments continues the code line above it, for long notes.  Everything mypy
reports must be expected and everything expected must be reported.

mypy runs in this process (``mypy.api.run``) with a temporary cache and the ``mypy.ini`` lines
the README tells users to add, so the documented setup is what is tested; the README's example
is checked with the cases.  The messages are those of the mypy version pinned in pyproject.toml.
"""

from __future__ import annotations

import difflib
import gc
import re
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from mypy import api

from parallelism import _graph, mypy_plugin

ROOT = Path(__file__).resolve().parent.parent
CASES = Path(__file__).resolve().parent / "typing"
README = ROOT / "README.md"
TYPING_DOC = ROOT / "docs" / "typing.md"

FLAGS = [
    "--strict",
    "--python-version",
    "3.10",
    "--no-error-summary",
    "--show-absolute-path",
    "--show-error-codes",
    "--hide-error-context",
    "--no-pretty",
    "--no-color-output",
]

_EXPECTATION = re.compile(r"\s*# ([EN]): ")
_REPORTED = re.compile(r"(?P<path>.+?\.py):(?P<line>\d+): (?P<kind>error|note): (?P<message>.*)")


def type_checking_section() -> str:
    """The README's "Type checking" section (or docs/typing.md, until it is pasted there)."""
    if README.exists():
        text = README.read_text()
        match = re.search(r"^#+ Type checking$(.*?)(?=^#{1,2} |\Z)", text, re.MULTILINE | re.DOTALL)
        if match and "parallelism.mypy_plugin" in match.group(1):
            return match.group(1)
    return TYPING_DOC.read_text()


def code_block(text: str, language: str) -> str:
    match = re.search(rf"^```{language}\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    assert match, f"no ```{language} block in the Type checking section"
    return match.group(1)


def expectations(path: Path) -> list[str]:
    """``name:line: error|note: message`` for each ``# E:`` / ``# N:`` comment of ``path``."""
    found: list[str] = []
    code_line = 0
    for number, text in enumerate(path.read_text().splitlines(), 1):
        code, *marks = _EXPECTATION.split(text)
        if code.strip() or not marks:
            code_line = number
        for kind, message in zip(marks[::2], marks[1::2], strict=True):
            severity = "error" if kind == "E" else "note"
            found.append(f"{path.name}:{code_line}: {severity}: {message}")
    return found


def by_line(lines: list[str]) -> list[str]:
    """Ordered by file and line; within a line, mypy's order (by column) is kept."""

    def key(line: str) -> tuple[str, int]:
        name, _, rest = line.partition(":")
        number = rest.partition(":")[0]
        return name, int(number) if number.isdigit() else 0

    return sorted(lines, key=key)


@dataclass
class Run:
    stdout: str
    stderr: str
    status: int

    def messages(self) -> list[str]:
        """The reported lines, with each path reduced to its file name."""
        out = []
        for line in self.stdout.splitlines():
            match = _REPORTED.fullmatch(line)
            if match:
                name = Path(match["path"]).name
                out.append(f"{name}:{match['line']}: {match['kind']}: {match['message']}")
            else:
                out.append(line)  # not a message (a crash?): shown in the diff
        return by_line(out)


def run_mypy(config: Path, cache: Path, files: list[Path]) -> Run:
    # mypy tunes the interpreter for itself (a lazier garbage collector, a deeper recursion
    # limit) and leaves it so: give the tests that run after these their interpreter back.
    threshold, recursion_limit = gc.get_threshold(), sys.getrecursionlimit()
    try:
        stdout, stderr, status = api.run(
            ["--config-file", str(config), "--cache-dir", str(cache), *FLAGS, *map(str, files)]
        )
    finally:
        gc.set_threshold(*threshold)
        sys.setrecursionlimit(recursion_limit)
    return Run(stdout, stderr, status)


def assert_same(expected: list[str], actual: list[str]) -> None:
    if expected != actual:
        diff = "\n".join(difflib.unified_diff(expected, actual, "expected", "mypy", lineterm="", n=1))
        pytest.fail(f"mypy's messages differ from the case files' comments:\n{diff}", pytrace=False)


@dataclass
class Setup:
    config: Path
    cache: Path
    files: list[Path]
    first: Run


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    """One cold mypy run over every case and the README example, with a fresh cache."""
    work = tmp_path_factory.mktemp("typing")
    section = type_checking_section()
    config = work / "mypy.ini"
    config.write_text(code_block(section, "ini"))
    # Copied, so that each file is a top-level module (in place they'd be ``tests.typing.x``).
    cases = work / "cases"
    cases.mkdir()
    for path in sorted(CASES.glob("*.py")):
        shutil.copy(path, cases / path.name)
    (cases / "readme_example.py").write_text(code_block(section, "python"))
    files = sorted(cases.glob("*.py"))
    cache = work / "cache"
    yield Setup(config, cache, files, run_mypy(config, cache, files))


def test_plugin_loads_from_the_documented_config(setup: Setup) -> None:
    assert "[mypy]" in setup.config.read_text()
    assert "Error importing plugin" not in setup.first.stdout + setup.first.stderr
    assert setup.first.stderr == ""
    assert setup.first.status == 1, setup.first.stdout  # 1: errors found (the rejected calls)


def test_cases_report_exactly_what_they_expect(setup: Setup) -> None:
    assert len(list(CASES.glob("case_*.py"))) >= 20
    expected = by_line([line for path in setup.files for line in expectations(path)])
    assert_same(expected, setup.first.messages())


def test_warm_cache_reports_the_same(setup: Setup) -> None:
    second = run_mypy(setup.config, setup.cache, setup.files)
    assert second.stdout == setup.first.stdout
    assert (second.stderr, second.status) == (setup.first.stderr, setup.first.status)


def test_warm_cache_checking_one_module_still_widens(setup: Setup) -> None:
    """Every dependency comes from the cache: the protocols must still be loaded (and found)."""
    chosen = [path for path in setup.files if path.name in ("case_03_lists.py", "case_13_generics.py")]
    run = run_mypy(setup.config, setup.cache, chosen)
    assert_same(by_line([line for path in chosen for line in expectations(path)]), run.messages())


LIB = """
from parallelism import process


@process
def scale(x: int) -> int:
    return 2 * x
"""

USE = """
from edit_lib import scale
from parallelism import Deferred, scheduler


def pipeline(d_int: Deferred[int], d_str: Deferred[str]) -> None:
    with scheduler():
        reveal_type(scale(d_int))
        scale(d_str)
"""


def test_editing_a_called_module_rechecks_its_callers(setup: Setup, tmp_path: Path) -> None:
    lib, use = tmp_path / "edit_lib.py", tmp_path / "edit_use.py"
    lib.write_text(LIB)
    use.write_text(USE)
    before = run_mypy(setup.config, setup.cache, [lib, use]).messages()
    assert before == [
        'edit_use.py:8: note: Revealed type is "parallelism._deferred.Deferred[int]"',
        'edit_use.py:9: error: Argument 1 to "scale" has incompatible type "Deferred[str]"; '
        'expected "int | Deferred[int]"  [arg-type]',
    ]
    lib.write_text(LIB.replace("x: int) -> int", "x: str) -> list[str]").replace("2 * x", "[x]"))
    after = run_mypy(setup.config, setup.cache, [lib, use]).messages()
    assert after == [  # by column: the note is reported at reveal_type, the error at d_int
        'edit_use.py:8: note: Revealed type is "parallelism._deferred.Deferred[list[str]]"',
        'edit_use.py:8: error: Argument 1 to "scale" has incompatible type "Deferred[int]"; '
        'expected "str | Deferred[str]"  [arg-type]',
    ]


def test_plugin_widens_exactly_the_containers_the_runtime_resolves() -> None:
    runtime = {f"builtins.{kind.__name__}" for kind in _graph._CONTAINERS}
    assert runtime == set(mypy_plugin.RESOLVED_CONTAINERS)


def test_plugin_imports_only_mypy() -> None:
    source = Path(mypy_plugin.__file__).read_text()
    imported = set(re.findall(r"^(?:from|import) ([\w.]+)", source, re.MULTILINE))
    assert {name.split(".")[0] for name in imported} <= {"__future__", "collections", "typing", "mypy"}
