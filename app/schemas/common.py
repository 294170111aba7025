"""Shared schema bases."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class ReadModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class RequestModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Page(BaseModel, Generic[T]):
    """A page of a list; each list's schema is a named subclass (`DatasetPage`), so that generated
    clients get short class names."""

    items: list[T]
    next_cursor: str | None = Field(default=None, description="pass it as `cursor` for the next page; "
                                                               "null on the last page")


class ProblemError(BaseModel):
    """One invalid field: where (the field's dotted path, and the item's index in a batch) and why."""

    field: str | None = Field(default=None, description="dotted path of the field, e.g. order.amount")
    message: str
    index: int | None = Field(default=None, description="the item's position in a batch (0-based)")
    line: int | None = Field(default=None, description="the line of a file (CSV: the header is line 1; "
                                                       "Parquet: the row, from 1)")
    type: str | None = Field(default=None, description="machine-readable kind of error, e.g. json_invalid")
    loc: list[str | int] | None = Field(default=None, description="the field's path as a list")


class Problem(BaseModel):
    """RFC 9457 problem details: every error response of the API."""

    type: str = "about:blank"
    title: str = Field(examples=["Invalid input"])
    status: int = Field(examples=[422])
    detail: str = Field(description="what was wrong, in a sentence")
    instance: str | None = Field(default=None, description="the request path")
    request_id: str | None = Field(default=None, description="quote it when reporting a problem")
    errors: list[ProblemError] | None = Field(default=None, description="each invalid field (422)")
    errors_total: int | None = Field(default=None, description="a refused file: how many errors it has in all "
                                                               "(`errors` lists the first 100)")


def problem_responses(*codes: int) -> dict[int | str, dict]:
    """Declare the errors a route answers (app/api/openapi.py adds the ones every route shares)."""
    return {code: {"model": Problem} for code in codes}
