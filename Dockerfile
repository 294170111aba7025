# CreditGate: `creditgate serve` on port 8000 as a non-root user; the serve command applies the
# migrations before it starts. Configuration by CREDITGATE_* variables (README "Configuration").
#
# On the public base, installing from PyPI:
#     docker build -t creditgate .
# With SQL Server support (Microsoft's ODBC Driver 18 and the mssql extra; needs Microsoft's
# Debian repository, so it is not built on the offline development machine):
#     docker build --build-arg EXTRAS=mssql -t creditgate:mssql .
# Offline, as scripts/container-smoke.sh does: a base image made locally and a folder of wheels
# built on the host (inside the build context), installed with pip --no-index:
#     docker build --network host --build-arg BASE_IMAGE=creditgate-base:trixie \
#         --build-arg WHEELS=build/container/wheels -t creditgate:smoke .
ARG BASE_IMAGE=python:3.12-slim

FROM ${BASE_IMAGE} AS base
ARG EXTRAS=
ENV LANG=C.UTF-8 PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
# XGBoost needs OpenMP's runtime. The local base has it already (no network needed then).
RUN if ! ldconfig -p | grep -q 'libgomp\.so\.1'; then \
        apt-get update && apt-get install -y --no-install-recommends libgomp1 \
        && rm -rf /var/lib/apt/lists/*; \
    fi
# SQL Server: Microsoft's ODBC Driver 18 (its EULA is accepted here) from Microsoft's repository for
# this Debian release; python:3.12-slim-bookworm as BASE_IMAGE if it has none for the current one.
RUN case ",${EXTRAS}," in *,mssql,*) \
        apt-get update && apt-get install -y --no-install-recommends ca-certificates curl gpg \
        && . /etc/os-release \
        && curl -fsSL https://packages.microsoft.com/keys/microsoft.asc \
            | gpg --dearmor -o /usr/share/keyrings/microsoft-prod.gpg \
        && curl -fsSL "https://packages.microsoft.com/config/debian/${VERSION_ID}/prod.list" \
            > /etc/apt/sources.list.d/mssql-release.list \
        && apt-get update && ACCEPT_EULA=Y apt-get install -y --no-install-recommends msodbcsql18 \
        && apt-get purge -y curl gpg && apt-get autoremove -y && rm -rf /var/lib/apt/lists/* ;; \
    esac

# The build context, with the optional wheel folder moved to /wheels (empty without WHEELS).
FROM base AS context
ARG WHEELS=
# .dockerignore lets in only the project files and build/container/wheels.
COPY . /ctx
RUN mkdir /wheels && if [ -n "${WHEELS}" ]; then cp -a "/ctx/${WHEELS}/." /wheels/; fi

# The virtual environment is built here and copied whole into the final stage (same paths), so the
# wheels and pip's work files never reach the image. Only pyproject.toml and the wheels decide
# whether this layer is rebuilt: the package and README are stand-ins until the final stage.
FROM base AS build
ARG EXTRAS=
ARG WHEELS=
WORKDIR /srv/creditgate
COPY --from=context /wheels /wheels
COPY --from=context /ctx/pyproject.toml ./
RUN set -eu; \
    if [ -n "${WHEELS}" ]; then set -- --no-index --find-links /wheels; else set --; fi; \
    mkdir app && touch README.md app/__init__.py; \
    python3 -m venv /opt/venv; \
    /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check "$@" \
        -e ".${EXTRAS:+[${EXTRAS}]}"

FROM base
WORKDIR /srv/creditgate
# Editable install: the migrations are found beside the app package (app/db/migrations.py).
COPY --from=build /opt/venv /opt/venv
COPY pyproject.toml README.md alembic.ini ./
COPY alembic ./alembic
COPY app ./app
RUN useradd --system --uid 10001 --user-group --home-dir /srv/creditgate --no-create-home creditgate \
    && mkdir -p /data && chown creditgate:creditgate /data \
    && /opt/venv/bin/creditgate --help > /dev/null
ENV PATH=/opt/venv/bin:$PATH \
    CREDITGATE_DATABASE_URL=sqlite+aiosqlite:////data/creditgate.db \
    CREDITGATE_DECISION_JOURNAL_DIR=/data/decision-journal
USER creditgate
EXPOSE 8000
VOLUME ["/data"]
CMD ["creditgate", "serve", "--host", "0.0.0.0", "--port", "8000"]
