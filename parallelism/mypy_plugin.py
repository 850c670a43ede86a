"""mypy plugin: a task call accepts a ``Deferred[X]`` (also inside containers) where ``X`` is expected.

Enable it with ``plugins = parallelism.mypy_plugin`` in the ``[mypy]`` section of ``mypy.ini``
(or ``plugins = ["parallelism.mypy_plugin"]`` under ``[tool.mypy]`` in ``pyproject.toml``).
Written and tested for the mypy version the ``test`` extra pins (2.4); it imports mypy only.

What it does
------------
It hooks the *call* of a task (the method signature hook of ``Task.__call__`` and of every
subclass), not the decorator, so a Task kept in a variable or container, annotated
``Task[[int], str]``, or bound as a method is checked the same way, and the incremental cache
keeps plain ``Task[P, R]`` types.  In the signature of each call, every parameter type ``X``
becomes ``W(X)``; ``X'`` below is the same without the trailing ``| Deferred[X]``:

==========================================  ===================================================
parameter type ``X``                        what the call accepts, ``W(X)``
==========================================  ===================================================
``int``, a class, a Literal, a Callable...  ``X | Deferred[X]``
``list[E]``                                 ``ListArg[W(E)] | Deferred[X]``
``set[E]``                                  ``SetArg[W(E)] | Deferred[X]``
``frozenset[E]``                            ``frozenset[W(E)] | Deferred[X]``
``tuple[A, B]``, ``tuple[E, ...]``          ``tuple[W(A), W(B)]``, ``tuple[W(E), ...]``, ``| Deferred[X]``
``dict[K, V]``                              ``DictArg[K, W(V)] | Deferred[X]`` (keys as they are)
a TypedDict                                 the same TypedDict with read-only ``W(V)`` items
``Sequence[E]``, ``Iterable[E]``,           the containers above that are an ``X`` (list and
``AbstractSet[E]``, ``Mapping[K, V]``...    tuple for a Sequence...) with widened items, ``X``
                                            itself for any other value, ``| Deferred[X]``
``A | B``                                   ``A' | B' | Deferred[A | B]``
``Any``, ``object``, ``Deferred[...]``,     unchanged
``P.args``, a type variable left free
==========================================  ===================================================

These are exactly the containers whose Deferreds the run replaces (``RESOLVED_CONTAINERS``, kept
equal to ``parallelism._graph``'s by a test): a namedtuple, a dict's keys, a deque or a generator
are passed unchanged, so a Deferred there stays an error.  ``ListArg``, ``SetArg`` and
``DictArg`` (``parallelism._typing``) are covariant read-only protocols that the builtin
containers satisfy; ``list`` itself is invariant, so ``list[int | Deferred[int]]`` would reject a
``list[Deferred[int]]`` variable.

A generic task (``def first(xs: list[T]) -> T``) is first solved from the types its arguments
will have once their Deferreds are resolved, so ``first([d, 2])`` is a ``Deferred[int]`` (mypy
would infer ``Never`` against ``T | Deferred[T]``); bounds and constrained values are checked as
mypy checks them.  Error messages name the task as the call spells it (``Argument 1 to "f"``).

Loading: ``get_additional_deps`` makes ``parallelism._task`` depend on ``parallelism._typing``, so
the protocols are loaded and analysed before any module that can call a Task, from a cold or a
warm cache; ``get_additional_indirect_deps`` records them (and ``Deferred``) as dependencies of
each module whose calls were widened, so those are rechecked when they change.  If the protocols
cannot be found anyway, the hook leaves the signature unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

from mypy.applytype import apply_generic_arguments
from mypy.infer import infer_type_arguments
from mypy.join import join_type_list
from mypy.maptype import map_instance_to_supertype
from mypy.nodes import (
    ARG_POS,
    ARG_STAR,
    ARG_STAR2,
    ArgKind,
    CallExpr,
    Decorator,
    DictExpr,
    Expression,
    FuncDef,
    Import,
    ImportAll,
    ImportFrom,
    LambdaExpr,
    ListExpr,
    MemberExpr,
    MypyFile,
    NameExpr,
    SetExpr,
    StarExpr,
    TupleExpr,
    TypeInfo,
)
from mypy.options import Options
from mypy.plugin import CheckerPluginInterface, MethodSigContext, Plugin
from mypy.typeops import get_all_type_vars
from mypy.types import (
    AnyType,
    CallableType,
    FunctionLike,
    Instance,
    ParamSpecType,
    PartialType,
    ProperType,
    TupleType,
    Type,
    TypeAliasType,
    TypedDictType,
    TypeOfAny,
    TypeVarLikeType,
    TypeVarTupleType,
    TypeVarType,
    UninhabitedType,
    UnionType,
    UnpackType,
    flatten_nested_unions,
    get_proper_type,
)

__all__ = ["RESOLVED_CONTAINERS", "TaskCallPlugin", "plugin"]

_TASK: Final = "parallelism._task.Task"
_TASK_MODULE: Final = "parallelism._task"
_DEFERRED: Final = "parallelism._deferred.Deferred"
_DEFERRED_MODULE: Final = "parallelism._deferred"
_TYPING_MODULE: Final = "parallelism._typing"
_LIST_ARG: Final = "parallelism._typing.ListArg"
_SET_ARG: Final = "parallelism._typing.SetArg"
_DICT_ARG: Final = "parallelism._typing.DictArg"

_LIST: Final = "builtins.list"
_TUPLE: Final = "builtins.tuple"
_SET: Final = "builtins.set"
_FROZENSET: Final = "builtins.frozenset"
_DICT: Final = "builtins.dict"

RESOLVED_CONTAINERS: Final = (_LIST, _TUPLE, _SET, _FROZENSET, _DICT)
"""The exact types whose items (a dict's values) the run resolves: ``_graph._CONTAINERS``."""

# An abstract parameter type -> the resolved containers that are one.  The items are its first
# type argument, or its second (the values) for a mapping.
_ABSTRACT: Final[dict[str, tuple[str, ...]]] = {
    "typing.Iterable": (_LIST, _TUPLE, _SET, _FROZENSET),
    "typing.Collection": (_LIST, _TUPLE, _SET, _FROZENSET),
    "typing.Reversible": (_LIST, _TUPLE),
    "typing.Sequence": (_LIST, _TUPLE),
    "typing.MutableSequence": (_LIST,),
    "typing.AbstractSet": (_SET, _FROZENSET),
    "typing.MutableSet": (_SET,),
    "typing.Mapping": (_DICT,),
    "typing.MutableMapping": (_DICT,),
}

# The container a display expression (``[...]``, ``(...)``, ``{...}``) builds.
_DISPLAYS: Final[dict[type[Expression], str]] = {
    ListExpr: _LIST,
    TupleExpr: _TUPLE,
    SetExpr: _SET,
    DictExpr: _DICT,
}

# Deeper nesting is left unwidened: a guard against runaway types, not a limit anyone meets.
_MAX_DEPTH: Final = 8
# A recursive alias (``JSON = list[JSON] | dict[str, JSON] | ...``) doubles the widened type at
# each level; below this depth its Deferreds are accepted only at the top of each value.
_MAX_ALIAS_DEPTH: Final = 2

# mypy's priority for a plain module-level import (mypy.build.PRI_MED).
_PRIORITY: Final = 10


class _Widener:
    """Builds ``W(X)`` for the calls of one module."""

    def __init__(self, api: CheckerPluginInterface, infos: dict[str, TypeInfo]) -> None:
        self._api = api
        self._deferred = infos[_DEFERRED]
        self._list_arg = infos[_LIST_ARG]
        self._set_arg = infos[_SET_ARG]
        self._dict_arg = infos[_DICT_ARG]

    @classmethod
    def create(cls, plugin: Plugin, api: CheckerPluginInterface) -> _Widener | None:
        """``None`` if the library's types are not loaded (the hook then changes nothing)."""
        infos: dict[str, TypeInfo] = {}
        for fullname in (_DEFERRED, _LIST_ARG, _SET_ARG, _DICT_ARG):
            node = plugin.lookup_fully_qualified(fullname)
            if node is None or not isinstance(node.node, TypeInfo):
                return None
            infos[fullname] = node.node
        return cls(api, infos)

    def is_deferred(self, proper: ProperType) -> bool:
        return isinstance(proper, Instance) and proper.type.has_base(_DEFERRED)

    # --- W(X) ----------------------------------------------------------------------------------

    def widen(self, typ: Type, depth: int = 0, display: frozenset[str] | None = None) -> Type:
        """``W(X)``: what a task call accepts where the function declares ``typ``.

        ``display``: the argument is a display building these containers; see :meth:`_inside`.
        """
        proper = get_proper_type(typ)
        if depth > _MAX_DEPTH or self._unchanged(proper):
            return typ
        if isinstance(typ, TypeAliasType) and typ.is_recursive and depth >= _MAX_ALIAS_DEPTH:
            return _union([typ, Instance(self._deferred, [typ])])
        members = flatten_nested_unions(proper.items) if isinstance(proper, UnionType) else [typ]
        if any(_is_top(member) for member in members):
            return typ  # ``Any | X``, ``object | X``: a Deferred is accepted already
        alternatives = [alt for member in members for alt in self._inside(member, depth, display)]
        return _union([*alternatives, Instance(self._deferred, [typ])])

    def _unchanged(self, proper: ProperType) -> bool:
        # Never, ParamSpec parts (``P.args``), TypeVarTuple unpacks and free type variables are
        # mypy's to infer: ``T | Deferred[T]`` would make it infer ``Never``.
        return (
            _is_top(proper)
            or self.is_deferred(proper)
            or isinstance(proper, (UninhabitedType, TypeVarType, ParamSpecType, TypeVarTupleType, UnpackType))
        )

    def _inside(self, typ: Type, depth: int, display: frozenset[str] | None) -> list[Type]:
        """``X'``: the alternatives that accept ``typ`` with Deferreds inside it.

        An abstract type ``A[E]`` gives the resolved containers that are an ``A``, with widened
        items, and ``A[E]`` itself for any other value (a deque, a generator, a str...).  mypy
        infers a display against such a union from the context only if every alternative that
        the display could be constrains its items alike; ``A[E]`` and ``ListArg[W(E)]`` don't,
        and a mixed ``[d, 3]`` would become ``list[object]``.  So when the argument is a display,
        ``A[E]``, which cannot accept it any better, is left out.
        """
        proper = get_proper_type(typ)
        if self._unchanged(proper):
            return [typ]
        depth += 1
        if isinstance(proper, TupleType):
            if proper.partial_fallback.type.fullname != _TUPLE:  # a namedtuple: not resolved
                return [typ]
            return [proper.copy_modified(items=[self.widen(item, depth) for item in proper.items])]
        if isinstance(proper, TypedDictType):
            return [self._typed_dict(proper, depth)]
        if not isinstance(proper, Instance):
            return [typ]
        name, args = proper.type.fullname, proper.args
        if name in (_LIST, _TUPLE, _SET, _FROZENSET) and len(args) == 1:
            return [self._container(name, args[0], depth)]
        if name == _DICT and len(args) == 2:
            return [self._dict(args[0], args[1], depth)]
        targets = _ABSTRACT.get(name, ())
        if not targets or not args:
            return [typ]
        alternatives: list[Type] = []
        for target in targets:
            if display is not None and target not in display:
                continue
            if target == _DICT:
                alternatives.append(self._dict(args[0], args[-1], depth))
            else:
                alternatives.append(self._container(target, args[0], depth))
        if display is None or not alternatives:
            alternatives.append(typ)
        return alternatives

    def _container(self, name: str, item: Type, depth: int) -> Instance:
        widened = self.widen(item, depth)
        if name == _LIST:
            return Instance(self._list_arg, [widened])
        if name == _SET:
            return Instance(self._set_arg, [widened])
        return self._api.named_generic_type(name, [widened])  # tuple, frozenset: covariant

    def _dict(self, key: Type, value: Type, depth: int) -> Instance:
        return Instance(self._dict_arg, [key, self.widen(value, depth)])

    def _typed_dict(self, typ: TypedDictType, depth: int) -> TypedDictType:
        # A plain dict at run time, so its values are resolved.  Read-only items make it
        # covariant (a ``TD`` is one); with the anonymous fallback mypy checks a dict display
        # against these item types, not against ``TD``'s own.
        return typ.copy_modified(
            item_types=[self.widen(value, depth) for value in typ.items.values()],
            readonly_keys=set(typ.items),
            fallback=self._api.named_generic_type("typing._TypedDict", []),
        )

    # --- the types the arguments will have once their Deferreds are resolved -----------------

    def resolved(self, expr: Expression, kind: ArgKind = ARG_POS) -> Type | None:
        """The type argument ``expr`` will have (of its items, for ``*expr`` and ``**expr``)."""
        if kind in (ARG_STAR, ARG_STAR2):
            unpacked = _item_type(self._api, self._api.get_expression_type(expr), kind)
            return None if unpacked is None else self._resolved_type(unpacked, 0)
        return self._resolved_expr(expr)

    def _resolved_expr(self, expr: Expression) -> Type:
        api = self._api
        if isinstance(expr, (ListExpr, SetExpr)) and not any(isinstance(i, StarExpr) for i in expr.items):
            item = _join([self._resolved_expr(i) for i in expr.items])
            return api.named_generic_type(_DISPLAYS[type(expr)], [item])
        if isinstance(expr, TupleExpr) and not any(isinstance(i, StarExpr) for i in expr.items):
            items = [self._resolved_expr(i) for i in expr.items]
            return TupleType(items, api.named_generic_type(_TUPLE, [_join(items)]))
        if isinstance(expr, DictExpr) and all(key is not None for key, _ in expr.items):
            keys = [api.get_expression_type(key) for key, _ in expr.items if key is not None]
            values = [self._resolved_expr(value) for _, value in expr.items]
            return api.named_generic_type(_DICT, [_join(keys), _join(values)])
        return self._resolved_type(api.get_expression_type(expr), 0)

    def _resolved_type(self, typ: Type, depth: int) -> Type:
        proper = get_proper_type(typ)
        if depth > _MAX_DEPTH:
            return typ
        if isinstance(proper, Instance) and self.is_deferred(proper):
            if proper.type.fullname != _DEFERRED or not proper.args:  # a subclass: unknown
                return AnyType(TypeOfAny.special_form)
            return proper.args[0]
        depth += 1
        if isinstance(proper, UnionType):
            return _union([self._resolved_type(item, depth) for item in proper.items])
        if isinstance(proper, TupleType) and proper.partial_fallback.type.fullname == _TUPLE:
            return proper.copy_modified(items=[self._resolved_type(i, depth) for i in proper.items])
        if isinstance(proper, Instance):
            name, args = proper.type.fullname, proper.args
            if name in (_LIST, _TUPLE, _SET, _FROZENSET) and len(args) == 1:
                return proper.copy_modified(args=[self._resolved_type(args[0], depth)])
            if name == _DICT and len(args) == 2:
                return proper.copy_modified(args=[args[0], self._resolved_type(args[1], depth)])
        return typ


def _item_type(api: CheckerPluginInterface, typ: Type, kind: ArgKind) -> Type | None:
    """What ``*typ`` (an iterable's item) or ``**typ`` (a mapping's value) passes, if known."""
    proper = get_proper_type(typ)
    if isinstance(proper, TupleType):
        return _join(list(proper.items))
    if not isinstance(proper, Instance):
        return None
    abstract = api.named_generic_type("typing.Iterable" if kind == ARG_STAR else "typing.Mapping", [])
    if not proper.type.has_base(abstract.type.fullname):
        return None
    return map_instance_to_supertype(proper, abstract.type).args[-1]


def _is_top(typ: Type) -> bool:
    proper = get_proper_type(typ)
    return isinstance(proper, AnyType) or (
        isinstance(proper, Instance) and proper.type.fullname == "builtins.object"
    )


def _union(items: Sequence[Type]) -> Type:
    flat: list[Type] = []
    for item in flatten_nested_unions(list(items)):
        if item not in flat:
            flat.append(item)
    return UnionType.make_union(flat)


def _join(types: list[Type]) -> Type:
    return join_type_list(types) if types else UninhabitedType()


def _displays(exprs: list[Expression]) -> frozenset[str] | None:
    """The containers the arguments build if all of them are displays, else ``None``."""
    kinds = [_DISPLAYS.get(type(expr)) for expr in exprs]
    if not kinds or None in kinds:
        return None
    return frozenset(kind for kind in kinds if kind is not None)


def _mentions(typ: Type, variables: Sequence[TypeVarLikeType]) -> bool:
    ids = {variable.id for variable in variables}
    return any(variable.id in ids for variable in get_all_type_vars(typ))


def _callee(ctx: MethodSigContext) -> tuple[str | None, FuncDef | None]:
    """The task's name as the call spells it (``f``, ``lib.f``, ``model.fit``), and its def."""
    call = ctx.context
    if not isinstance(call, CallExpr) or not isinstance(call.callee, (NameExpr, MemberExpr)):
        return None, None
    node = call.callee.node
    return call.callee.name, node.func if isinstance(node, Decorator) else None


def _own_variable_names(signature: CallableType, definition: FuncDef | None) -> CallableType:
    """Name the type variables as the function does (``T``), for messages.

    Decorating a generic function leaves them named after the decorator's (``R``); their ids,
    bounds and values are the function's.
    """
    own = definition.type if definition is not None else None
    if not isinstance(own, CallableType) or len(own.variables) != len(signature.variables):
        return signature
    renamed: list[TypeVarLikeType] = []
    for current, original in zip(signature.variables, own.variables, strict=True):
        if isinstance(current, TypeVarType) and isinstance(original, TypeVarType):
            renamed.append(
                TypeVarType(
                    original.name,
                    original.fullname,
                    current.id,
                    current.values,
                    current.upper_bound,
                    current.default,
                    current.variance,
                )
            )
        else:
            renamed.append(current)
    return signature.copy_modified(variables=renamed)


def _solve_generic(signature: CallableType, ctx: MethodSigContext, widener: _Widener) -> CallableType:
    """Apply the type arguments solved from the arguments' resolved types (``T`` -> ``int``).

    Only plain type variables are solved; a variable the arguments leave undetermined stays for
    mypy, and so do the parameters that mention it (unwidened).
    """
    if not all(isinstance(variable, TypeVarType) for variable in signature.variables):
        return signature
    call = ctx.context
    kinds: dict[int, ArgKind] = {}
    if isinstance(call, CallExpr):
        kinds = {id(arg): kind for arg, kind in zip(call.args, call.arg_kinds, strict=True)}
    templates: list[Type] = []
    actuals: list[Type] = []
    with ctx.api.msg.filter_errors():  # the call is checked (and reported) once, by mypy
        for formal, exprs in zip(signature.arg_types, ctx.args, strict=True):
            if not _mentions(formal, signature.variables):
                continue
            for expr in exprs:
                if isinstance(expr, LambdaExpr):
                    continue  # typed from the context: mypy checks it once ``T`` is solved
                actual = widener.resolved(expr, kinds.get(id(expr), ARG_POS))
                if actual is not None:
                    templates.append(formal)
                    actuals.append(actual)
    if not templates:
        return signature
    fallback = ctx.api.named_generic_type(_TUPLE, [AnyType(TypeOfAny.special_form)])
    inferred = infer_type_arguments(
        signature.variables, TupleType(templates, fallback), TupleType(actuals, fallback), is_supertype=True
    )
    solved: list[Type | None] = [
        None if found is None or isinstance(get_proper_type(found), (UninhabitedType, PartialType)) else found
        for found in inferred
    ]
    return apply_generic_arguments(signature, solved, ctx.api.msg.incompatible_typevar_value, ctx.context)


def _widen_call(plugin: TaskCallPlugin) -> Callable[[MethodSigContext], FunctionLike]:
    def hook(ctx: MethodSigContext) -> FunctionLike:
        signature = ctx.default_signature
        if not (isinstance(ctx.type, Instance) and ctx.type.type.has_base(_TASK)):
            return signature
        widener = _Widener.create(plugin, ctx.api)
        if widener is None:
            return signature
        plugin.callers.add(ctx.api.path)
        name, definition = _callee(ctx)
        if name is not None:
            # ``definition`` is where '"f" defined in "module"' notes point (the default would
            # be Task.__call__); None when the call doesn't name the decorated function.
            signature = signature.copy_modified(name=name, definition=definition)
        if signature.variables:
            signature = _solve_generic(_own_variable_names(signature, definition), ctx, widener)
        arg_types = [
            typ if _mentions(typ, signature.variables) else widener.widen(typ, display=_displays(exprs))
            for typ, exprs in zip(signature.arg_types, ctx.args, strict=True)
        ]
        return signature.copy_modified(arg_types=arg_types)

    return hook


def _imported_modules(file: MypyFile) -> set[str]:
    """The modules ``file`` imports (enough not to declare a dependency twice)."""
    found: set[str] = set()
    parts = file.fullname.split(".")
    package = parts if file.is_package_init_file() else parts[:-1]
    for node in file.imports:
        if isinstance(node, Import):
            found.update(module for module, _ in node.ids)
        elif isinstance(node, (ImportFrom, ImportAll)):
            base = node.id
            if node.relative:
                prefix = package[: len(package) - node.relative + 1]
                base = ".".join([*prefix, node.id] if node.id else prefix)
            found.add(base)
            if isinstance(node, ImportFrom):
                found.update(f"{base}.{name}" for name, _ in node.names)
    return found


class TaskCallPlugin(Plugin):
    """Widens the parameters of every ``Task.__call__`` (and subclass) call to accept Deferreds."""

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self.callers: set[str] = set()
        """Paths of the modules whose task calls the hook widened in this build."""

    def get_additional_deps(self, file: MypyFile) -> list[tuple[int, str, int]]:
        # Every module that can call a Task depends on parallelism._task, so this loads (and
        # analyses first) the protocols whenever they can be needed; a warm cache keeps the
        # dependency in _task's metadata.
        if file.fullname == _TASK_MODULE and _TYPING_MODULE not in _imported_modules(file):
            return [(_PRIORITY, _TYPING_MODULE, -1)]
        return []

    def get_additional_indirect_deps(self, file: MypyFile) -> set[str]:
        # A module whose calls were widened uses the protocols and Deferred without importing
        # them: recheck it when they change.
        if file.path in self.callers:
            return {_TYPING_MODULE, _DEFERRED_MODULE} - {file.fullname}
        return set()

    def get_method_signature_hook(self, fullname: str) -> Callable[[MethodSigContext], FunctionLike] | None:
        # Asked for every method call mypy checks: a string test first, then one lookup.  The
        # name is the receiver's class (``Sub.__call__``); the hook checks the receiver itself
        # when the class can't be looked up (a class defined in a function).
        if not fullname.endswith(".__call__"):
            return None
        class_name = fullname.removesuffix(".__call__")
        if class_name != _TASK:
            node = self.lookup_fully_qualified(class_name)
            if node is not None and isinstance(node.node, TypeInfo) and not node.node.has_base(_TASK):
                return None
        return _widen_call(self)


def plugin(version: str) -> type[Plugin]:
    """mypy's entry point."""
    return TaskCallPlugin
