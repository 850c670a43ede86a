"""Case 15: methods bind ``self`` (the instance is pickled with the call); staticmethods don't."""

from parallelism import Deferred, process, scheduler, thread


class Model:
    def __init__(self, scale: float) -> None:
        self.scale = scale

    @process
    def fit(self, x: int, *, rate: float = 0.1) -> float:
        return x * self.scale * rate

    @thread
    async def save(self, path: str) -> bool:
        return True

    @process
    @staticmethod
    def load(path: str) -> "Model":
        return Model(1.0)


def pipeline(d_int: Deferred[int], d_str: Deferred[str], d_model: Deferred[Model]) -> None:
    model = Model(2.0)
    with scheduler():
        reveal_type(model.fit)  # N: Revealed type is "parallelism._task.Task[[x: int, *, rate: float =], float]"
        reveal_type(model.fit(d_int, rate=0.5))  # N: Revealed type is "parallelism._deferred.Deferred[float]"
        reveal_type(model.save(d_str))  # N: Revealed type is "parallelism._deferred.Deferred[bool]"
        reveal_type(Model.load(d_str))  # N: Revealed type is "parallelism._deferred.Deferred[case_15_methods.Model]"
        reveal_type(Model.fit)  # N: Revealed type is "parallelism._task.Task[[self: case_15_methods.Model, x: int, *, rate: float =], float]"
        Model.fit(model, d_int)
        model.fit(d_str)  # E: Argument 1 to "fit" has incompatible type "Deferred[str]"; expected "int | Deferred[int]"  [arg-type]
        model.fit(1, 2)  # E: Too many positional arguments for "fit"  [call-arg]
        Model.load(1)  # E: Argument 1 to "load" has incompatible type "int"; expected "str | Deferred[str]"  [arg-type]
        Model.fit(d_model, 1)
