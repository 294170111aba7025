FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    CREDITGATE_DATABASE_URL=sqlite+aiosqlite:////data/creditgate.db

WORKDIR /srv/creditgate
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY alembic ./alembic
RUN pip install --no-cache-dir -e ".[mssql]" \
    && useradd --system --uid 10001 --home /srv/creditgate creditgate \
    && mkdir -p /data && chown creditgate /data

USER creditgate
EXPOSE 8000
VOLUME ["/data"]
CMD ["creditgate", "serve", "--host", "0.0.0.0", "--port", "8000"]
