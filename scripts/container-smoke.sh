#!/usr/bin/env bash
# Build the image offline and run it against the local PostgreSQL: /readyz, then the README's whole
# path from a second container of the same image (demo data, register, upload, one decision).
# compose.yaml is checked on the way by Debian's Compose v2 (`docker-compose config`).
#
# No public base image can be pulled here, so the base is made locally: Debian 13 "trixie" (its
# python3 is 3.13) by debootstrap from the Debian mirror apt uses, imported with `docker import`.
# The wheels are built on the host with the same Python minor version and installed offline
# (pip --no-index). Containers use the host network only. Idempotent: the base image, the wheel
# folder and docker's layer cache are reused; the containers, the database and a docker daemon the
# script started are removed at exit.
#
# Environment: CREDITGATE_SMOKE_BASE (default creditgate-base:trixie), CREDITGATE_SMOKE_IMAGE
# (creditgate:smoke), CREDITGATE_DEBIAN_MIRROR (from /etc/apt), KEEP_DOCKERD=1 to leave the daemon.
set -euo pipefail
cd "$(dirname "$0")/.."

base_image=${CREDITGATE_SMOKE_BASE:-creditgate-base:trixie}
image=${CREDITGATE_SMOKE_IMAGE:-creditgate:smoke}
suite=trixie
work=build/container
wheels=$work/wheels
db=creditgate_smoke_$$
api=creditgate-smoke-api-$$
client=creditgate-smoke-client-$$
psql=(psql -h 127.0.0.1 -U postgres -d postgres -v ON_ERROR_STOP=1 -qAt)
t0=$(date +%s)
dockerd_pid=

step() { printf '[%4ss] %s\n' "$(($(date +%s) - t0))" "$*"; }
fail() { step "FAILED: $*" >&2; exit 1; }

cleanup() {
  local rc=$?
  if [ -n "${dockerd_pid:-}" ] || docker info >/dev/null 2>&1; then
    if [ "$rc" -ne 0 ] && docker inspect "$api" >/dev/null 2>&1; then
      echo "--- last lines of the API container's log" >&2
      docker logs --tail 40 "$api" >&2 2>&1 || true
    fi
    docker rm -f "$api" "$client" >/dev/null 2>&1 || true
  fi
  "${psql[@]}" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  if [ -n "${dockerd_pid:-}" ] && [ -z "${KEEP_DOCKERD:-}" ]; then
    kill "$dockerd_pid" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.5; done
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$work"

debian_mirror() {
  local uri
  uri=$(grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -E '/debian/?$' | head -1 || true)
  [ -n "$uri" ] || uri=$(grep -hsE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
    | awk '{print $2}' | grep -E '/debian/?$' | head -1 || true)
  uri=${CREDITGATE_DEBIAN_MIRROR:-$uri}
  [ -n "$uri" ] || fail "no Debian mirror in /etc/apt; set CREDITGATE_DEBIAN_MIRROR"
  echo "$uri"
}

ensure_packages() {  # docker.io and debootstrap from Debian, when missing
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  [ ${#missing[@]} -eq 0 ] && return
  [ "$(id -u)" -eq 0 ] || fail "install ${missing[*]} (needs root)"
  step "apt-get install ${missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_dockerd() {  # no systemd here: start the daemon in the background when none answers
  docker info >/dev/null 2>&1 && { step "docker daemon already running"; return; }
  step "starting dockerd (log: $work/dockerd.log)"
  # No bridge and no iptables rules: every container here uses the host network.
  setsid dockerd --bridge=none --iptables=false >"$work/dockerd.log" 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return
    kill -0 "$dockerd_pid" 2>/dev/null || fail "dockerd exited; see $work/dockerd.log"
    sleep 1
  done
  fail "dockerd did not answer within 60 s; see $work/dockerd.log"
}

ensure_base_image() {
  if docker image inspect "$base_image" >/dev/null 2>&1; then
    step "base image $base_image present"; return
  fi
  local rootfs=$work/rootfs mirror
  mirror=$(debian_mirror)
  step "debootstrap $suite from the Debian mirror apt uses (log: $work/debootstrap.log)"
  rm -rf "$rootfs"
  debootstrap --variant=minbase --include=python3,python3-venv,libgomp1 \
    "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || fail "debootstrap failed; see $work/debootstrap.log"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  step "docker import $base_image"
  tar -C "$rootfs" -c . | docker import --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' - "$base_image" >/dev/null
  rm -rf "$rootfs"
}

host_python() {  # a host interpreter of the base image's minor version, for binary-compatible wheels
  local version=$1 candidate
  for candidate in "python$version" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$version"*/bin/python"$version"; do
    # (a pyenv shim is on PATH but fails unless its version is selected)
    if "$candidate" -c "import sys; assert '%d.%d' % sys.version_info[:2] == '$version'" >/dev/null 2>&1; then
      command -v "$candidate"; return
    fi
  done
  fail "no Python $version on the host to build the wheels with (PATH or pyenv)"
}

ensure_wheels() {
  local version python stamp
  version=$(docker run --rm --network host "$base_image" \
    python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  python=$(host_python "$version")
  stamp=$wheels/.built-$({ cat pyproject.toml; echo "$version"; } | sha1sum | cut -c1-12)
  if [ -f "$stamp" ]; then step "wheels for Python $version present ($wheels)"; return; fi
  step "pip wheel for Python $version with $python (log: $work/wheels.log)"
  rm -rf "$wheels"
  # The project's dependencies plus what pip needs to build the editable install offline.
  "$python" -m pip wheel --quiet --disable-pip-version-check --wheel-dir "$wheels" . setuptools wheel \
    >"$work/wheels.log" 2>&1 || fail "pip wheel failed; see $work/wheels.log"
  rm -f "$wheels"/creditgate-*.whl
  touch "$stamp"
}

build_image() {
  step "docker build $image (offline install from $wheels; log: $work/build.log)"
  DOCKER_BUILDKIT=0 docker build --network host \
    --build-arg BASE_IMAGE="$base_image" --build-arg WHEELS="$wheels" \
    -t "$image" . >"$work/build.log" 2>&1 || { tail -30 "$work/build.log" >&2; fail "docker build"; }
  [ "$(docker image inspect -f '{{.Config.User}}' "$image")" = creditgate ] || fail "image does not run as creditgate"
  step "image $image: $(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1 / 1e6}')"
}

check_compose() {  # compose.yaml through Debian's Compose v2 (docker-compose), in a container of the base
  local checker=creditgate-compose-check:${base_image#*:} profile
  if ! docker image inspect "$checker" >/dev/null 2>&1; then
    step "docker build $checker (Debian's docker-compose)"
    printf 'FROM %s\nRUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose >/dev/null && rm -rf /var/lib/apt/lists/*\n' \
      "$base_image" | DOCKER_BUILDKIT=0 docker build --network host -t "$checker" - >"$work/compose-check.log" 2>&1 \
      || fail "docker build $checker; see $work/compose-check.log"
  fi
  for profile in "" postgres; do
    docker run --rm --network host -v "$PWD/compose.yaml:/check/compose.yaml:ro" -w /check \
      -e CREDITGATE_JWT_SECRET=smoke-secret-smoke-secret-smoke-secret -e MSSQL_SA_PASSWORD=Str0ng-Passw0rd \
      -e POSTGRES_PASSWORD=smoke "$checker" docker-compose ${profile:+--profile "$profile"} config --quiet \
      || fail "docker-compose config ${profile:+--profile $profile}"
  done
  step "compose.yaml valid for $(docker run --rm --network host "$checker" docker-compose version --short | sed 's/^/Compose /') (default and postgres profile)"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

run_api() {
  ./scripts/ensure-postgres.sh
  "${psql[@]}" -c "CREATE DATABASE $db" >/dev/null
  port=$(free_port)
  step "docker run $api on 127.0.0.1:$port, database $db"
  docker run -d --name "$api" --network host \
    -e CREDITGATE_ENV=production \
    -e CREDITGATE_JWT_SECRET="$(python3 -c 'import secrets; print(secrets.token_hex(32))')" \
    -e CREDITGATE_DATABASE_URL="postgresql+asyncpg://postgres@127.0.0.1:5432/$db" \
    "$image" creditgate serve --host 127.0.0.1 --port "$port" >/dev/null
  for _ in $(seq 1 120); do
    if curl -fsS "http://127.0.0.1:$port/readyz" >"$work/readyz.json" 2>/dev/null; then
      step "/readyz: $(cat "$work/readyz.json"); the API runs as $(docker exec "$api" id -un) (uid $(docker exec "$api" id -u))"
      [ "$(docker exec "$api" id -u)" != 0 ] || fail "the API runs as root"
      return
    fi
    [ "$(docker inspect -f '{{.State.Running}}' "$api")" = true ] || fail "the API container stopped"
    sleep 1
  done
  fail "/readyz did not answer within 120 s"
}

run_client() {
  step "client container: demo-data, register, upload, decide"
  docker run --rm --name "$client" --network host -e CREDITGATE_URL="http://127.0.0.1:$port" \
    "$image" sh -ec '
      cd /tmp
      creditgate demo-data --customers 300 --orders 8000 --out demo-data >/dev/null
      eval "$(creditgate register --name "Distribuidora Exemplo Ltda" --email credito@exemplo.com.br | tail -1)"
      creditgate upload --format parquet demo-data
      creditgate decide --customer C000042 --amount 48500.00 --terms 28
    ' 2>&1 | tee "$work/client.log"
  grep -qiE '\b(bill|block)\b' "$work/client.log" || fail "no decision in the client's output"
}

ensure_packages
ensure_dockerd
ensure_base_image
ensure_wheels
build_image
check_compose
run_api
run_client
step "container smoke passed in $(($(date +%s) - t0)) s"
