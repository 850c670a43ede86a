"""mypy plugin: a task call accepts a ``Deferred[X]`` (also inside containers) where ``X`` is expected.

Enable it with ``plugins = parallelism.mypy_plugin`` in the ``[mypy]`` section.  It hooks the
call (``Task.__call__`` and subclasses), not the decorator, so Tasks kept in variables are checked
too.  Each parameter type ``X`` is widened to ``W(X)``; the containers walked are exactly those the
runtime resolves (``parallelism._graph.find_deferreds``).  Imports mypy only.
"""

from __future__ import annotations

from collections.abc import Callable

from mypy.nodes import TypeInfo
from mypy.plugin import MethodSigContext, Plugin
from mypy.types import (
    AnyType,
    CallableType,
    FunctionLike,
    Instance,
    ProperType,
    TupleType,
    Type,
    TypeOfAny,
    UnionType,
    get_proper_type,
)

_TASK = "parallelism._task.Task"
_DEFERRED = "parallelism._deferred.Deferred"
_LIST_ARG = "parallelism._typing.ListArg"
_DICT_ARG = "parallelism._typing.DictArg"


class _Widener:
    def __init__(self, plugin: Plugin) -> None:
        self._plugin = plugin

    def _info(self, fullname: str) -> TypeInfo | None:
        node = self._plugin.lookup_fully_qualified(fullname)
        if node is None or not isinstance(node.node, TypeInfo):
            return None
        return node.node

    def deferred(self, inner: Type) -> Instance | None:
        info = self._info(_DEFERRED)
        return None if info is None else Instance(info, [inner])

    def widen(self, typ: Type) -> Type:
        proper = get_proper_type(typ)
        deferred = self.deferred(typ)
        if deferred is None or isinstance(proper, AnyType):
            return typ
        if isinstance(proper, Instance):
            if proper.type.fullname in (_DEFERRED, "builtins.object"):
                return typ
            inner = self._widen_inside(proper)
            return UnionType.make_union([inner, deferred])
        if isinstance(proper, TupleType):
            items = [self.widen(item) for item in proper.items]
            return UnionType.make_union([proper.copy_modified(items=items), deferred])
        if isinstance(proper, UnionType):
            return UnionType.make_union([self.widen(item) for item in proper.items] + [deferred])
        return UnionType.make_union([typ, deferred])

    def _widen_inside(self, proper: Instance) -> ProperType:
        name = proper.type.fullname
        if name == "builtins.list" and proper.args:
            info = self._info(_LIST_ARG)
            if info is not None:
                return Instance(info, [self.widen(proper.args[0])])
        if name == "builtins.dict" and len(proper.args) == 2:
            info = self._info(_DICT_ARG)
            if info is not None:
                return Instance(info, [proper.args[0], self.widen(proper.args[1])])
        if name == "builtins.tuple" and proper.args:
            return proper.copy_modified(args=[self.widen(proper.args[0])])
        if name in ("typing.Sequence", "collections.abc.Sequence") and proper.args:
            return proper.copy_modified(args=[self.widen(proper.args[0])])
        if name in ("typing.Mapping", "collections.abc.Mapping") and len(proper.args) == 2:
            return proper.copy_modified(args=[proper.args[0], self.widen(proper.args[1])])
        return proper


def _widen_call(plugin: Plugin) -> Callable[[MethodSigContext], FunctionLike]:
    def hook(ctx: MethodSigContext) -> FunctionLike:
        signature: FunctionLike = ctx.default_signature
        if not isinstance(signature, CallableType):
            return signature
        widener = _Widener(plugin)
        if widener.deferred(AnyType(TypeOfAny.special_form)) is None:
            return signature
        return signature.copy_modified(arg_types=[widener.widen(t) for t in signature.arg_types])

    return hook


class DeferredPlugin(Plugin):
    """Widens the parameters of every ``Task.__call__`` to accept Deferreds."""

    def get_method_signature_hook(self, fullname: str) -> Callable[[MethodSigContext], FunctionLike] | None:
        if not fullname.endswith(".__call__"):
            return None
        class_name = fullname[: -len(".__call__")]
        if class_name == _TASK:
            return _widen_call(self)
        node = self.lookup_fully_qualified(class_name)
        if node is not None and isinstance(node.node, TypeInfo) and node.node.has_base(_TASK):
            return _widen_call(self)
        return None


def plugin(version: str) -> type[Plugin]:
    """mypy's entry point."""
    return DeferredPlugin
