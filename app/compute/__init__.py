"""Implementations of the services' `Compute` port: where CPU-heavy jobs run."""
