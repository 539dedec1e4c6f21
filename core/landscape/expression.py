"""Typed loss surfaces: f(x, y) as text, read through a whitelist and differentiated exactly.

`parse` reads a formula such as `(1 - x)**2 + 100*(y - x**2)**2` with Python's `ast` and keeps only
numbers, x, y, pi, e, + - * / **, parentheses and calls of `FUNCTIONS`; anything else is refused with
an `ExpressionError` that names the token, its 1-based position and what is allowed. Nothing the user
types is ever run: the tree is rebuilt from our own node classes and evaluated by them.

Derivatives are exact, by forward-mode automatic differentiation: the tree is evaluated on `Jet`s,
truncated Taylor numbers that carry the value, the gradient and (when asked) the Hessian. Each
elementary function g(u) applies the chain rule: g'(u)·uᵢ and g''(u)·uᵢ·uⱼ + g'(u)·uᵢⱼ.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from core.landscape.landscapes import Landscape, Minimum
from core.landscape.minima import search

MAX_LENGTH = 500  # characters, checked before anything is parsed
MAX_DEPTH = 50  # nesting levels; a run of + and − (or of * and /) counts as one level
MAX_NODES = 500  # numbers, names, operators and calls
NAMES = {"x": None, "y": None, "pi": math.pi, "e": math.e}  # None: a variable
ALIASES = {"arctan": "atan", "arcsin": "asin", "arccos": "acos"}  # numpy's spelling, read as math's


class ExpressionError(ValueError):
    """A formula that is not allowed, or not one formula at all; the message says where and why."""


# --- forward-mode derivatives ---------------------------------------------------------------------


class Jet:
    """u with its first derivatives d = (uₓ, u_y) and, when tracked, dd = (uₓₓ, uₓᵧ, u_yy).

    Components are floats or numpy arrays that broadcast together. Plain numbers mix in as constants.
    """

    __slots__ = ("d", "dd", "v")
    __array_ufunc__ = None  # ndarray + Jet: numpy hands over to Jet.__radd__

    def __init__(self, v, d, dd=None):
        self.v, self.d, self.dd = v, d, dd

    @classmethod
    def variable(cls, v, which: int, second: bool) -> Jet:
        d = (1.0, 0.0) if which == 0 else (0.0, 1.0)
        return cls(v, d, (0.0, 0.0, 0.0) if second else None)

    def _like(self, c) -> Jet:
        """The constant c as a Jet of the same order."""
        return Jet(c, (0.0, 0.0), None if self.dd is None else (0.0, 0.0, 0.0))

    def __pos__(self) -> Jet:
        return self

    def __neg__(self) -> Jet:
        dd = None if self.dd is None else tuple(-c for c in self.dd)
        return Jet(-self.v, (-self.d[0], -self.d[1]), dd)

    def __add__(self, other) -> Jet:
        if not isinstance(other, Jet):
            return Jet(self.v + other, self.d, self.dd)
        dd = None if self.dd is None else tuple(a + b for a, b in zip(self.dd, other.dd, strict=True))
        return Jet(self.v + other.v, (self.d[0] + other.d[0], self.d[1] + other.d[1]), dd)

    def __radd__(self, other) -> Jet:
        return Jet(other + self.v, self.d, self.dd)

    def __sub__(self, other) -> Jet:
        if not isinstance(other, Jet):
            return Jet(self.v - other, self.d, self.dd)
        dd = None if self.dd is None else tuple(a - b for a, b in zip(self.dd, other.dd, strict=True))
        return Jet(self.v - other.v, (self.d[0] - other.d[0], self.d[1] - other.d[1]), dd)

    def __rsub__(self, other) -> Jet:
        return self._like(other) - self

    def __mul__(self, other) -> Jet:
        if not isinstance(other, Jet):
            dd = None if self.dd is None else tuple(c * other for c in self.dd)
            return Jet(self.v * other, (self.d[0] * other, self.d[1] * other), dd)
        (ax, ay), (bx, by) = self.d, other.d
        a, b = self.v, other.v
        dd = None
        if self.dd is not None:
            (axx, axy, ayy), (bxx, bxy, byy) = self.dd, other.dd
            dd = (
                axx * b + 2 * ax * bx + a * bxx,
                axy * b + ax * by + ay * bx + a * bxy,
                ayy * b + 2 * ay * by + a * byy,
            )
        return Jet(a * b, (ax * b + a * bx, ay * b + a * by), dd)

    def __rmul__(self, other) -> Jet:
        return self * other

    def __truediv__(self, other) -> Jet:
        if not isinstance(other, Jet):
            dd = None if self.dd is None else tuple(c / other for c in self.dd)
            return Jet(self.v / other, (self.d[0] / other, self.d[1] / other), dd)
        b = other.v
        q = self.v / b
        (ax, ay), (bx, by) = self.d, other.d
        qx, qy = (ax - q * bx) / b, (ay - q * by) / b
        dd = None
        if self.dd is not None:  # q·b = a, differentiated twice
            (axx, axy, ayy), (bxx, bxy, byy) = self.dd, other.dd
            dd = (
                (axx - 2 * qx * bx - q * bxx) / b,
                (axy - qx * by - qy * bx - q * bxy) / b,
                (ayy - 2 * qy * by - q * byy) / b,
            )
        return Jet(q, (qx, qy), dd)

    def __rtruediv__(self, other) -> Jet:
        return self._like(other) / self

    def __pow__(self, other) -> Jet:
        if isinstance(other, Jet):  # a variable exponent: aᵇ = exp(b·log a)
            power = _exp(other * _log(self))
            power.v = self.v**other.v  # the value exactly as the value-only evaluation has it
            return power
        c = other  # the power rule, leaving out terms whose coefficient is 0 (u⁰ at u = 0 is 1)
        g1 = c * self.v ** (c - 1) if c != 0 else 0.0
        g2 = c * (c - 1) * self.v ** (c - 2) if c * (c - 1) != 0 else 0.0
        return _chain(self, self.v**c, g1, g2)

    def __rpow__(self, other) -> Jet:
        return self._like(other) ** self


def _times(g, c):
    """g·c, where c = 0.0 (a float, not an array) is a derivative known to be zero: it stays zero even
    where g is infinite, so ∂/∂y log(x) is 0 at x = 0."""
    return 0.0 if type(c) is float and c == 0.0 else g * c


def _chain(u: Jet, g, g1, g2) -> Jet:
    """g(u) from g = g(u.v), g1 = g'(u.v), g2 = g''(u.v)."""
    ux, uy = u.d
    d = (_times(g1, ux), _times(g1, uy))
    if u.dd is None:
        return Jet(g, d)
    uxx, uxy, uyy = u.dd
    return Jet(
        g,
        d,
        (
            _times(g2, ux * ux) + _times(g1, uxx),
            _times(g2, ux * uy) + _times(g1, uxy),
            _times(g2, uy * uy) + _times(g1, uyy),
        ),
    )


def _unary(value: Callable, rule: Callable) -> Callable:
    """g as a function of numbers or Jets; rule(u, g(u)) gives (g'(u), g''(u))."""

    def apply(u):
        if not isinstance(u, Jet):
            return value(u)
        g = value(u.v)
        return _chain(u, g, *rule(u.v, g))

    return apply


_exp = _unary(np.exp, lambda u, g: (g, g))
_log = _unary(np.log, lambda u, g: (1 / u, -1 / (u * u)))


def _pair(a, b) -> tuple[Jet, Jet]:
    like = a if isinstance(a, Jet) else b
    return (a if isinstance(a, Jet) else like._like(a)), (b if isinstance(b, Jet) else like._like(b))


def _select(pick, a: Jet, b: Jet, value) -> Jet:
    """The branch a where `pick`, else b: the derivative of whichever argument is active."""
    d = tuple(np.where(pick, p, q) for p, q in zip(a.d, b.d, strict=True))
    dd = None if a.dd is None else tuple(np.where(pick, p, q) for p, q in zip(a.dd, b.dd, strict=True))
    return Jet(value, d, dd)


def _min(a, b):
    if not isinstance(a, Jet) and not isinstance(b, Jet):
        return np.minimum(a, b)
    a, b = _pair(a, b)
    return _select(a.v <= b.v, a, b, np.minimum(a.v, b.v))  # a tie takes the first argument


def _max(a, b):
    if not isinstance(a, Jet) and not isinstance(b, Jet):
        return np.maximum(a, b)
    a, b = _pair(a, b)
    return _select(a.v >= b.v, a, b, np.maximum(a.v, b.v))


def _hypot(a, b):
    """√(a² + b²) without overflow: hᵢ = (a·aᵢ + b·bᵢ)/h, hᵢⱼ = (aᵢaⱼ + a·aᵢⱼ + bᵢbⱼ + b·bᵢⱼ − hᵢhⱼ)/h."""
    if not isinstance(a, Jet) and not isinstance(b, Jet):
        return np.hypot(a, b)
    a, b = _pair(a, b)
    h = np.hypot(a.v, b.v)
    (ax, ay), (bx, by) = a.d, b.d
    hx, hy = (a.v * ax + b.v * bx) / h, (a.v * ay + b.v * by) / h
    dd = None
    if a.dd is not None:
        (axx, axy, ayy), (bxx, bxy, byy) = a.dd, b.dd
        dd = (
            (ax * ax + a.v * axx + bx * bx + b.v * bxx - hx * hx) / h,
            (ax * ay + a.v * axy + bx * by + b.v * bxy - hx * hy) / h,
            (ay * ay + a.v * ayy + by * by + b.v * byy - hy * hy) / h,
        )
    return Jet(h, (hx, hy), dd)


@dataclass(frozen=True)
class Function:
    name: str
    arity: int
    apply: Callable  # on numbers or Jets
    formula: str  # what it is and its derivative, for a help text


def _tan_rule(u, t):
    s = 1 + t * t
    return s, 2 * t * s


def _atan_rule(u, g):
    s = 1 / (1 + u * u)
    return s, -2 * u * s * s


def _asin_rule(u, g):
    r = 1 / np.sqrt(1 - u * u)
    return r, u * r**3


FUNCTIONS: dict[str, Function] = {
    f.name: f
    for f in [
        Function("sin", 1, _unary(np.sin, lambda u, g: (np.cos(u), -g)), "sin u; ′ = cos u"),
        Function("cos", 1, _unary(np.cos, lambda u, g: (-np.sin(u), -g)), "cos u; ′ = −sin u"),
        Function("tan", 1, _unary(np.tan, _tan_rule), "tan u; ′ = 1 + tan² u"),
        Function("asin", 1, _unary(np.arcsin, _asin_rule), "arcsin u; ′ = 1/√(1 − u²)"),
        Function(
            "acos",
            1,
            _unary(np.arccos, lambda u, g: tuple(-r for r in _asin_rule(u, g))),
            "arccos u; ′ = −1/√(1 − u²)",
        ),
        Function("atan", 1, _unary(np.arctan, _atan_rule), "arctan u; ′ = 1/(1 + u²)"),
        Function("sinh", 1, _unary(np.sinh, lambda u, g: (np.cosh(u), g)), "sinh u; ′ = cosh u"),
        Function("cosh", 1, _unary(np.cosh, lambda u, g: (np.sinh(u), g)), "cosh u; ′ = sinh u"),
        Function(
            "tanh",
            1,
            _unary(np.tanh, lambda u, g: (1 - g * g, -2 * g * (1 - g * g))),
            "tanh u; ′ = 1 − tanh² u",
        ),
        Function("exp", 1, _exp, "eᵘ; ′ = eᵘ"),
        Function("log", 1, _log, "ln u; ′ = 1/u"),
        Function(
            "log10",
            1,
            _unary(np.log10, lambda u, g: (1 / (u * math.log(10)), -1 / (u * u * math.log(10)))),
            "log₁₀ u; ′ = 1/(u ln 10)",
        ),
        Function("sqrt", 1, _unary(np.sqrt, lambda u, g: (0.5 / g, -0.25 / (g * u))), "√u; ′ = 1/(2√u)"),
        Function("abs", 1, _unary(np.abs, lambda u, g: (np.sign(u), 0.0)), "|u|; ′ = sign u (0 at 0)"),
        Function("hypot", 2, _hypot, "√(a² + b²) without overflow; ′ = (a·a′ + b·b′)/√(a² + b²)"),
        Function("min", 2, _min, "the smaller of a and b; ′ = that one's (a's at a tie)"),
        Function("max", 2, _max, "the larger of a and b; ′ = that one's (a's at a tie)"),
    ]
}


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


# --- a landscape from a formula -------------------------------------------------------------------------

DEFAULT_DOMAIN = ((-3.0, 3.0), (-3.0, 3.0))
DOMAIN_LIMIT = 1e4  # |bound| of a domain
MAX_MINIMA = 20  # more than this: list the global minima only, and set many_minima
CANDIDATES = 400  # grid candidates followed downhill, lowest first


def custom_domain(domain) -> tuple[tuple[float, float], tuple[float, float]]:
    """`domain` checked: finite, low < high and within ±DOMAIN_LIMIT on each axis; None: the default."""
    if domain is None:
        return DEFAULT_DOMAIN
    try:
        (x0, x1), (y0, y1) = domain
        ranges = ((float(x0), float(x1)), (float(y0), float(y1)))
    except (TypeError, ValueError):
        raise ValueError(f"domain must be ((x low, x high), (y low, y high)), got {domain!r}") from None
    for axis, (low, high) in zip("xy", ranges, strict=True):
        if not (-DOMAIN_LIMIT <= low < high <= DOMAIN_LIMIT):
            limit = f"within ±{DOMAIN_LIMIT:g}"
            raise ValueError(f"the {axis} range must be finite, low < high, {limit}; got [{low:g}, {high:g}]")
    return ranges


def _minima(expr: Expression, domain) -> tuple[tuple[Minimum, ...], bool]:
    found = search(expr.f, expr.grad, expr.hessian, domain, limit=CANDIDATES)
    if not found.minima:  # a flat minimum (x⁴ + y⁴), or f falls toward the edge: its lowest point there
        if not math.isfinite(found.lowest):
            raise ExpressionError(f"{expr.text} is not finite anywhere in the domain")
        return (Minimum(*found.lowest_at, found.lowest),), False
    best = found.minima[0][2]
    ties = 1e-9 * max(1.0, abs(best))
    minima = [Minimum(x, y, value, is_global=value <= best + ties) for x, y, value in found.minima]
    many = len(minima) > MAX_MINIMA or not found.complete
    if many:
        minima = [m for m in minima if m.is_global][:MAX_MINIMA]
    return tuple(minima), many


def _start(expr: Expression, domain, target: Minimum) -> tuple[float, float]:
    """Four fifths of the way from the global minimum toward the farthest corner where f is finite."""
    (x0, x1), (y0, y1) = domain
    corners = sorted(
        ((cx, cy) for cx in (x0, x1) for cy in (y0, y1)),
        key=lambda c: -math.hypot(c[0] - target.x, c[1] - target.y),
    )
    digits = max(0, 2 - math.floor(math.log10(max(x1 - x0, y1 - y0))))
    for cx, cy in [*corners, ((x0 + x1) / 2, (y0 + y1) / 2)]:
        x = round(target.x + 0.8 * (cx - target.x), digits)
        y = round(target.y + 0.8 * (cy - target.y), digits)
        if np.isfinite([expr.f(x, y), *expr.grad(x, y)]).all() and (x, y) != (target.x, target.y):
            return (float(x), float(y))
    raise ExpressionError(
        f"{expr.text} has no point in the domain with finite value and gradient to start at"
    )


def _round_down(value: float, low: float, high: float) -> float:
    """`value` rounded down to 1, 2 or 5 times a power of ten, within [low, high]."""
    if not math.isfinite(value) or value <= 0:
        return high
    power = math.floor(math.log10(value))
    mantissa = next(m for m in (5, 2, 1) if m * 10.0**power <= value * (1 + 1e-12))
    return min(max(float(f"{mantissa}e{power}"), low), high)


def _suggestions(expr: Expression, domain, start, target: Minimum) -> tuple[dict[str, float], int]:
    """Learning rates per optimizer family, and a number of steps.

    Gradient descent gets 1/L, L the largest curvature between the start and the minimum; the
    adaptive families take steps of about η per coordinate, so theirs follow the domain's size.
    """
    (x0, x1), (y0, y1) = domain
    diagonal = math.hypot(x1 - x0, y1 - y0)
    x, y = np.meshgrid(np.linspace(start[0], target.x, 21), np.linspace(start[1], target.y, 21))
    fxx, fxy, fyy = expr.hessian(x, y)
    sharpest = (fxx + fyy) / 2 + np.hypot((fxx - fyy) / 2, fxy)
    sharpest = sharpest[np.isfinite(sharpest)]
    curvature = float(sharpest.max()) if sharpest.size else math.nan
    lr = {
        "gd": _round_down(1 / curvature, 1e-7, 1.0) if curvature > 0 else 0.01,
        "adaptive": _round_down(diagonal / 500, 1e-7, 10.0),
        "adagrad": _round_down(diagonal / 20, 1e-7, 10.0),
        "adadelta": 1.0,
        "sign": _round_down(diagonal / 2000, 1e-7, 10.0),
    }
    # gradient descent at 1/L shrinks the distance along the flattest direction by λmin/L a step
    hxx, hxy, hyy = expr.hessian(target.x, target.y)
    flattest = (hxx + hyy) / 2 - math.hypot((hxx - hyy) / 2, hxy)
    steps = 5000
    if flattest > 0 and curvature > 0:
        steps = int(min(max(500 * math.ceil(7 * curvature / flattest / 500), 500), 5000))
    return lr, steps


def custom_landscape(text: str, domain=None) -> Landscape:
    """The landscape of a typed formula f(x, y), on `domain` (default: ((-3, 3), (-3, 3))).

    Its minima are found numerically (`core.landscape.minima.search`): every local minimum strictly
    inside the domain with a positive definite Hessian, the lowest marked global. Past MAX_MINIMA,
    only the global ones are listed and `many_minima` is set. Where none is found (a flat minimum such
    as x⁴ + y⁴, or f falling toward the edge), the lowest point of the search grid stands in.
    """
    expr = parse(text)
    ranges = custom_domain(domain)
    if not expr.variables:
        raise ExpressionError(f"{expr.text} depends on neither x nor y")
    minima, many = _minima(expr, ranges)
    start = _start(expr, ranges, minima[0])
    lr, steps = _suggestions(expr, ranges, start, minima[0])
    return Landscape(
        "custom",
        "Custom",
        expr.text,
        expr.f,
        expr.grad,
        ranges,
        minima,
        start,
        lr,
        steps,
        reference="typed in; derivatives exact (forward mode), minima found numerically",
        many_minima=many,
        exact_hessian=expr.hessian,
    )
