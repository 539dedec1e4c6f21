"""Users' own data (/api/data): what an upload became, and a 2D table's points."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from core.data.uploads import POINTS, Table

DataKind = Literal["points", "table"]


class DataOut(BaseModel):
    """A stored table, named by the SHA-256 of its canonical form (the same data uploaded again,
    however it was spelled, gets the same id)."""

    id: str = Field(description="the data's hash: a run's data_id")
    kind: DataKind = Field(description="points: columns x1, x2 and label; table: any other columns")
    filename: str = Field(description="the name it was uploaded under, while this server remembers it")
    rows: int
    features: int = Field(description="feature columns: the network's input width")
    feature_names: list[str]
    label: str = Field(description="the label (or target) column")
    regression: bool = Field(description="the label is a numeric target (train with loss mse)")
    classes: int = Field(description="distinct labels; 0 for a regression")
    class_names: list[str]

    @classmethod
    def of(cls, key: str, table: Table, filename: str) -> DataOut:
        points = table.feature_names == POINTS[:2] and table.label_name == POINTS[2]
        return cls(
            id=key,
            kind="points" if points else "table",
            filename=filename,
            rows=len(table.y),
            features=len(table.feature_names),
            feature_names=list(table.feature_names),
            label=table.label_name,
            regression=table.regression,
            classes=table.classes,
            class_names=list(table.class_names),
        )


class DataPointsOut(BaseModel):
    x: list[list[float]] = Field(description="each row's two features")
    y: list[int] | list[float] = Field(description="each row's class index (into class_names) or target")
    class_names: list[str]
    regression: bool
