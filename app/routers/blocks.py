"""The building blocks page's data: activations, softmax, losses, initializations and normalizations.

Each endpoint validates its request (app.block_schemas) and calls one function of core.nn.blocks.
"""

from __future__ import annotations

from fastapi import APIRouter

from app.schemas.blocks import (
    MAX_FAN,
    MAX_VECTOR,
    SOFTMAX_LIMIT,
    VALUE_LIMIT,
    Z_LIMIT,
    ActivationCurveOut,
    ActivationsIn,
    ActivationsOut,
    BlocksOut,
    InitOut,
    InitsIn,
    InitsOut,
    LossCurveOut,
    LossesIn,
    LossesOut,
    NormDemoOut,
    NormIn,
    NormOut,
    SoftmaxIn,
    SoftmaxOut,
    XavierRangeIn,
    XavierRangeOut,
    norm_params,
)
from app.schemas.common import ParamOut
from core.nn import blocks
from core.nn.inits import INITS
from core.nn.losses import LOSSES
from core.nn.norms import EPS

router = APIRouter(prefix="/api/blocks", tags=["blocks"])


def _named(entry) -> dict[str, str]:
    return {"name": entry.name, "label": entry.label, "formula": entry.formula}


def blocks_registry() -> BlocksOut:
    return BlocksOut(
        activations=[_named(a) for a in blocks.ELEMENTWISE.values()],
        losses=[_named(loss) for loss in LOSSES.values()],
        inits=[_named(init) for init in INITS.values()],
        norms=[
            NormDemoOut(
                name=name,
                label=demo.norm.label,
                formula=demo.norm.formula,
                reference=demo.norm.reference,
                layout=demo.layout,
                kept=list(demo.kept),
                example=demo.example.tolist(),
                params=[ParamOut.model_validate(p) for p in demo.params],
            )
            for name, demo in blocks.NORM_DEMOS.items()
        ],
        sweeps=[{"name": s.name, "label": s.label} for s in blocks.SWEEPS.values()],
        threshold=ParamOut.model_validate(blocks.VANISHING),
        eps=ParamOut.model_validate(EPS),
        limits={
            "z": Z_LIMIT,
            "softmax": SOFTMAX_LIMIT,
            "vector": MAX_VECTOR,
            "fan": MAX_FAN,
            "value": VALUE_LIMIT,
        },
    )


@router.get("")
def get_blocks() -> BlocksOut:
    """The activations, losses, initializations and normalizations the page shows, with every range."""
    return blocks_registry()


@router.post("/activations")
def post_activations(req: ActivationsIn) -> ActivationsOut:
    """f(z) and f′(z) of each element-wise activation on [low, high], and where |f′| < threshold."""
    out = []
    for name in req.activations:
        c = blocks.activation_curves(name, req.low, req.high, req.points, req.threshold)
        act = blocks.ELEMENTWISE[name]
        out.append(
            ActivationCurveOut(
                **_named(act), z=c.z.tolist(), f=c.f.tolist(), df=c.df.tolist(), vanishing=c.vanishing
            )
        )
    return ActivationsOut(threshold=req.threshold, activations=out)


@router.post("/softmax")
def post_softmax(req: SoftmaxIn) -> SoftmaxOut:
    """The stable softmax of z beside the naive e^z / Σ e^z, which overflows for entries past ~710."""
    r = blocks.softmax_report(req.z)
    return SoftmaxOut(
        z=r.z.tolist(),
        probs=r.probs.tolist(),
        total=r.total,
        shifted=r.shifted.tolist(),
        naive_exp=r.naive_exp,
        naive=r.naive,
        overflow=r.overflow,
    )


@router.post("/losses")
def post_losses(req: LossesIn) -> LossesOut:
    """Every loss of one output with target y, and ∂L/∂ŷ, as the prediction ŷ sweeps (0, 1]."""
    c = blocks.loss_curves(req.target, req.sweep, req.points)
    losses = [
        LossCurveOut(**_named(loss), value=c.value[name].tolist(), grad=c.grad[name].tolist())
        for name, loss in LOSSES.items()
    ]
    return LossesOut(target=req.target, pred=c.pred.tolist(), losses=losses, clip=c.clip)


@router.post("/inits")
def post_inits(req: InitsIn) -> InitsOut:
    """An m × n weight matrix from each initialization (seeded): min, max, mean, SD and a histogram."""
    samples = blocks.init_report(req.inputs, req.neurons, req.seed, req.bins)
    inits = [
        InitOut(
            **_named(INITS[s.name]),
            reference=INITS[s.name].reference,
            min=s.min,
            max=s.max,
            mean=s.mean,
            std=s.std,
            edges=s.edges.tolist(),
            counts=s.counts.tolist(),
        )
        for s in samples
    ]
    limit = float(blocks.xavier_limit(req.inputs, req.neurons))
    return InitsOut(inputs=req.inputs, neurons=req.neurons, xavier_limit=limit, inits=inits)


@router.post("/xavier-range")
def post_xavier_range(req: XavierRangeIn) -> XavierRangeOut:
    """Xavier's limit √(6/(m + n)) against the layer size m + n: bigger layers start with smaller weights."""
    sizes, limits = blocks.xavier_range(req.max_size, req.points)
    return XavierRangeOut(sizes=sizes.tolist(), limits=limits.tolist())


@router.post("/norm")
def post_norm(req: NormIn) -> NormOut:  # type: ignore[valid-type]  # a union of create_model models
    """A normalization (γ = 1, β = 0) of batch x, with each mean and variance before and after."""
    r = blocks.normalize(req.norm, req.x, req.eps, **norm_params(req))  # type: ignore[attr-defined]  # as above
    return NormOut(
        norm=r.name,
        shape=list(r.y.shape),
        y=r.y.ravel().tolist(),
        kept=list(r.kept),
        stat_shape=list(r.stat_shape),
        labels=r.labels,
        before=r.before.tolist(),
        after=r.after.tolist(),
        mean_before=r.mean_before.ravel().tolist(),
        var_before=r.var_before.ravel().tolist(),
        mean_after=r.mean_after.ravel().tolist(),
        var_after=r.var_after.ravel().tolist(),
    )
