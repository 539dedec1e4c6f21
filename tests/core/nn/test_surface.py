"""A network's loss surface: directions, projection, interpolation, and the grid against direct evaluation."""

import json

import numpy as np
import pytest

from core.nn import surface as surface_module
from core.nn.network import Network, NetworkSpec
from core.nn.surface import (
    DIRECTIONS,
    filter_normalized_directions,
    interpolation,
    loss_at,
    loss_grid,
    pca_directions,
    project,
    surface,
)

SPECS = {
    "relu-softmax": NetworkSpec(6, 3, hidden=((5, "relu"),)),
    "tanh-layernorm-mse": NetworkSpec(
        6, 2, hidden=((5, "tanh"), (4, "sigmoid")), output="linear", loss="mse", norm="layer"
    ),
    "batchnorm-leaky": NetworkSpec(6, 3, hidden=((7, "leaky_relu"),), norm="batch", init="xavier"),
    "sigmoid-output-mse": NetworkSpec(6, 3, hidden=((5, "tanh"),), output="sigmoid", loss="mse"),
    "no-hidden-layer": NetworkSpec(6, 3, hidden=()),
}


def data(spec, seed=0, n=40):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, spec.inputs))
    x[:, 0] = 0.0  # a column that is zero in every row, as MNIST's border pixels are
    if spec.loss == "cross_entropy":
        return x, rng.integers(0, spec.outputs, n)
    return x, rng.normal(size=(n, spec.outputs))


def direct(spec, x, y, point, dtype=np.float64):
    """The loss at `point` by the network's own training pass, on a fresh network with dropout off."""
    twin = Network(NetworkSpec(**{**spec.__dict__, "dropout": 0.0}), seed=9, dtype=dtype)
    twin.params[:] = point
    return twin.loss_and_grad(x, y)


def gaussian_plane(net, seed=0):
    """Directions that move every parameter (biases, γ and β too), at the weights' scale."""
    rng = np.random.default_rng(seed)
    return [0.3 * rng.standard_normal(net.params.size) for _ in range(2)]


# --- PCA -----------------------------------------------------------------------------------------------


def trajectories(seed=0, p=30):
    """Two racers' snapshots spread mostly along two directions, plus a little noise."""
    rng = np.random.default_rng(seed)
    centre = rng.normal(size=p)
    main = rng.normal(size=(2, p)) * np.array([[3.0], [1.0]])
    paths = []
    for k in (5, 7):
        t = np.linspace(1, 0, k)[:, None]
        coefficients = np.column_stack([t[:, 0] * rng.normal(), np.sin(3 * t[:, 0]) * rng.normal()])
        paths.append(centre + coefficients @ main + 0.01 * rng.normal(size=(k, p)))
    return paths, centre


def test_pca_directions_are_numpys_top_two_singular_vectors():
    paths, centre = trajectories()
    d1, d2, ratios = pca_directions(paths, centre)
    deviation = np.concatenate(paths) - centre
    _, s, vt = np.linalg.svd(deviation, full_matrices=False)
    assert abs(d1 @ vt[0]) == pytest.approx(1.0, abs=1e-12)
    assert abs(d2 @ vt[1]) == pytest.approx(1.0, abs=1e-12)
    assert ratios == pytest.approx(s[:2] ** 2 / np.sum(s**2), rel=1e-12)
    assert sum(ratios) <= 1.0
    # the ratio is the fraction of the total squared deviation along each direction
    total = np.sum(deviation**2)
    assert ratios == pytest.approx([np.sum((deviation @ d) ** 2) / total for d in (d1, d2)], rel=1e-10)
    # signs: the first snapshot sits at coordinates <= 0
    assert deviation[0] @ d1 <= 0 and deviation[0] @ d2 <= 0


def test_pca_in_float32_snapshots_agrees_with_float64():
    paths, centre = trajectories(1)
    d1, d2, ratios = pca_directions([p.astype(np.float32) for p in paths], centre.astype(np.float32))
    e1, e2, exact = pca_directions(paths, centre)
    assert d1 @ e1 == pytest.approx(1.0, abs=1e-5) and d2 @ e2 == pytest.approx(1.0, abs=1e-4)
    assert ratios == pytest.approx(exact, rel=1e-4)


@pytest.mark.parametrize(
    "case",
    ["one snapshot", "all at the centre", "all identical", "on one line", "none"],
)
def test_pca_refuses_snapshots_that_do_not_spread_in_two_directions(case):
    rng = np.random.default_rng(0)
    centre, step = rng.normal(size=10), rng.normal(size=10)
    paths = {
        "one snapshot": [centre[None] + step],
        "all at the centre": [np.tile(centre, (4, 1))],
        "all identical": [np.tile(centre + step, (3, 1)), np.tile(centre + step, (2, 1))],
        "on one line": [centre + np.outer([3.0, 2.0, 1.0], step), centre + np.outer([-1.0, 0.5], step)],
        "none": [],
    }[case]
    with pytest.raises(ValueError, match="two directions"):
        pca_directions(paths, centre)


def test_pca_leaves_out_snapshots_that_are_not_finite():
    paths, centre = trajectories()
    diverged = np.full((2, centre.size), np.nan)
    with_nan = pca_directions([*paths, diverged], centre)
    without = pca_directions(paths, centre)
    for got, expected in zip(with_nan, without, strict=True):
        np.testing.assert_allclose(got, expected, atol=1e-12)


def test_pca_refuses_snapshots_of_another_size():
    paths, centre = trajectories()
    with pytest.raises(ValueError, match="snapshots, 30"):
        pca_directions([paths[0][:, :-1]], centre)


# --- filter-normalized random directions ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["relu-softmax", "tanh-layernorm-mse", "batchnorm-leaky"])
def test_each_filter_has_the_norm_of_the_centres_filter(name):
    net = Network(SPECS[name], seed=1, dtype=np.float64)
    net.dense[0].params["W"][:, 1] = 0.0  # a dead filter: its random filter is 0 too
    centre = net.params.copy()
    for d in filter_normalized_directions(net, centre, seed=3):
        probe = Network(SPECS[name], seed=1, dtype=np.float64)
        probe.params[:] = d
        for mine, theirs in zip(probe.layers, net.layers, strict=True):
            for key, value in mine.params.items():
                if key == "W":
                    np.testing.assert_allclose(
                        np.linalg.norm(value, axis=0), np.linalg.norm(theirs.params[key], axis=0), rtol=1e-12
                    )
                else:  # biases, γ and β
                    assert not value.any(), (mine.name, key)
    np.testing.assert_array_equal(net.params, centre)


def test_filter_normalized_directions_are_fixed_by_the_seed():
    net = Network(SPECS["relu-softmax"], seed=0)
    centre = net.params.astype(np.float64)
    first, again = filter_normalized_directions(net, centre, 5), filter_normalized_directions(net, centre, 5)
    other = filter_normalized_directions(net, centre, 6)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(first[0], other[0])
    assert not np.allclose(first[0], first[1])


# --- projection ----------------------------------------------------------------------------------------


def test_projection_recovers_the_coordinates_of_points_in_and_off_the_plane():
    rng = np.random.default_rng(0)
    centre, d1 = rng.normal(size=50), rng.normal(size=50)
    d2 = 0.6 * d1 + rng.normal(size=50)  # far from orthogonal
    coords = rng.normal(size=(8, 2)) * 3
    residual = rng.normal(size=(8, 50))
    basis = np.column_stack([d1, d2])
    residual -= residual @ basis @ np.linalg.solve(basis.T @ basis, basis.T)  # off the plane
    points = centre + coords @ np.stack([d1, d2]) + residual
    np.testing.assert_allclose(project(points, centre, d1, d2), coords, atol=1e-10)
    np.testing.assert_allclose(project(points[3], centre, d1, d2), coords[3], atol=1e-10)
    np.testing.assert_allclose(project(points.astype(np.float32), centre, d1, d2), coords, atol=1e-4)


def test_projection_needs_two_independent_directions():
    d = np.arange(1.0, 6.0)
    with pytest.raises(ValueError, match="independent"):
        project(np.ones((2, 5)), np.zeros(5), d, -2 * d)
    with pytest.raises(ValueError, match="independent"):
        project(np.ones((2, 5)), np.zeros(5), d, np.zeros(5))


# --- the grid ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SPECS))
def test_the_fast_grid_equals_evaluating_every_point(name):
    spec = SPECS[name]
    net = Network(spec, seed=2, dtype=np.float64)
    x, y = data(spec, 2)
    d1, d2 = gaussian_plane(net, 2)
    a, b = np.linspace(-1.0, 1.5, 5), np.linspace(-0.5, 1.0, 4)
    fast = loss_grid(net, x, y, net.params, d1, d2, a, b)
    general = loss_grid(net, x, y, net.params, d1, d2, a, b, fast=False)
    assert fast.shape == (4, 5)
    np.testing.assert_allclose(fast, general, rtol=1e-12, atol=1e-13)
    assert len(np.unique(fast)) == fast.size  # the points differ: nothing was evaluated at one place only


def test_the_grid_in_float32_agrees_with_float64():
    spec = SPECS["relu-softmax"]
    net = Network(spec, seed=2)
    x, y = data(spec, 2)
    d1, d2 = filter_normalized_directions(net, net.params, 0)
    a = np.linspace(-1, 1, 5)
    single = loss_grid(net, x, y, net.params, d1, d2, a, a)
    double = loss_grid(net, x, y, net.params, d1, d2, a, a, dtype=np.float64)
    np.testing.assert_allclose(single, double, rtol=1e-5)


@pytest.mark.parametrize("name", ["relu-softmax", "tanh-layernorm-mse", "batchnorm-leaky"])
def test_grid_points_are_the_loss_at_those_weights(name):
    spec = SPECS[name]
    net = Network(spec, seed=4, dtype=np.float64)
    x, y = data(spec, 4)
    centre = net.params.copy()
    d1, d2 = gaussian_plane(net, 4)
    a, b = np.array([-1.0, 0.0, 0.7]), np.array([0.0, 0.25, -2.0, 1.0])
    grid = loss_grid(net, x, y, centre, d1, d2, a, b)
    assert grid[0, 1] == pytest.approx(direct(spec, x, y, centre), rel=1e-12)
    assert grid[0, 1] == pytest.approx(loss_at(net, x, y, centre), rel=1e-12)
    for j, i in [(0, 0), (1, 2), (2, 0), (3, 2)]:
        expected = direct(spec, x, y, centre + a[i] * d1 + b[j] * d2)
        assert grid[j, i] == pytest.approx(expected, rel=1e-12), (j, i)
    np.testing.assert_array_equal(net.params, centre)


def test_the_grid_is_evaluated_without_dropout_and_leaves_the_network_alone():
    spec = NetworkSpec(6, 3, hidden=((8, "relu"),), dropout=0.5)
    net = Network(spec, seed=0, dtype=np.float64)
    x, y = data(spec)
    before = net.snapshot()
    d1, d2 = gaussian_plane(net)
    grid = loss_grid(net, x, y, net.params, d1, d2, [0.0, 0.5], [0.0])
    plain = Network(NetworkSpec(6, 3, hidden=((8, "relu"),)), dtype=np.float64)
    plain.params[:] = net.params
    assert grid[0, 0] == pytest.approx(plain.evaluate(x, y)["loss"], rel=1e-12)
    for key, value in before.items():
        np.testing.assert_array_equal(net.snapshot()[key], value)
    assert net.layers[1].kind == "dropout"
    assert net.layers[1].rng.random() == Network(spec, seed=0).layers[1].rng.random()  # no mask drawn


def test_chunks_and_cache_blocks_give_the_same_grid(monkeypatch):
    spec = SPECS["tanh-layernorm-mse"]
    net = Network(spec, seed=5, dtype=np.float64)
    x, y = data(spec, 5, n=37)
    d1, d2 = gaussian_plane(net, 5)
    a, b = np.linspace(-1, 1, 3), np.linspace(-1, 1, 3)
    whole = loss_grid(net, x, y, net.params, d1, d2, a, b)
    monkeypatch.setattr(surface_module, "CHUNK_BYTES", 8 * 8 * 5 * 11)  # a few examples per chunk
    monkeypatch.setattr(surface_module, "BLOCK_BYTES", 8 * 8 * 5 * 3)
    calls = []
    chunked = loss_grid(net, x, y, net.params, d1, d2, a, b, progress=lambda *c: calls.append(c))
    np.testing.assert_allclose(chunked, whole, rtol=1e-12)
    total = calls[-1][1]
    assert total > len(b) and calls == [(k, total) for k in range(1, total + 1)]


def test_progress_is_reported_row_by_row():
    spec = SPECS["relu-softmax"]
    net = Network(spec, seed=0)
    x, y = data(spec)
    calls = []
    d1, d2 = gaussian_plane(net)
    loss_grid(net, x, y, net.params, d1, d2, [0.0, 1.0], [0.0, 1.0, 2.0], lambda *c: calls.append(c))
    assert calls == [(1, 3), (2, 3), (3, 3)]


# --- interpolation -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["relu-softmax", "batchnorm-leaky"])
def test_interpolation_runs_from_the_start_to_each_end(name):
    spec = SPECS[name]
    net = Network(spec, seed=6)  # float32: the line is still evaluated in float64
    x, y = data(spec, 6)
    start = net.params.astype(np.float64)
    rng = np.random.default_rng(6)
    ends = [start + 0.3 * rng.standard_normal(start.size) for _ in range(3)]
    alphas = np.array([0.0, 0.25, 1.0, 1.5])
    lines = interpolation(net, x, y, start, ends, alphas)
    assert lines.shape == (3, 4)
    for k, end in enumerate(ends):
        assert lines[k, 0] == pytest.approx(direct(spec, x, y, start), rel=1e-12)
        assert lines[k, 2] == pytest.approx(direct(spec, x, y, end), rel=1e-12)
        assert lines[k, 3] == pytest.approx(direct(spec, x, y, start + 1.5 * (end - start)), rel=1e-12)


# --- one call: surface() -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(DIRECTIONS))
def test_surface_covers_every_path_and_centres_the_grid(kind):
    spec = SPECS["relu-softmax"]
    net = Network(spec, seed=7, dtype=np.float64)
    x, y = data(spec, 7)
    paths, _ = trajectories(7, p=net.params.size)
    paths = [net.params + 0.1 * (p - p[-1]) for p in paths]  # end at the network's weights
    calls = []
    result = surface(net, x, y, paths, kind=kind, resolution=7, progress=lambda *c: calls.append(c))
    json.dumps(result, allow_nan=False)
    assert result["kind"] == kind
    a, b, grid = np.array(result["a"]), np.array(result["b"]), np.array(result["loss"])
    assert a.shape == b.shape == (7,) and grid.shape == (7, 7) and calls[-1] == (7, 7)
    assert a[3] == b[3] == 0.0 and np.allclose(a, -a[::-1]) and np.allclose(b, -b[::-1])
    assert grid[3, 3] == pytest.approx(result["centre_loss"], rel=1e-12)
    assert result["centre_loss"] == pytest.approx(loss_at(net, x, y, net.params), rel=1e-15)
    assert len(result["paths"]) == 2
    for path, snapshots in zip(result["paths"], paths, strict=True):
        coords = np.array(path)
        assert coords.shape == (len(snapshots), 2)
        assert np.all(np.abs(coords[:, 0]) < a[-1]) and np.all(np.abs(coords[:, 1]) < b[-1])
    if kind == "pca":
        assert len(result["explained"]) == 2 and sum(result["explained"]) <= 1
        reach = max(np.abs(np.concatenate(result["paths"])[:, 0]))
        assert a[-1] == pytest.approx(reach * (1 + surface_module.MARGIN))
    else:
        assert result["explained"] is None
        assert a[-1] >= 1.0 and b[-1] >= 1.0


def test_random_surface_needs_no_paths():
    spec = SPECS["relu-softmax"]
    net = Network(spec, seed=8)
    x, y = data(spec, 8)
    result = surface(net, x, y, kind="random", resolution=3, seed=1)
    assert result["a"] == result["b"] == [-1.0, 0.0, 1.0] and result["paths"] == []
    waiting = surface(net, x, y, [np.zeros((0, net.params.size)), net.params[None]], kind="random", seed=1)
    assert waiting["paths"][0] == [] and np.allclose(waiting["paths"][1], [[0.0, 0.0]])  # one per racer
    again = surface(net, x, y, kind="random", resolution=3, seed=1)
    assert again == result


def test_a_loss_that_overflows_is_none_not_nan():
    spec = NetworkSpec(6, 2, hidden=((5, "relu"),), output="linear", loss="mse")
    net = Network(spec, seed=0)  # float32
    x, y = data(spec)
    d1, _ = filter_normalized_directions(net, net.params, seed=0)
    far = net.params + 1e25 * d1  # projects to (1e25, 0): the grid reaches where float32 overflows
    result = surface(net, x, y, [far[None]], kind="random", resolution=5, seed=0)
    json.dumps(result, allow_nan=False)
    flat = [v for row in result["loss"] for v in row]
    assert None in flat and result["loss"][2][2] is not None and result["centre_loss"] is not None


@pytest.mark.parametrize(
    ("options", "message"),
    [({"resolution": 20}, "odd"), ({"resolution": 1}, r"\[3, 101\]"), ({"kind": "hessian"}, "pca, random")],
)
def test_surface_refuses_bad_options(options, message):
    spec = SPECS["relu-softmax"]
    net = Network(spec)
    x, y = data(spec)
    with pytest.raises(ValueError, match=message):
        surface(net, x, y, kind=options.get("kind", "random"), resolution=options.get("resolution", 5))
