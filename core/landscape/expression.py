"""Typed loss surfaces: f(x, y) as text, read through a whitelist and differentiated exactly.

`parse` reads a formula such as `(1 - x)**2 + 100*(y - x**2)**2` with Python's `ast` and keeps only
numbers, x, y, pi, e, + - * / **, parentheses and calls of `FUNCTIONS`; anything else is refused with
an `ExpressionError` that names the token, its 1-based position and what is allowed. Nothing the user
types is ever run: the tree is rebuilt from our own node classes and evaluated by them, on numbers for
f and on `Jet`s (`core.landscape.jet`) for its exact gradient and Hessian.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from core.landscape.jet import FUNCTIONS, Function, Jet

MAX_LENGTH = 500  # characters, checked before anything is parsed
MAX_DEPTH = 50  # nesting levels; a run of + and − (or of * and /) counts as one level
MAX_NODES = 500  # numbers, names, operators and calls
NAMES = {"x": None, "y": None, "pi": math.pi, "e": math.e}  # None: a variable
ALIASES = {"arctan": "atan", "arcsin": "asin", "arccos": "acos"}  # numpy's spelling, read as math's


class ExpressionError(ValueError):
    """A formula that is not allowed, or not one formula at all; the message says where and why."""


# --- the tree we evaluate ---------------------------------------------------------------------------

# How tightly each node binds, to put parentheses back exactly where the tree needs them.
SUM, PRODUCT, UNARY, POWER, ATOM = range(1, 6)


class _Node(Protocol):
    precedence: int
    variables: frozenset[str]

    def evaluate(self, x, y): ...

    def source(self, spaced: bool) -> str: ...


def _wrap(node: _Node, needed: int, spaced: bool) -> str:
    text = node.source(spaced)
    return f"({text})" if node.precedence < needed else text


class _Number:
    precedence = ATOM
    variables: frozenset[str] = frozenset()

    def __init__(self, value: float, text: str):
        self.value, self.text = np.float64(value), text

    def evaluate(self, x, y):
        return self.value

    def source(self, spaced: bool) -> str:
        return self.text


class _Variable:
    precedence = ATOM

    def __init__(self, name: str):
        self.name, self.variables = name, frozenset({name})

    def evaluate(self, x, y):
        return x if self.name == "x" else y

    def source(self, spaced: bool) -> str:
        return self.name


class _Negative:
    precedence = UNARY

    def __init__(self, operand):
        self.operand, self.variables = operand, operand.variables

    def evaluate(self, x, y):
        return -self.operand.evaluate(x, y)

    def source(self, spaced: bool) -> str:
        return "-" + _wrap(self.operand, UNARY, spaced)


_OPERATIONS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}


class _Run:
    """a ± b ± c … or a */ b */ c …, evaluated left to right as Python does, without recursion."""

    def __init__(self, first: _Node, rest: list[tuple[str, _Node]]):
        self.first, self.rest = first, rest
        self.precedence = SUM if rest[0][0] in "+-" else PRODUCT
        self.variables = first.variables.union(*(node.variables for _, node in rest))

    def evaluate(self, x, y):
        total = self.first.evaluate(x, y)
        for symbol, node in self.rest:
            total = _OPERATIONS[symbol](total, node.evaluate(x, y))
        return total

    def source(self, spaced: bool) -> str:
        parts = [_wrap(self.first, self.precedence, spaced)]
        for symbol, node in self.rest:
            gap = " " if spaced and self.precedence == SUM else ""
            parts.append(f"{gap}{symbol}{gap}{_wrap(node, self.precedence + 1, spaced)}")
        return "".join(parts)


class _Power:
    precedence = POWER

    def __init__(self, base, exponent):
        self.base, self.exponent = base, exponent
        self.variables = base.variables | exponent.variables
        self.constant = None  # a constant exponent, evaluated once: the power rule applies
        if not exponent.variables:
            with np.errstate(all="ignore"):
                self.constant = exponent.evaluate(None, None)

    def evaluate(self, x, y):
        base = self.base.evaluate(x, y)
        return base ** (self.exponent.evaluate(x, y) if self.constant is None else self.constant)

    def source(self, spaced: bool) -> str:  # ** groups to the right; its exponent may be signed
        return f"{_wrap(self.base, ATOM, spaced)}**{_wrap(self.exponent, UNARY, spaced)}"


class _Call:
    precedence = ATOM

    def __init__(self, function: Function, args: list):
        self.function, self.args = function, args
        self.variables = frozenset().union(*(a.variables for a in args))

    def evaluate(self, x, y):
        return self.function.apply(*(a.evaluate(x, y) for a in self.args))

    def source(self, spaced: bool) -> str:
        comma = ", " if spaced else ","
        return f"{self.function.name}({comma.join(a.source(spaced) for a in self.args)})"


# --- reading the text ---------------------------------------------------------------------------------

_SINGLETONS = (ast.expr_context, ast.operator, ast.unaryop, ast.boolop, ast.cmpop)
_RUNS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_GROUP = {ast.Add: SUM, ast.Sub: SUM, ast.Mult: PRODUCT, ast.Div: PRODUCT}
_SYMBOLS = {  # operators that are refused, as typed
    ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.LShift: "<<", ast.RShift: ">>",
    ast.BitOr: "|", ast.BitXor: "^", ast.BitAnd: "&", ast.Not: "not", ast.Invert: "~",
    ast.And: "and", ast.Or: "or", ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=",
    ast.Gt: ">", ast.GtE: ">=", ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in",
}  # fmt: skip
_KINDS = {  # what a refused construct is called, by its node type
    ast.Lambda: "lambdas", ast.ListComp: "comprehensions", ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions", ast.GeneratorExp: "comprehensions", ast.Compare: "comparisons",
    ast.BoolOp: "boolean operators", ast.IfExp: "conditional expressions", ast.NamedExpr: "assignments",
    ast.JoinedStr: "f-strings", ast.Starred: "starred arguments", ast.Tuple: "tuples", ast.List: "lists",
    ast.Set: "sets", ast.Dict: "dicts", ast.Await: "await expressions",
}  # fmt: skip
KNOWN_FUNCTIONS = "known: " + ", ".join(sorted(FUNCTIONS))
ALLOWED = "allowed: numbers, x, y, pi, e, + - * / **, parentheses and calls of " + ", ".join(
    sorted(FUNCTIONS)
)


def _shown(token: str, most: int = 24) -> str:
    return repr(token if len(token) <= most else token[: most - 1] + "…")


class _Reader:
    """The text and its positions: ast counts UTF-8 bytes within a line, a user counts characters."""

    def __init__(self, text: str):
        self.text = text
        self.starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]

    def index(self, line: int, col: int) -> int:
        """0-based character index of ast's (line, byte column)."""
        start = self.starts[line - 1]
        return start + len(self.text[start:].encode()[:col].decode(errors="ignore"))

    def start(self, node) -> int:
        return self.index(node.lineno, node.col_offset)

    def end(self, node) -> int:
        return self.index(node.end_lineno, node.end_col_offset)

    def segment(self, node) -> str:
        return self.text[self.start(node) : self.end(node)]

    def between(self, left, right) -> int:
        """Index of the operator between two nodes: the first character not a space, bracket or comment."""
        i, stop = self.end(left), self.start(right)
        while i < stop:
            c = self.text[i]
            if c == "#":
                newline = self.text.find("\n", i, stop)
                i = stop if newline < 0 else newline
            elif c.isspace() or c in "()\\":
                i += 1
            else:
                return i
        return self.end(left)

    def refuse(self, index: int, message: str) -> ExpressionError:
        return ExpressionError(f"position {index + 1}: {message}")

    # -- before ast sees it

    def refuse_early(self) -> None:
        """What never reaches the parser: characters it cannot take, and strings (whose escapes it
        would warn about before they were refused)."""
        bad = next((i for i, c in enumerate(self.text) if c == "\0" or "\ud800" <= c <= "\udfff"), None)
        if bad is not None:
            raise self.refuse(bad, f"the character {self.text[bad]!r} is not allowed")
        i = 0
        while i < len(self.text):
            c = self.text[i]
            if c == "#":
                end = self.text.find("\n", i)
                i = len(self.text) if end < 0 else end
            elif c in "'\"":
                begin = i
                while begin > 0 and self.text[begin - 1].isalpha():
                    begin -= 1
                prefix = self.text[begin:i].lower()
                if prefix not in {"r", "u", "b", "br", "rb", "f", "fr", "rf"}:
                    prefix, begin = "", i
                close = self.text.find(c, i + 1)
                token = self.text[begin : len(self.text) if close < 0 else close + 1]
                kind = "bytes" if "b" in prefix else "f-strings" if "f" in prefix else "strings"
                raise self.refuse(begin, f"{kind} ({_shown(token)}) are not allowed ({ALLOWED})")
            i += 1

    def parse(self) -> ast.expr:
        try:
            return ast.parse(self.text, mode="eval").body
        except SyntaxError as err:
            line, offset = err.lineno or 1, err.offset or 0
            if offset <= 0 or line > len(self.starts):
                where = len(self.text)
            else:
                where = min(self.starts[line - 1] + offset - 1, len(self.text))
            token = (self.text[where:].split() or [self.text[where:]])[0][:12]
            shown = _shown(token) if token else "the end"
            raise self.refuse(where, f"syntax error at {shown}: {err.msg}") from None
        except (RecursionError, MemoryError):
            limits = f"at most {MAX_NODES} parts, {MAX_DEPTH} levels deep"
            raise ExpressionError(f"expression is too large or too deeply nested to read; {limits}") from None
        except ValueError as err:  # refuse_early takes out the characters known to cause this
            raise ExpressionError(f"expression cannot be read: {err}") from None

    def check_size(self, root: ast.expr) -> None:
        """At most MAX_NODES nodes and MAX_DEPTH levels, counted without recursion."""
        count = sum(1 for node in ast.walk(root) if not isinstance(node, _SINGLETONS))
        if count > MAX_NODES:
            raise ExpressionError(
                f"expression has {count} parts (numbers, names, operators, calls); at most {MAX_NODES}"
            )
        stack: list[tuple[ast.AST, int, ast.AST]] = [(root, 1, root)]  # node, depth, where to point
        while stack:
            node, depth, at = stack.pop()
            at = node if hasattr(node, "lineno") else at  # a comprehension's `for` part has no position
            if depth > MAX_DEPTH:
                token = _shown(self.segment(at), 16)
                raise self.refuse(self.start(at), f"{token} is nested deeper than {MAX_DEPTH} levels")
            for child in ast.iter_child_nodes(node):
                if isinstance(child, _SINGLETONS):
                    continue
                same_run = (
                    isinstance(node, ast.BinOp)
                    and child is node.left
                    and isinstance(child, ast.BinOp)
                    and _GROUP.get(type(child.op), 0) == _GROUP.get(type(node.op), -1)
                )
                stack.append((child, depth if same_run else depth + 1, at))

    # -- the whitelist

    def read(self, node: ast.expr):
        if isinstance(node, ast.Constant):
            return self.number(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            operand = self.read(node.operand)
            return _Negative(operand) if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            return _Power(self.read(node.left), self.read(node.right))
        if isinstance(node, ast.BinOp) and type(node.op) in _RUNS:
            return self.run(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        raise self.refused(node)

    def number(self, node: ast.Constant) -> _Number:
        value, token, at = node.value, self.segment(node), self.start(node)
        if isinstance(value, complex):
            raise self.refuse(at, f"complex numbers ({_shown(token)}) are not allowed ({ALLOWED})")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.refuse(at, f"{_shown(token)} is not a number ({ALLOWED})")
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise self.refuse(at, f"{_shown(token)} is not a finite number (at most about 1.8e308)")
        return _Number(number, token.replace("_", ""))

    def name(self, node: ast.Name) -> _Number | _Variable:
        if node.id in NAMES:
            value = NAMES[node.id]
            return _Variable(node.id) if value is None else _Number(value, node.id)
        if node.id in FUNCTIONS or node.id in ALIASES:
            raise self.refuse(self.start(node), f"{node.id!r} is a function: call it, as in {node.id}(x)")
        raise self.refuse(self.start(node), f"{node.id!r} is not a known name (known: {', '.join(NAMES)})")

    def run(self, node: ast.BinOp) -> _Run:
        group, rest = _GROUP[type(node.op)], []
        left: ast.expr = node
        while isinstance(left, ast.BinOp) and _GROUP.get(type(left.op)) == group:  # down the left side
            rest.append((_RUNS[type(left.op)], left.right))
            left = left.left
        first = self.read(left)
        return _Run(first, [(symbol, self.read(right)) for symbol, right in reversed(rest)])

    def call(self, node: ast.Call) -> _Call:
        func = node.func
        if not isinstance(func, ast.Name):
            if type(func) in _KINDS or isinstance(func, ast.Attribute | ast.Subscript):
                raise self.refused(func)
            token = _shown(self.segment(func))
            raise self.refuse(
                self.start(func), f"{token} cannot be called; only functions ({KNOWN_FUNCTIONS})"
            )
        name = ALIASES.get(func.id, func.id)
        if name not in FUNCTIONS:
            raise self.refuse(self.start(func), f"{func.id!r} is not a known function ({KNOWN_FUNCTIONS})")
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self.refused(arg)
        if node.keywords:
            keyword = node.keywords[0]
            token = "**" if keyword.arg is None else f"{keyword.arg}="
            message = f"keyword arguments ({token!r}) are not allowed; give {name}'s arguments in order"
            raise self.refuse(self.start(keyword), message)
        function = FUNCTIONS[name]
        if len(node.args) != function.arity:
            plural = "" if function.arity == 1 else "s"
            raise self.refuse(
                self.start(func), f"{name!r} takes {function.arity} argument{plural}, got {len(node.args)}"
            )
        return _Call(function, [self.read(arg) for arg in node.args])

    def refused(self, node: ast.AST) -> ExpressionError:
        """Why `node` is not allowed, at its token."""
        if isinstance(node, ast.Attribute):
            dot = self.text.rfind(".", 0, self.end(node))  # the name after it has no dot
            return self.refuse(dot, f"attribute access ('.{node.attr}') is not allowed ({ALLOWED})")
        if isinstance(node, ast.Subscript):
            bracket = self.text.find("[", self.end(node.value))
            token = self.text[bracket : self.end(node)]
            return self.refuse(bracket, f"subscripts ({_shown(token)}) are not allowed ({ALLOWED})")
        at, token = self.start(node), self.segment(node)
        if isinstance(node, ast.BinOp | ast.BoolOp | ast.Compare | ast.UnaryOp):
            op = node.ops[0] if isinstance(node, ast.Compare) else node.op
            token = _SYMBOLS[type(op)]
            if isinstance(node, ast.BinOp):
                at = self.between(node.left, node.right)
            elif isinstance(node, ast.BoolOp):
                at = self.between(node.values[0], node.values[1])
            elif isinstance(node, ast.Compare):
                at = self.between(node.left, node.comparators[0])
            hint = "; write ** for a power" if token == "^" else ""
            kind = _KINDS.get(type(node))
            what = f"the operator {token!r} is" if kind is None else f"{kind} ({token!r}) are"
            return self.refuse(at, f"{what} not allowed (operators: + - * / **){hint}")
        if isinstance(node, ast.IfExp):
            at, token = self.between(node.body, node.test), "if"
        elif isinstance(node, ast.NamedExpr):
            at, token = self.between(node.target, node.value), ":="
        elif isinstance(node, ast.Lambda):
            token = "lambda"
        kind = _KINDS.get(type(node))
        if kind is None:
            return self.refuse(at, f"{_shown(token)} is not allowed ({ALLOWED})")
        return self.refuse(at, f"{kind} ({_shown(token)}) are not allowed ({ALLOWED})")


# --- the expression -----------------------------------------------------------------------------------


def _inputs(x, y):
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    shape = np.broadcast_shapes(x.shape, y.shape)
    return (x[()], y[()], shape) if shape == () else (x, y, shape)


def _shaped(value, shape: tuple[int, ...], *inputs):
    """`value` as float64 of the inputs' shape: a scalar for scalars, never one of the inputs itself."""
    out = np.asarray(value, dtype=float)
    if out.shape != shape:
        out = np.broadcast_to(out, shape).copy()
    elif any(value is i for i in inputs):
        out = out.copy()
    return out[()] if shape == () else out


@dataclass(frozen=True)
class Expression:
    """A parsed f(x, y): its normalized `text` and exact f, ∇f and Hessian, vectorized over numpy arrays.

    Non-finite results (log of a negative number, overflow) come out as NaN or ±∞, as numpy gives them.
    """

    text: str  # normalized: parse(text).text == text
    tree: _Node = field(repr=False, compare=False)

    @property
    def variables(self) -> frozenset[str]:
        """Which of x and y f depends on, as written."""
        return self.tree.variables

    def f(self, x, y):
        x, y, shape = _inputs(x, y)
        with np.errstate(all="ignore"):
            return _shaped(self.tree.evaluate(x, y), shape, x, y)

    def _jet(self, x, y, second: bool):
        x, y, shape = _inputs(x, y)
        with np.errstate(all="ignore"):
            u = self.tree.evaluate(Jet.variable(x, 0, second), Jet.variable(y, 1, second))
        return (u if isinstance(u, Jet) else Jet(u, (0.0, 0.0), (0.0, 0.0, 0.0))), shape

    def grad(self, x, y):
        """(∂f/∂x, ∂f/∂y)."""
        u, shape = self._jet(x, y, second=False)
        return _shaped(u.d[0], shape), _shaped(u.d[1], shape)

    def hessian(self, x, y):
        """(∂²f/∂x², ∂²f/∂x∂y, ∂²f/∂y²)."""
        u, shape = self._jet(x, y, second=True)
        assert u.dd is not None
        return tuple(_shaped(c, shape) for c in u.dd)


def parse(text: str) -> Expression:
    """The formula `text` read through the whitelist; an ExpressionError saying where and why otherwise."""
    if not isinstance(text, str):
        raise ExpressionError(f"expression must be text, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression is {len(text)} characters long; at most {MAX_LENGTH}")
    if not text.strip():
        raise ExpressionError("expression is empty; type a formula in x and y, such as x**2 + 3*y**2")
    reader = _Reader(text)
    reader.refuse_early()
    root = reader.parse()
    reader.check_size(root)
    tree = reader.read(root)
    spaced = tree.source(spaced=True)  # compact when spaces would make it too long to type back in
    return Expression(spaced if len(spaced) <= MAX_LENGTH else tree.source(spaced=False), tree)
