#!/usr/bin/env bash
# The test suite runs against a real PostgreSQL at 127.0.0.1:5432; start the local cluster if it is down.
set -uo pipefail
if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then exit 0; fi
if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done
fi
echo "PostgreSQL is not reachable at 127.0.0.1:5432 (set CREDITGATE_TEST_BACKENDS=sqlite to skip it)" >&2
exit 1
