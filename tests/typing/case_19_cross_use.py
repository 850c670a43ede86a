"""Case 19 (user half): ... are widened where another module calls them."""

import case_19_cross_lib as lib
from case_19_cross_lib import parse, store

from parallelism import Deferred, scheduler


def pipeline(d_text: Deferred[str]) -> None:
    with scheduler():
        numbers = parse(d_text, strict=True)
        reveal_type(numbers)  # N: Revealed type is "parallelism._deferred.Deferred[list[int]]"
        store(numbers, "n")
        lib.store([1, 2], d_text)
        parse(numbers)  # E: Argument 1 to "parse" has incompatible type "Deferred[list[int]]"; expected "str | Deferred[str]"  [arg-type]
        lib.parse(d_text, lax=True)  # E: Unexpected keyword argument "lax" for "parse"  [call-arg]
        # N: "parse" defined in "case_19_cross_lib"
