"""Errors raised by the ML layer (no HTTP knowledge; services map them to responses)."""


class MLError(Exception):
    """Base class for every error raised by ``app.ml``."""


class SchemaError(MLError):
    """Input frame does not match the data contract (missing or unconvertible column)."""


class FeatureError(MLError):
    """Features cannot be built from the given inputs."""


class TrainingError(MLError):
    """Training is impossible on the given data (too few rows, a split without both classes)."""


class EvaluationError(MLError):
    """A model cannot be evaluated on the given data (no labelled orders)."""


class ModelError(MLError):
    """A stored model cannot be loaded or does not match its feature list."""
