"""Demo data for CreditGate: `generate` the four frames, `write` them as CSV and Parquet."""

from app.demo.generator import DemoData, generate, write

__all__ = ["DemoData", "generate", "write"]
