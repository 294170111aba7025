"""Baseline for the decision benchmark: a bare FastAPI endpoint that only runs `inplace_predict`
on the same booster (no auth, no database, no features, no explanation)."""

from __future__ import annotations

import os

import numpy as np
import xgboost as xgb
from fastapi import FastAPI
from pydantic import BaseModel

booster = xgb.Booster()
booster.load_model(os.environ["BENCH_BOOSTER"])
booster.set_param({"nthread": 1})
app = FastAPI()


class Row(BaseModel):
    features: list[float | None]


@app.get("/healthz")
async def healthz() -> dict:
    return {"status": "ok"}


@app.post("/predict")
async def predict(row: Row) -> dict:
    x = np.array([[np.nan if v is None else v for v in row.features]], dtype=np.float32)
    return {"probability": float(booster.inplace_predict(x, validate_features=False)[0])}
