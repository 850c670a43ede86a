"""Case 19 (library half): tasks defined in one module ..."""

from parallelism import process, thread


@process
def parse(text: str, *, strict: bool = False) -> list[int]:
    return [int(t) for t in text.split()]


@thread
def store(values: list[int], name: str) -> str:
    return name
