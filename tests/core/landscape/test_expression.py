import ast
import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.landscape import expression
from core.landscape.expression import ExpressionError, parse
from core.landscape.jet import FUNCTIONS

# --- refusals ---------------------------------------------------------------------------------------

# (text, 1-based position, token the message names)
REFUSED = [
    ("2*x.real", 4, "'.real'"),
    ("(x) . real", 5, "'.real'"),
    ("x.__class__", 2, "'.__class__'"),
    ("x.real()", 2, "'.real'"),
    ("x[0]", 2, "'[0]'"),
    ("x [1:2]", 3, "'[1:2]'"),
    ("x + 2*foo(y)", 7, "'foo'"),
    ("__import__(x)", 1, "'__import__'"),
    ("__import__('os')", 12, "\"'os'\""),
    ("__builtins__", 1, "'__builtins__'"),
    ("sin(x)(y)", 1, "'sin(x)'"),
    ("x (1)", 1, "'x'"),
    ("z + x", 1, "'z'"),
    ("sin + x", 1, "'sin'"),
    ("lambda: x", 1, "'lambda'"),
    ("[x for x in y]", 1, "'[x for x in y]'"),
    ("sin(x for x in y)", 4, "'(x for x in y)'"),
    ("{x: y for x in y}", 1, "'{x: y for x in y}'"),
    ("'os'", 1, "\"'os'\""),
    ('x + "a"', 5, "'\"a\"'"),
    ('x + "\\d"', 5, "'\"\\\\d\"'"),  # an escape the parser would warn about: refused before parsing
    ("b'x'", 1, "\"b'x'\""),
    ("x*rb'x'", 3, "\"rb'x'\""),
    ("f'{x}'", 1, "\"f'{x}'\""),
    ("1e999", 1, "'1e999'"),
    ("x*1e999", 3, "'1e999'"),
    ("9" * 400, 1, "'99999"),
    ("True", 1, "'True'"),
    ("None", 1, "'None'"),
    ("...", 1, "'...'"),
    ("x + 1j", 5, "'1j'"),
    ("x < y", 3, "'<'"),
    ("x is not y", 3, "'is not'"),
    ("x and y", 3, "'and'"),
    ("(x) or y", 5, "'or'"),
    ("not x", 1, "'not'"),
    ("x if y else 1", 3, "'if'"),
    ("(z := x)", 4, "':='"),
    ("max(*[x, y])", 5, "'*[x, y]'"),
    ("max(x, y=1)", 8, "'y='"),
    ("max(x, **y)", 8, "'**'"),
    ("sin(x, y)", 1, "'sin'"),
    ("max(x)", 1, "'max'"),
    ("x // y", 3, "'//'"),
    ("x % y", 3, "'%'"),
    ("x ^ 2", 3, "'^'"),
    ("x @ y", 3, "'@'"),
    ("~x", 1, "'~'"),
    ("(x, y)", 1, "'(x, y)'"),
    ("[x]", 1, "'[x]'"),
    ("{x}", 1, "'{x}'"),
    ("2x", 1, "'2x'"),
    ("x y", 3, "'y'"),
    ("x +", 4, "the end"),
    ("(x", 1, "'(x'"),
    ("x\0", 2, "'\\x00'"),
    ("x\ud800", 2, "'\\ud800'"),
    ("é + (x", 5, "'(x'"),  # positions count characters, not bytes
    ("ëë + foo(x)", 1, "'ëë'"),
    ("x + ëë", 5, "'ëë'"),
    ("sin(" * 51 + "x" + ")" * 51, 201, "'sin(x)'"),
    ("-" * 60 + "x", 51, "'-"),
    ("-[x for x in " * 25 + "y" + "]" * 25, 13 * 16 + 2, "'[x for x in"),  # at the 17th [, 50 deep
    ("x.ﬁ", 2, "'.fi'"),  # the name as Python reads it (NFKC), at the dot as typed
    ("1.5.real", 4, "'.real'"),
    ("(" * 201 + "x" + ")" * 201, 201, "too many nested parentheses"),
]


@pytest.mark.parametrize(("text", "position", "token"), REFUSED, ids=[repr(t[0])[:30] for t in REFUSED])
def test_refusals_name_the_token_and_its_position(text, position, token):
    with pytest.raises(ExpressionError) as caught:
        parse(text)
    message = str(caught.value)
    assert message.startswith(f"position {position}: "), message
    assert token in message, message


def test_refusals_say_what_is_allowed():
    def message(text):
        with pytest.raises(ExpressionError) as caught:
            parse(text)
        return str(caught.value)

    assert (
        message("foo(x)")
        == f"position 1: 'foo' is not a known function (known: {', '.join(sorted(FUNCTIONS))})"
    )
    assert message("t") == "position 1: 't' is not a known name (known: x, y, pi, e)"
    assert message("x % 2").endswith("(operators: + - * / **)")
    assert message("x ^ 2").endswith("write ** for a power")
    for text in ("x.real", "x[0]", "'os'", "lambda: x", "[x for x in y]"):
        assert message(text).endswith(expression.ALLOWED + ")")


def test_length_is_measured_before_parsing():
    with pytest.raises(ExpressionError, match=r"^expression is 612 characters long; at most 500$"):
        parse("x" + " " * 611)
    with pytest.raises(ExpressionError, match="at most 500"):
        parse("+".join(["x"] * 10_000))
    with pytest.raises(ExpressionError, match="at most 500"):
        parse("(" * 1000 + "x" + ")" * 1000)
    assert parse("x" + " " * 499).text == "x"
    with pytest.raises(ExpressionError, match="empty"):
        parse("  \n ")
    with pytest.raises(ExpressionError, match="must be text"):
        parse(b"x")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "(" * 1000 + "x" + ")" * 1000,
        "sin(" * 1000 + "x" + ")" * 1000,
        "-" * 1000 + "x",
        "x**" * 1000 + "x",
        "+".join(["x"] * 10_000),
        "*".join(["(x+1)"] * 10_000),
    ],
    ids=["parentheses", "calls", "minus", "powers", "terms", "factors"],
)
def test_deep_and_long_expressions_are_refused_cleanly_past_the_length_bound(monkeypatch, text):
    """The bounds on nesting and size hold on their own, were the length bound raised."""
    monkeypatch.setattr(expression, "MAX_LENGTH", 10**6)
    with pytest.raises(ExpressionError, match=r"nested|parts|parentheses"):
        parse(text)


def test_the_bounds_on_depth_and_size():
    value = 0.5
    for _ in range(49):
        value = math.sin(value)
    assert parse("sin(" * 49 + "x" + ")" * 49).f(0.5, 0.0) == pytest.approx(value, rel=1e-15)  # 50 levels
    with pytest.raises(ExpressionError, match="nested deeper than 50 levels"):
        parse("sin(" * 50 + "x" + ")" * 50)
    # a long sum or product is one level, however many terms: 250 terms fit in 500 characters
    assert parse("+".join(["x"] * 250)).f(2.0, 0.0) == 500.0
    assert parse("/".join(["x"] * 250)).f(2.0, 0.0) == 2.0**-248
    with pytest.raises(ExpressionError, match="nested deeper"):
        parse("x-(" * 60 + "x" + ")" * 60)  # parentheses nest, and count


def test_node_count_bound(monkeypatch):
    monkeypatch.setattr(expression, "MAX_NODES", 9)
    assert parse("x+x+x+x+x").text == "x + x + x + x + x"  # 5 names, 4 operators
    with pytest.raises(ExpressionError, match=r"^expression has 11 parts .*; at most 9$"):
        parse("x+x+x+x+x+x")


# --- fuzz -------------------------------------------------------------------------------------------

TOKENS = [
    "x", "y", "pi", "e", "0", "1", "2.5", ".5", "1e3", "1e999", "1_0", "0x1f", "1j", "True",
    "+", "-", "*", "/", "**", "//", "%", "^", "@", "~", "(", ")", "[", "]", "{", "}", ",", ".", ":", ":=",
    "=", "<", "==", "and", "not", "if", "else", "for", "in", "lambda", "'", '"', "b'", "f'", "\\", "#",
    " ", "\n", "\t", "\0", "_", "__import__", "__class__", "real", "foo", "é", "ｘ", *FUNCTIONS, "arctan",
]  # fmt: skip


def _accepted(text):
    """parse(text) returns an Expression or raises ExpressionError, nothing else; an Expression
    evaluates, and its text reads back as itself."""
    try:
        expr = parse(text)
    except ExpressionError:
        return
    assert parse(expr.text).text == expr.text
    assert len(expr.text) <= expression.MAX_LENGTH
    x, y = np.linspace(-2, 2, 5), np.linspace(-1, 3, 5)
    assert np.shape(expr.f(x, y)) == (5,)
    assert all(np.shape(d) == (5,) for d in (*expr.grad(x, y), *expr.hessian(x, y)))
    assert np.array_equal(expr.f(x, y), expr._jet(x, y, second=True)[0].v * np.ones(5), equal_nan=True)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=40), st.sampled_from(["", " "]))
def test_random_token_strings_parse_or_are_refused(tokens, gap):
    _accepted(gap.join(tokens))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=120), st.sampled_from(["utf-8", "latin-1"]))
def test_random_bytes_parse_or_are_refused(data, encoding):
    _accepted(data.decode(encoding, errors="surrogateescape"))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_random_text_parses_or_is_refused(text):
    _accepted(text)


UNARY = [name for name, f in FUNCTIONS.items() if f.arity == 1]
BINARY = [name for name, f in FUNCTIONS.items() if f.arity == 2]
FORMULAS = st.recursive(
    st.sampled_from(["x", "y", "pi", "e", "0", "1", "3", "2.5", "1e-3", ".5"]),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "**"]), inner).map("".join),
        inner.map(lambda a: f"({a})"),
        inner.map(lambda a: f"-{a}"),
        st.tuples(st.sampled_from(UNARY), inner).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(st.sampled_from(BINARY), inner, inner).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(FORMULAS)
def test_normalized_text_reads_back_as_the_same_function(text):
    expr = parse(text)
    again = parse(expr.text)
    assert again.text == expr.text
    assert ast.dump(ast.parse(expr.text, mode="eval")) == ast.dump(ast.parse(text, mode="eval"))  # same tree
    x, y = np.linspace(-2, 2, 7), np.linspace(3, -1, 7)
    np.testing.assert_array_equal(again.f(x, y), expr.f(x, y))
    for ours, theirs in zip(again.hessian(x, y), expr.hessian(x, y), strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_normalized_text():
    cases = {
        "(1-x)**2+100*(y-x**2)**2": "(1 - x)**2 + 100*(y - x**2)**2",
        "x**2 + 3*y**2 + sin(3*x)": "x**2 + 3*y**2 + sin(3*x)",
        "((x))": "x",
        "+x": "x",
        "-x**2": "-x**2",
        "(-x)**2": "(-x)**2",
        "x**(-y)": "x**-y",
        "(x**y)**2": "(x**y)**2",
        "x**(y**2)": "x**y**2",
        "x - (y - 1)": "x - (y - 1)",
        "(x - y) - 1": "x - y - 1",
        "x/(y*2)": "x/(y*2)",
        "arctan(x)  # a comment": "atan(x)",
        "max( x ,\n 1_000.5 )": "max(x, 1000.5)",
    }
    for text, normal in cases.items():
        assert parse(text).text == normal
    # too long with spaces: the compact form, which is never longer than what was typed
    long = "+".join(["x"] * 250)
    assert parse(long).text == long


def test_unicode_names_are_read_as_python_reads_them():
    assert parse("ｘ + 1").text == "x + 1"  # NFKC: the fullwidth x is x


# --- derivatives ------------------------------------------------------------------------------------

# Each uses every function; the numpy reference is the same formula written out.
EVERY_FUNCTION = [
    (
        "sin(x*y) + cos(x - y)**2 + tan(0.3*x) + asin(0.5*tanh(y)) + acos(0.4*sin(x)) + atan(x*y + 1)"
        " + sinh(0.5*x)*cosh(0.3*y) + exp(-x**2)*log(2 + x*y) + log10(3 + y**2) + sqrt(1 + x**2 + y**4)"
        " + abs(x - 0.5*y)**3 + hypot(x, 1 + y) + min(x**2, y + 0.5) + max(x*y, sin(y))",
        lambda x, y: (
            np.sin(x * y) + np.cos(x - y) ** 2 + np.tan(0.3 * x) + np.arcsin(0.5 * np.tanh(y))
            + np.arccos(0.4 * np.sin(x)) + np.arctan(x * y + 1) + np.sinh(0.5 * x) * np.cosh(0.3 * y)
            + np.exp(-(x**2)) * np.log(2 + x * y) + np.log10(3 + y**2) + np.sqrt(1 + x**2 + y**4)
            + np.abs(x - 0.5 * y) ** 3 + np.hypot(x, 1 + y) + np.minimum(x**2, y + 0.5)
            + np.maximum(x * y, np.sin(y))
        ),
    ),
    (
        "log(2 + sin(x)*cos(y))/sqrt(2 + tanh(x*y)) - exp(sinh(y/2) - cosh(x/3))*atan(x/y**2)"
        " + tan(asin(x/3) - acos(y/4))*abs(x*y) + log10(hypot(x, y) + 1)**2"
        " - max(x, y)*min(x - y, 0.1) + (2 + cos(x))**(1 + y**2) + x**3*y - 2**x",
        lambda x, y: (
            np.log(2 + np.sin(x) * np.cos(y)) / np.sqrt(2 + np.tanh(x * y))
            - np.exp(np.sinh(y / 2) - np.cosh(x / 3)) * np.arctan(x / y**2)
            + np.tan(np.arcsin(x / 3) - np.arccos(y / 4)) * np.abs(x * y)
            + np.log10(np.hypot(x, y) + 1) ** 2 - np.maximum(x, y) * np.minimum(x - y, 0.1)
            + (2 + np.cos(x)) ** (1 + y**2) + x**3 * y - 2**x
        ),
    ),
    (
        "max(sqrt(abs(x) + 1), exp(y)/3)**2.5 / (1 + atan(x)**2) - min(sin(x)**2, cos(y))**3"
        " + hypot(tanh(x), 2*sinh(y))*log(cosh(x) + 1) + asin(sin(y)/2)*acos(tan(x/4))"
        " + log10(1 + exp(x - y)) + x**(1/3 + y**2 + 1)*y**-2",
        lambda x, y: (
            np.maximum(np.sqrt(np.abs(x) + 1), np.exp(y) / 3) ** 2.5 / (1 + np.arctan(x) ** 2)
            - np.minimum(np.sin(x) ** 2, np.cos(y)) ** 3
            + np.hypot(np.tanh(x), 2 * np.sinh(y)) * np.log(np.cosh(x) + 1)
            + np.arcsin(np.sin(y) / 2) * np.arccos(np.tan(x / 4))
            + np.log10(1 + np.exp(x - y)) + x ** (1 / 3 + y**2 + 1) * y**-2.0
        ),
    ),
]  # fmt: skip


def _points(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0.2, 1.5, n), rng.uniform(0.2, 1.5, n)


def test_every_function_is_used_in_the_derivative_cases():
    for text, _ in EVERY_FUNCTION:
        called = set(re.findall(r"([a-z0-9]+)\(", text))
        assert set(FUNCTIONS) <= called, set(FUNCTIONS) - called


@pytest.mark.parametrize(("text", "reference"), EVERY_FUNCTION, ids=["sum", "mixed", "powers"])
def test_value_gradient_and_hessian_against_central_differences(text, reference):
    expr = parse(text)
    x, y = _points()
    value = expr.f(x, y)
    np.testing.assert_allclose(value, reference(x, y), rtol=1e-13)
    assert np.isfinite(value).all()

    h = 1e-6
    gx, gy = expr.grad(x, y)
    np.testing.assert_allclose(
        gx, (reference(x + h, y) - reference(x - h, y)) / (2 * h), rtol=1e-6, atol=1e-7
    )
    np.testing.assert_allclose(
        gy, (reference(x, y + h) - reference(x, y - h)) / (2 * h), rtol=1e-6, atol=1e-7
    )

    fxx, fxy, fyy = expr.hessian(x, y)
    (gx_xp, gy_xp), (gx_xm, gy_xm) = expr.grad(x + h, y), expr.grad(x - h, y)
    (gx_yp, gy_yp), (gx_ym, gy_ym) = expr.grad(x, y + h), expr.grad(x, y - h)
    np.testing.assert_allclose(fxx, (gx_xp - gx_xm) / (2 * h), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(fyy, (gy_yp - gy_ym) / (2 * h), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(fxy, (gy_xp - gy_xm) / (2 * h), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(fxy, (gx_yp - gx_ym) / (2 * h), rtol=1e-6, atol=1e-6)
    # value and gradient are the same numbers however they are asked for
    assert np.array_equal(expr._jet(x, y, second=True)[0].v, value)
    assert np.array_equal(expr._jet(x, y, second=False)[0].d[0], gx)


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_each_function_against_central_differences(name):
    u, v = "(0.3*x + 0.2*y)", "(0.5 + 0.1*x - 0.4*y)"  # in (0, 1) on the points: every function's domain
    expr = parse(f"{name}({u})" if FUNCTIONS[name].arity == 1 else f"{name}({u}, {v})")
    assert FUNCTIONS[name].formula
    x, y = _points()
    keep = np.abs(0.2 * x + 0.6 * y - 0.5) > 1e-3  # away from where min and max switch arguments
    x, y, h = x[keep], y[keep], 1e-6
    gx, gy = expr.grad(x, y)
    np.testing.assert_allclose(gx, (expr.f(x + h, y) - expr.f(x - h, y)) / (2 * h), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(gy, (expr.f(x, y + h) - expr.f(x, y - h)) / (2 * h), rtol=1e-6, atol=1e-9)
    fxx, fxy, fyy = expr.hessian(x, y)
    np.testing.assert_allclose(
        fxx, (expr.grad(x + h, y)[0] - expr.grad(x - h, y)[0]) / (2 * h), rtol=1e-6, atol=1e-9
    )
    np.testing.assert_allclose(
        fxy, (expr.grad(x + h, y)[1] - expr.grad(x - h, y)[1]) / (2 * h), rtol=1e-6, atol=1e-9
    )
    np.testing.assert_allclose(
        fyy, (expr.grad(x, y + h)[1] - expr.grad(x, y - h)[1]) / (2 * h), rtol=1e-6, atol=1e-9
    )


def test_hand_derived_derivatives():
    expr = parse("x**3*y - 2*x*y**2")
    fxx, fxy, fyy = expr.hessian(2.0, 3.0)
    assert expr.grad(2.0, 3.0) == (3 * 4 * 3 - 2 * 9, 8 - 4 * 2 * 3)
    assert (fxx, fxy, fyy) == (6 * 2 * 3, 3 * 4 - 4 * 3, -4 * 2)
    # a variable exponent: d/dx x^y = y·x^(y−1), d/dy = x^y·ln x, d²/dxdy = x^(y−1)(1 + y ln x)
    gx, gy = parse("x**y").grad(2.0, 3.0)
    assert (gx, gy) == pytest.approx((12.0, 8 * math.log(2)), rel=1e-15)
    assert parse("x**y").hessian(2.0, 3.0)[1] == pytest.approx(4 * (1 + 3 * math.log(2)), rel=1e-15)


def test_kinks_take_the_active_branch():
    assert parse("abs(x)").grad(0.0, 0.0) == (0.0, 0.0)
    assert parse("abs(x)").grad(-2.0, 0.0)[0] == -1.0
    assert parse("min(x, y)").grad(1.0, 1.0) == (1.0, 0.0)  # a tie: the first argument
    assert parse("max(y, x)").grad(1.0, 1.0) == (0.0, 1.0)
    assert parse("min(x, 2*y)").grad(3.0, 1.0) == (0.0, 2.0)
    assert parse("max(x**2, 1)").hessian(0.5, 0.0) == (0.0, 0.0, 0.0)
    assert parse("max(x**2, 1)").hessian(1.5, 0.0) == (2.0, 0.0, 0.0)


def test_powers_at_zero_have_the_derivatives_they_should():
    assert parse("x**1").hessian(0.0, 0.0) == (0.0, 0.0, 0.0)
    assert parse("x**0").grad(0.0, 0.0) == (0.0, 0.0)
    assert parse("x**2").hessian(0.0, 0.0) == (2.0, 0.0, 0.0)
    assert parse("x**3").hessian(0.0, 0.0) == (0.0, 0.0, 0.0)


def test_shapes_scalars_and_broadcasting():
    expr = parse("x**2 + 3*y**2 + sin(3*x)")
    value = expr.f(0.5, 0.25)
    assert isinstance(value, np.float64)
    assert all(isinstance(g, np.float64) for g in (*expr.grad(0.5, 0.25), *expr.hessian(0.5, 0.25)))
    x, y = np.linspace(-1, 1, 3)[:, None], np.linspace(-2, 2, 4)[None, :]
    z = expr.f(x, y)
    assert z.shape == (3, 4) and z.dtype == np.float64
    assert z[1, 2] == expr.f(x[1, 0], y[0, 2])
    assert all(c.shape == (3, 4) for c in (*expr.grad(x, y), *expr.hessian(x, y)))
    assert parse("2").f(x, y).shape == (3, 4)
    assert parse("2").grad(np.zeros(5), 1.0)[0].tolist() == [0.0] * 5
    assert parse("x").hessian(np.zeros(2), np.zeros(2))[2].shape == (2,)
    assert parse("3").variables == frozenset() and parse("y*pi").variables == {"y"}
    # never the caller's own array
    x = np.arange(3.0)
    out = parse("x").f(x, 0.0)
    out[0] = 9.0
    assert x[0] == 0.0


def test_non_finite_results_come_out_as_numpy_gives_them():
    expr = parse("log(x) + exp(y)")
    with np.errstate(all="raise"):  # evaluation silences numpy whatever the caller's setting
        value = expr.f(np.array([-1.0, 0.0, 1.0]), np.array([0.0, 0.0, 1000.0]))
        gx, gy = expr.grad(np.array([-1.0, 0.0]), 0.0)
    assert np.isnan(value[0]) and value[1] == -np.inf and value[2] == np.inf
    assert gx[1] == np.inf and np.isfinite(gy).all()
    assert np.isnan(parse("x**0.5").f(-1.0, 0.0)) and parse("1/x").f(0.0, 0.0) == np.inf
    assert parse("(-8)**(1/3)").f(0.0, 0.0) != parse("(-8)**(1/3)").f(0.0, 0.0)  # NaN, not complex
