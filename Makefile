.PHONY: run test bench bench-decisions bench-ingest bench-training bench-monitoring install lint container-smoke

install:
	./scripts/bootstrap.sh

## Install (if needed), migrate the SQLite database and serve the API on http://127.0.0.1:8000
run: install
	.venv/bin/creditgate serve

## Install (if needed) and run the whole test suite (SQLite + PostgreSQL + the Kafka broker)
test: install
	./scripts/ensure-postgres.sh
	.venv/bin/python -m pytest $(PYTEST_ARGS)

bench: install
	.venv/bin/python -m benchmarks all

bench-decisions: install
	.venv/bin/python -m benchmarks decisions

bench-ingest: install
	.venv/bin/python -m benchmarks ingest

bench-training: install
	.venv/bin/python -m benchmarks training

bench-monitoring: install
	.venv/bin/python -m benchmarks monitoring

lint: install
	.venv/bin/ruff check app tests benchmarks

## Build the image offline (local Debian base, wheels built here) and run it against the local
## PostgreSQL: /readyz, register, upload demo data, one decision (a few minutes; not part of `test`)
container-smoke:
	./scripts/container-smoke.sh
