"""ŷ = f_L(…f_2(f_1(x·W₁ + b₁)·W₂ + b₂)…): a fully connected network over one flat parameter buffer.

Every trainable parameter lives in `net.params`, one flat array (float32 unless asked otherwise);
the layers hold reshaped views of it, and `net.grad` is the matching flat gradient buffer. So one
optimizer generator from core/optimizers.py drives the whole network:

    net = Network(NetworkSpec(784, 10, hidden=((600, "relu"),)), seed=0)
    opt = get_optimizer("sgd").make(net.params, hp); next(opt)
    loss = net.loss_and_grad(x, y)                # forward (training mode) + backward into net.grad
    net.add_regularization(l1=0.0, l2=2e-4)       # explicit extra gradient terms, weights only
    opt.send(net.grad)                            # updates net.params in place: the layers see it
    net.apply_max_norm(c)                         # optional constraint, after the update

The weights of all dense layers come first in the buffer, so the regularization terms are single
array operations on `net.weights_flat`. Batch norm's running statistics are layer `state`, not
parameters: no optimizer ever touches them, and `snapshot`/`restore` carry them along.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace

import numpy as np

from core.nn.activations import get_activation
from core.nn.inits import get_init
from core.nn.layers import DROPOUT, WIDTH, ActivationLayer, Dense, Dropout, Layer
from core.nn.losses import get_loss, one_hot
from core.nn.norms import NORMS
from core.params import Param, lookup

L1 = Param("l1", "L1 strength λ₁", 0.0, 0.0, 1.0, help="adds λ₁·sign(w) to the weight gradient")
L2 = Param("l2", "L2 strength λ", 0.0, 0.0, 1.0, help="adds 2λ·w to the weight gradient (the seed's form)")
MAX_NORM = Param("max_norm", "max-norm c", 0.0, 0.0, 100.0, help="0 turns the constraint off")
REGULARIZATION = (L1, L2, MAX_NORM, DROPOUT)


def l1_penalty(w) -> float:
    """Ω₁ = Σ|w|."""
    return float(np.sum(np.abs(w)))


def l2_penalty(w) -> float:
    """Ω₂ = Σw² (the squared L2 norm; the gradient of λ·Ω₂ is 2λ·w)."""
    flat = np.ravel(w)
    return float(np.dot(flat, flat))


def max_norm(w, c: float, out=None):
    """Scale each column of w (shape (inputs, neurons)) whose L2 norm exceeds c down to norm c.

    Column j is the weight vector of neuron j (its incoming weights), so the norms run over axis 0.
    The seed's example passes one neuron's weights as a row, max_norm(w.T, c).T in this layout.
    With out=w it works in place, and skips the rescaling pass when no column exceeds c.
    """
    norms = np.sqrt(np.einsum("ij,ij->j", w, w))
    over = norms > c
    if not over.any():  # nothing to rescale
        if out is None:
            return w.copy()
        if out is not w:
            np.copyto(out, w)
        return out
    scale = np.ones_like(norms)
    np.divide(c, norms, out=scale, where=over)
    return np.multiply(w, scale, out=out)


@dataclass(frozen=True)
class NetworkSpec:
    """What to build: sizes, activations, loss, init and optional normalization and dropout.

    Each hidden entry is (width, activation); each hidden block is Dense → [norm → activation] →
    [dropout]. With a norm the dense layer stays linear and the activation follows the norm
    (Ioffe and Szegedy's placement). `init` serves the hidden layers, `output_init` the output
    layer: the defaults (He, then Xavier) are the seed's MNIST network.
    """

    inputs: int
    outputs: int
    hidden: tuple[tuple[int, str], ...] = ((600, "relu"),)
    output: str = "softmax"
    loss: str = "cross_entropy"
    init: str = "he"
    output_init: str = "xavier"
    norm: str | None = None
    dropout: float = 0.0

    def __post_init__(self):
        """Check every field, and store sizes as ints and `hidden` as tuples (JSON gives lists)."""
        fix = object.__setattr__
        fix(self, "inputs", replace(WIDTH, name="inputs").check(self.inputs))
        fix(self, "outputs", replace(WIDTH, name="outputs").check(self.outputs))
        fix(self, "hidden", tuple((WIDTH.check(width), act) for width, act in self.hidden))
        for _, act in self.hidden:
            if get_activation(act).output_only:
                raise ValueError(f"{act} normalizes a whole row: use it as the output activation only")
        get_activation(self.output)
        get_loss(self.loss)
        get_init(self.init)
        get_init(self.output_init)
        if self.norm is not None:
            lookup(NORMS, self.norm, "norm")
        fix(self, "dropout", DROPOUT.check(self.dropout))


def _flatten(layers, dtype):
    """Move every layer's params into one flat buffer (decayed weights first) and bind views."""
    entries = [(layer, key) for layer in layers for key in layer.params]
    entries.sort(key=lambda e: e[1] not in e[0].decay)  # stable: weights first, in layer order
    total = sum(layer.params[key].size for layer, key in entries)
    params, grad = np.empty(total, dtype), np.zeros(total, dtype)
    offset = n_decay = 0
    for layer, key in entries:
        value = layer.params[key]
        end = offset + value.size
        layer.params[key] = params[offset:end].reshape(value.shape)
        layer.params[key][...] = value
        layer.grads[key] = grad[offset:end].reshape(value.shape)
        if key in layer.decay:
            n_decay = end
        offset = end
    return params, grad, n_decay


class Network:
    """The layers of a `NetworkSpec` over one flat parameter buffer; `seed` fixes weights and dropout.

    Training: `loss_and_grad`, `add_regularization`, `penalty`, `apply_max_norm`, with `params` and
    `grad` for the optimizer. Inference: `forward`, `predict_proba`, `evaluate`. Streaming:
    `diagnostics`, `activations`, `weights`. Keeping: `snapshot`/`restore` (in memory),
    `state_dict`/`load_state_dict`/`from_state_dict` and `save`/`load` (.npz, no pickle).
    """

    def __init__(self, spec: NetworkSpec, seed=0, dtype=np.float32):
        rng = np.random.default_rng(seed)
        self.spec, self.dtype, self.loss = spec, np.dtype(dtype), get_loss(spec.loss)
        layers: list[Layer] = []
        width_in = spec.inputs
        for width, act in spec.hidden:
            if spec.norm is None:
                layers.append(Dense(width_in, width, act, spec.init, rng, dtype))
            else:
                layers.append(Dense(width_in, width, "linear", spec.init, rng, dtype))
                layers.append(NORMS[spec.norm].layer(width, dtype=dtype))
                layers.append(ActivationLayer(act))
            if spec.dropout > 0:
                layers.append(Dropout(spec.dropout, rng))
            width_in = width
        layers.append(Dense(width_in, spec.outputs, spec.output, spec.output_init, rng, dtype))
        self.dense = [layer for layer in layers if isinstance(layer, Dense)]  # the first and last layers too
        self.dense[0].need_dx = False  # nothing consumes ∂L/∂x of the input
        self.dense[0].trim_inputs = True  # skip input columns that are zero across the batch
        counts: dict[str, int] = {}
        for layer in layers:
            layer.name = f"{layer.kind}{counts.setdefault(layer.kind, 0)}"
            counts[layer.kind] += 1
        self.layers = layers
        self.params, self.grad, n_decay = _flatten(layers, self.dtype)
        self.weights_flat, self.weights_grad = self.params[:n_decay], self.grad[:n_decay]
        self._scratch = None  # one weight-sized buffer, allocated on the first regularization call

    # --- forward and backward ----------------------------------------------------------------------

    def _inputs(self, x):
        x = np.asarray(x, dtype=self.dtype)
        if x.ndim != 2 or x.shape[1] != self.spec.inputs:
            raise ValueError(f"inputs must have shape (batch, {self.spec.inputs}), got {x.shape}")
        return x

    def _targets(self, y, n):
        y = np.asarray(y)
        if y.ndim == 1 and self.spec.loss == "cross_entropy" and y.dtype.kind in "iu":
            y = one_hot(y, self.spec.outputs, self.dtype)
        elif y.ndim == 1 and self.spec.outputs == 1:
            y = y[:, None]
        if y.shape != (n, self.spec.outputs):
            raise ValueError(
                f"targets must have shape ({n}, {self.spec.outputs}) or be labels, got {y.shape}"
            )
        return np.asarray(y, dtype=self.dtype)

    def forward(self, x, train: bool = False):
        """ŷ for a batch x of shape (N, inputs); train=True uses dropout and batch statistics."""
        out = self._inputs(x)
        for layer in self.layers:
            out = layer.forward(out, train)
        return out

    def loss_and_grad(self, x, y) -> float:
        """L(y, ŷ) of one training batch, its gradient written into `net.grad` (no regularization).

        y: targets of shape (N, outputs), or class indices of shape (N,) for cross-entropy. A softmax
        output with cross-entropy backpropagates the fused ∂L/∂z = (ŷ − y)/N, from the logits.
        """
        out = self._inputs(x)
        y = self._targets(y, out.shape[0])
        for layer in self.layers[:-1]:
            out = layer.forward(out, True)
        last = self.dense[-1]  # = self.layers[-1]
        fused = self.loss.fused if self.loss.fused_with == last.act.name else None
        if fused is not None:
            loss, dz, last.out = fused(y, last.linear(out))
            d = last.backward_z(dz)
        else:
            out = last.forward(out, True)
            loss = self.loss.value(y, out)
            d = last.backward(self.loss.grad(y, out))
        for layer in reversed(self.layers[:-1]):
            d = layer.backward(d)
        return loss

    def predict_proba(self, x, batch_size: int = 4096):
        """Inference outputs (class probabilities for a softmax output), in chunks of batch_size."""
        x = self._inputs(x)
        return np.concatenate([self.forward(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])

    def evaluate(self, x, y, batch_size: int = 4096) -> dict[str, float]:
        """Inference loss (no regularization) and, for cross-entropy, accuracy, over a whole set."""
        x = self._inputs(x)
        y = self._targets(y, len(x))
        total, correct = 0.0, 0
        fused = self.loss.fused if self.loss.fused_with == self.spec.output else None
        for i in range(0, len(x), batch_size):
            xb, yb = x[i : i + batch_size], y[i : i + batch_size]
            out = self.forward(xb)
            loss = fused(yb, self.dense[-1].z)[0] if fused is not None else self.loss.value(yb, out)
            total += loss * len(xb)
            correct += int(np.count_nonzero(out.argmax(axis=1) == yb.argmax(axis=1)))
        result = {"loss": total / len(x)}
        if self.spec.loss == "cross_entropy":
            result["accuracy"] = correct / len(x)
        return result

    # --- regularization: explicit extra terms, applied by the caller -------------------------------

    def _scratch_buffer(self):
        if self._scratch is None:
            self._scratch = np.empty_like(self.weights_flat)
        return self._scratch

    def add_regularization(self, l1: float = 0.0, l2: float = 0.0) -> None:
        """grad_W += λ₁·sign(W) + 2λ·W for every dense weight matrix; biases, γ and β are left alone.

        With plain SGD this is the seed's w ← w − η(∂L/∂w + 2λw), i.e. w ← (1 − 2ηλ)w − η·∂L/∂w.
        """
        l1, l2 = L1.check(l1), L2.check(l2)
        scratch = self._scratch_buffer() if l1 or l2 else None
        if l1:
            np.sign(self.weights_flat, out=scratch)
            scratch *= self.dtype.type(l1)
            self.weights_grad += scratch
        if l2:
            np.multiply(self.weights_flat, self.dtype.type(2 * l2), out=scratch)
            self.weights_grad += scratch

    def penalty(self, l1: float = 0.0, l2: float = 0.0) -> float:
        """λ₁·Σ|W| + λ·ΣW², the term the regularization adds to the loss; computed only when asked."""
        l1, l2 = L1.check(l1), L2.check(l2)
        total = 0.0
        if l1:
            total += l1 * float(np.abs(self.weights_flat, out=self._scratch_buffer()).sum())
        if l2:
            total += l2 * l2_penalty(self.weights_flat)
        return total

    def apply_max_norm(self, c: float) -> None:
        """Rescale every neuron's incoming weight vector (a column of W) to L2 norm ≤ c; 0 is off."""
        c = MAX_NORM.check(c)
        if c:
            for layer in self.dense:
                max_norm(layer.params["W"], c, out=layer.params["W"])

    # --- diagnostics -------------------------------------------------------------------------------

    def diagnostics(self) -> list[dict]:
        """Per layer, from the last forward/backward: gradient norm and, for ReLU, the dead fraction."""
        return [{"layer": layer.name, **stats} for layer in self.layers if (stats := layer.stats())]

    def activations(self) -> dict[str, np.ndarray]:
        """Each layer's output from the last forward pass (views: copy what you keep)."""
        return {layer.name: layer.out for layer in self.layers if layer.out is not None}

    def weights(self) -> dict[str, np.ndarray]:
        """Each dense layer's weight matrix (views into `params`)."""
        return {f"{layer.name}.W": layer.params["W"] for layer in self.dense}

    # --- snapshots and files -----------------------------------------------------------------------

    def _state(self):
        return {f"{layer.name}.{key}": v for layer in self.layers for key, v in layer.state.items()}

    def snapshot(self) -> dict[str, np.ndarray]:
        """A copy of the parameter buffer and running statistics, e.g. for early stopping."""
        return {"params": self.params.copy(), **{k: v.copy() for k, v in self._state().items()}}

    def restore(self, snapshot: dict[str, np.ndarray]) -> None:
        """Copy a snapshot back in place: the layers' views and any optimizer stay bound to it."""
        self._copy_in(snapshot, {"params": self.params, **self._state()})

    def state_dict(self) -> dict[str, np.ndarray]:
        """Named copies of every parameter and running statistic, plus the spec as JSON: an .npz."""
        named = {f"{layer.name}.{k}": v for layer in self.layers for k, v in layer.params.items()}
        named.update(self._state())
        return {"spec": np.array(json.dumps(asdict(self.spec))), **{k: v.copy() for k, v in named.items()}}

    def load_state_dict(self, arrays) -> None:
        named = {f"{layer.name}.{k}": v for layer in self.layers for k, v in layer.params.items()}
        named.update(self._state())
        self._copy_in({k: v for k, v in arrays.items() if k != "spec"}, named)

    @classmethod
    def from_state_dict(cls, arrays) -> Network:
        spec = NetworkSpec(**json.loads(str(arrays["spec"])))
        dtype = next(np.asarray(v).dtype for k, v in arrays.items() if k != "spec")
        net = cls(spec, seed=0, dtype=dtype)
        net.load_state_dict(arrays)
        return net

    def save(self, path) -> None:
        np.savez(path, **self.state_dict())  # type: ignore[arg-type]  # mypy: a key could be allow_pickle

    @classmethod
    def load(cls, path) -> Network:
        with np.load(path, allow_pickle=False) as arrays:
            return cls.from_state_dict(dict(arrays))

    @staticmethod
    def _copy_in(source, targets) -> None:
        if set(source) != set(targets):
            missing, extra = sorted(set(targets) - set(source)), sorted(set(source) - set(targets))
            raise ValueError(f"arrays do not match this network: missing {missing}, unexpected {extra}")
        for key, target in targets.items():
            value = np.asarray(source[key])
            if value.shape != target.shape:
                raise ValueError(f"{key} has shape {value.shape}, this network needs {target.shape}")
            np.copyto(target, value, casting="same_kind")
