"""Case 10: keywords, keyword-only parameters and defaults work, and mistakes name the task."""

from parallelism import Deferred, thread, scheduler


@thread
def h(a: int, b: str = "-", *, sep: str = ",") -> str:
    return f"{a}{sep}{b}"


def pipeline(d_int: Deferred[int], d_str: Deferred[str]) -> None:
    with scheduler():
        h(1)
        h(1, sep=";")
        h(d_int, b=d_str)
        h(a=d_int, b="x", sep=d_str)
        h(b="x", a=1)
        h()  # E: Missing positional argument "a" in call to "h"  [call-arg]
        h(b="x")  # E: Missing positional argument "a" in call to "h"  [call-arg]
        h(1, "a", "b")  # E: Too many positional arguments for "h"  [call-arg]
        h(1, "a", sep=";", x=2)  # E: Unexpected keyword argument "x" for "h"  [call-arg]
        h(1, sepp=";")  # E: Unexpected keyword argument "sepp" for "h"; did you mean "sep"?  [call-arg]
        h(1, b=d_int)  # E: Argument "b" to "h" has incompatible type "Deferred[int]"; expected "str | Deferred[str]"  [arg-type]
        h(d_str)  # E: Argument 1 to "h" has incompatible type "Deferred[str]"; expected "int | Deferred[int]"  [arg-type]
        h(1, sep=d_int)  # E: Argument "sep" to "h" has incompatible type "Deferred[int]"; expected "str | Deferred[str]"  [arg-type]
