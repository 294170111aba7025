"""One-command benchmarks, each printing its figures beside a baseline measured in the same run."""
