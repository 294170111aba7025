"""Decision latency (one connection, server-side) and throughput (16 and 64 connections),
against a bare FastAPI endpoint that only runs `inplace_predict` on the same model; the same with
a credit policy active (rules + operating point + review band), the policy step alone, batches of
100 and 500 orders, a backtest's scoring + rules rate, and version 2 alone against version 2 with
version 1 its challenger in shadow (alternating rounds, medians).

Every request carries order ids never sent before (`@ID@` in a body is replaced per request, by
this process or by wrk's Lua script): a repeated order id with the same request is an idempotent
repeat, answered from memory, which is not what these rows measure."""

from __future__ import annotations

import asyncio
import json
import random
import re
import sqlite3
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import numpy as np

from app.client import CreditGateClient
from app.demo import generate
from benchmarks.common import cpu_seconds, ensure_wrk, save, server, table

TIMING = re.compile(r"dur=([0-9.]+)")
ID = "@ID@"
_ID = re.compile(re.escape(ID).encode())


def fresh_ids(body: bytes, prefix: str) -> bytes:
    """`body` with each `@ID@` replaced by an order id never used before."""
    count = iter(range(1 << 62))
    return _ID.sub(lambda _: f"{prefix}-{next(count)}".encode(), body)


async def prepare(url: str, customers: int, orders: int) -> tuple[str, list[str], str]:
    data = generate(customers=customers, orders=orders, seed=21)
    async with CreditGateClient(url, timeout=600) as api:
        body = await api.register("Benchmark Distribuidora", f"bench-{uuid.uuid4().hex[:8]}@example.com")
        dataset = await api.create_dataset("benchmark")
        await api.upload_frames(dataset["id"], data.frames(), concurrency=4)
        status = await api.wait_for_dataset(dataset["id"], ("trained", "failed", "invalid"), timeout=1800)
        assert status["status"] == "trained", status
    return body["access_token"]["token"], data.customers["customer_id"].to_list(), dataset["id"]


async def with_policy(url: str, headers: dict, dataset_id: str) -> dict:
    """Backtest the example policy on the whole dataset (scoring + rules rate), then activate it."""
    from app.schemas.policies import EXAMPLE_POLICY

    async with CreditGateClient(url, token=headers["Authorization"].split()[1], timeout=600) as api:
        simulated = await api.request("POST", "/v1/policies/simulate",
                                      json={"policy": EXAMPLE_POLICY, "dataset_id": dataset_id})
        created = await api.request("POST", "/v1/policies", json=EXAMPLE_POLICY)
        await api.request("POST", f"/v1/policies/{created['version']}/activate")
    seconds = simulated["seconds"]["scoring_and_rules"]
    return {"orders": simulated["orders"], "features_s": simulated["seconds"]["features"],
            "scoring_and_rules_s": seconds, "orders_per_s": round(simulated["orders"] / max(seconds, 1e-9)),
            "counts": simulated["counts"]}


async def second_version(url: str, headers: dict, dataset_id: str, shadow: bool | None = None) -> None:
    """Version 2 trained on the same dataset and active; then version 1 its challenger in shadow
    (`shadow` True), or no more (False)."""
    async with CreditGateClient(url, token=headers["Authorization"].split()[1], timeout=1800) as api:
        if shadow is not None:
            await api.request("POST" if shadow else "DELETE", "/v1/models/1/shadow")
            return
        await api.train(dataset_id)
        deadline = time.monotonic() + 1800
        while not any(m["version"] == 2 for m in await api.models()):
            assert time.monotonic() < deadline, "version 2 was never trained"
            await asyncio.sleep(1)
        await api.activate(2)


def shadow_rounds(url: str, headers: dict, dataset_id: str, bodies: list[bytes], pid: int, rounds: int,
                  seconds: int) -> tuple[dict, dict]:
    """Version 2 alone and with version 1 its challenger in shadow, measured in alternating rounds
    (off, on, on, off, ...) on the same server: the machine's speed drifts by more than the 10 %
    being measured, so each figure is the median of its rounds, and each round's figures are kept."""
    measured: dict[bool, list[tuple[dict, dict]]] = {False: [], True: []}
    for n in range(rounds):
        for shadow in (False, True) if n % 2 == 0 else (True, False):
            asyncio.run(second_version(url, headers, dataset_id, shadow=shadow))
            latency_1 = asyncio.run(latency(url, "/v1/decisions", bodies[:1500], headers, warmup=50))
            measured[shadow].append((latency_1, throughput(url, "/v1/decisions", bodies, headers, pid, 16, seconds)))
    asyncio.run(second_version(url, headers, dataset_id, shadow=False))

    def medians(runs: list[dict]) -> dict:
        return {key: value if isinstance(value, int) else round(statistics.median(run[key] for run in runs), 3)
                for key, value in runs[0].items() if key in ("connections", "requests") or isinstance(value, float)
                } | ({"non_2xx": sum(run["non_2xx"] for run in runs)} if "non_2xx" in runs[0] else {})

    return tuple({"latency_1_connection": medians([lat for lat, _ in measured[shadow]]),
                  "throughput": [medians([t for _, t in measured[shadow]])],
                  "rounds": [{"server_p99_ms": lat.get("server_p99_ms"), "p99_ms_16_connections": t.get("p99_ms")}
                             for lat, t in measured[shadow]]}
                 for shadow in (False, True))


def shadow_cost(database_url: str, per_pass: int = 200, passes: int = 15) -> dict:
    """In-process CPU (every thread) of what a challenger costs per decision: the scorer's work on
    `per_pass` stored decisions at a time (about a second of one connection's decisions: feature
    matrix, prediction, calibration, the insert), each pass rolled back so the same decisions serve
    again; median over `passes`. Unlike a p99, it does not drift with the machine's speed."""
    from sqlalchemy import select

    from app.db.decisions import Decision
    from app.db.engine import make_engine, make_sessionmaker
    from app.db.model_versions import ModelVersion
    from app.services.scoring import ModelCache
    from app.services.shadow import ShadowScorer

    async def measure() -> dict:
        engine = make_engine(database_url)
        sessions = make_sessionmaker(engine)
        scorer = ShadowScorer(ModelCache(sessions), sessions)
        async with sessions() as session:
            challenger = await session.scalar(select(ModelVersion.id).where(ModelVersion.version == 1))
            rows = (await session.execute(
                select(Decision.id, Decision.company_id, Decision.model_id, Decision.features)
                .where(Decision.model_id != challenger).limit(per_pass * 4))).all()
        decisions = [{"id": i, "company_id": c, "model_id": m, "features": f} for i, c, m, f in rows]
        times = []
        for n in range(passes + 3):
            chunk = [(challenger, d) for d in decisions[(n % 4) * per_pass:(n % 4 + 1) * per_pass]]
            async with sessions() as session:
                started = time.process_time()
                stored = await scorer._insert(session, chunk)
                times.append((time.process_time() - started) / max(stored, 1))
                await session.rollback()
        await engine.dispose()
        return {"decisions_per_pass": per_pass, "cpu_us_per_decision": round(statistics.median(times[3:]) * 1e6, 1)}

    return asyncio.run(measure())


def policy_step(samples: int = 20_000) -> dict:
    """In-process cost of the policy stage for one decision: the example policy's rules, operating
    point and review band (RulesPolicy.apply) against the model's threshold alone (p50 of each)."""
    import statistics
    from types import SimpleNamespace

    from app.db.policies import Policy
    from app.ml.features import FEATURE_NAMES
    from app.schemas.policies import EXAMPLE_POLICY
    from app.services.decision_pipeline import MODEL_THRESHOLD, Scores
    from app.services.policy_book import LoadedPolicy, RulesPolicy

    rng = np.random.default_rng(3)
    policy = RulesPolicy(LoadedPolicy.of(Policy(id="p", version=1, body=EXAMPLE_POLICY)), {"m": 0.4})
    model = SimpleNamespace(model_id="m", threshold=0.4)
    rows = [{name: float(v) for name, v in zip(FEATURE_NAMES, rng.uniform(0, 3, len(FEATURE_NAMES)), strict=True)}
            for _ in range(256)]
    scores = [Scores(np.array([p]), np.zeros((1, len(FEATURE_NAMES) + 1))) for p in rng.uniform(0, 1, 256)]

    def median_us(stage) -> float:
        times = []
        for n in range(samples):
            row, score = [rows[n % 256]], scores[n % 256]
            started = time.perf_counter()
            stage.apply(model, row, score)
            times.append(time.perf_counter() - started)
        return round(statistics.median(times) * 1e6, 2)

    median_us(policy), median_us(MODEL_THRESHOLD)  # warm up
    return {"policy_p50_us": median_us(policy), "model_threshold_p50_us": median_us(MODEL_THRESHOLD)}


def order_bodies(customer_ids: list[str], count: int, *, every_customer: bool = False) -> list[bytes]:
    """Orders of random customers (or one per customer, in order, to warm the snapshot cache)."""
    rng = random.Random(5)
    bodies = []
    for n in range(len(customer_ids) if every_customer else count):
        customer = customer_ids[n] if every_customer else rng.choice(customer_ids)
        order = {"order_id": ID, "customer_id": customer,
                 "amount": round(rng.uniform(500, 80_000), 2), "payment_terms_days": rng.choice([14, 28, 30, 45])}
        bodies.append(json.dumps({"order": order}).encode())
    return bodies


async def latency(url: str, path: str, bodies: list[bytes], headers: dict, warmup: int = 0) -> dict:
    """Sequential requests on one connection; server-side time from the Server-Timing header when
    the server sends it, else client round-trip."""
    server_ms, client_ms = [], []
    run = uuid.uuid4().hex[:8]
    async with httpx.AsyncClient(base_url=url, headers=headers | {"content-type": "application/json"}) as http:
        for n, body in enumerate(bodies):
            body = fresh_ids(body, f"{run}-{n}")
            started = time.perf_counter()
            response = await http.post(path, content=body)
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code in (200, 201), response.text
            if n < warmup:
                continue
            client_ms.append(elapsed)
            match = TIMING.search(response.headers.get("server-timing", ""))
            if match:
                server_ms.append(float(match.group(1)))
    out = {"requests": len(client_ms), "client_p50_ms": _p(client_ms, 50), "client_p99_ms": _p(client_ms, 99)}
    if server_ms:
        out |= {"server_p50_ms": _p(server_ms, 50), "server_p99_ms": _p(server_ms, 99)}
    return out


async def warm_every_worker(url: str, bodies: list[bytes], headers: dict, connections: int = 16,
                            max_passes: int = 25) -> dict:
    """Warm every worker's snapshot cache: every customer on each of `connections` keep-alive
    connections at once, then passes of every customer on new connections (each lands on any
    worker, though not evenly) until one finds under 1 % of them slower than 5 ms server-side
    (a customer's first decision takes ~10 ms)."""
    await asyncio.gather(*(latency(url, "/v1/decisions", bodies[k:] + bodies[:k], headers)
                           for k in range(0, len(bodies), max(1, len(bodies) // connections))))
    fresh = headers | {"content-type": "application/json", "connection": "close"}
    async with httpx.AsyncClient(base_url=url, headers=fresh) as http:
        passes, slow = 0, len(bodies)
        while slow >= len(bodies) / 100 and passes < max_passes:
            passes, slow = passes + 1, 0
            for body in bodies:
                body = fresh_ids(body, f"warm-{passes}-{uuid.uuid4().hex[:8]}")
                match = TIMING.search((await http.post("/v1/decisions", content=body)).headers.get("server-timing", ""))
                slow += match is None or float(match.group(1)) > 5
    return {"passes_on_new_connections": passes, "last_pass_over_5_ms": slow, "requests_per_pass": len(bodies)}


def _p(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 3)


WRK_SCRIPT = """
local bodies = {}
local n = 0
local sent = 0
local prefix = ""
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
init = function(args)
  prefix = args[2] .. "-" .. tostring(wrk.thread:get("tid")) .. "-"
  local f = io.open(args[1], "r")
  for line in f:lines() do bodies[#bodies + 1] = line end
  f:close()
end
local function fresh()
  sent = sent + 1
  return prefix .. sent
end
request = function()
  n = n % #bodies + 1
  return wrk.format("POST", nil, nil, (string.gsub(bodies[n], "@ID@", fresh)))
end
"""


def throughput(url: str, path: str, bodies: list[bytes], headers: dict, pid: int, connections: int,
               seconds: int) -> dict:
    wrk = ensure_wrk()
    if wrk is None:
        return {"error": "wrk not available"}
    with tempfile.TemporaryDirectory() as tmp:
        script, data = Path(tmp) / "post.lua", Path(tmp) / "bodies.txt"
        script.write_text(WRK_SCRIPT)
        data.write_bytes(b"\n".join(bodies) + b"\n")
        header_args = [a for k, v in (headers | {"Content-Type": "application/json"}).items()
                       for a in ("-H", f"{k}: {v}")]
        before = cpu_seconds(pid)
        result = subprocess.run(
            [wrk, "-t", "2" if connections > 1 else "1", "-c", str(connections), "-d", f"{seconds}s", "--latency",
             *header_args, "-s", str(script), url + path, "--", str(data), uuid.uuid4().hex[:8]],
            capture_output=True, text=True, check=True,
        )
        cpu = cpu_seconds(pid) - before
    out = result.stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "connections": connections,
        "requests_per_s": float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1)),
        "p50_ms": _wrk_ms(out, "50%"), "p99_ms": _wrk_ms(out, "99%"),
        "cpu_ms_per_request": round(cpu * 1000 / max(requests, 1), 3),
        "non_2xx": int(errors.group(1)) if errors else 0,
    }


def _wrk_ms(out: str, label: str) -> float:
    value, unit = re.search(rf"{label}\s+([0-9.]+)(us|ms|s)", out).groups()
    return round(float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit], 3)


def booster_file(db: Path, out: Path) -> tuple[int, list[str]]:
    row = sqlite3.connect(db).execute(
        "select booster, feature_names from model_versions order by created_at desc limit 1").fetchone()
    out.write_bytes(row[0])
    return len(json.loads(row[1])["names"]), json.loads(row[1])["names"]


def feature_bodies(db: Path, count: int) -> list[bytes]:
    rows = sqlite3.connect(db).execute("select features from decisions limit ?", (count,)).fetchall()
    names = None
    bodies = []
    for (features,) in rows:
        values = json.loads(features)
        names = names or list(values)
        bodies.append(json.dumps({"features": [values[n] for n in names]}).encode())
    return bodies


def batch_throughput(url: str, headers: dict, customer_ids: list[str], size: int, requests: int) -> dict:
    """Sequential `POST /v1/decisions/batch` of `size` orders on one connection."""
    orders = [json.loads(b) for b in order_bodies(customer_ids, size * requests)]
    bodies = [json.dumps({"orders": orders[i : i + size]}).encode() for i in range(0, len(orders), size)]
    result = asyncio.run(latency(url, "/v1/decisions/batch", bodies, headers, warmup=2))
    result["orders_per_batch"] = size
    result["decisions_per_s"] = round(size * 1000 / result["client_p50_ms"])
    return result


def explain_one_row(model_path: Path, names: list[str], rows: list[bytes], threshold: float = 0.5) -> dict:
    """In-process cost of scoring one row: the service's explainer against XGBoost's own
    DMatrix + predict + pred_contribs on the same booster (median of each over the rows)."""
    import statistics

    import xgboost as xgb

    from app.ml.model import ScoringModel

    model = ScoringModel.from_ubjson(model_path.read_bytes(), names, threshold)
    X = [np.array([[np.nan if v is None else v for v in json.loads(r)["features"]]], dtype=np.float32)
         for r in rows]

    def median_us(fn) -> float:
        times = []
        for x in X:
            started = time.perf_counter()
            fn(x)
            times.append(time.perf_counter() - started)
        return round(statistics.median(times) * 1e6, 1)

    def by_xgboost(x: np.ndarray) -> None:
        matrix = xgb.DMatrix(x, nthread=1)
        model.booster.predict(matrix, validate_features=False)
        model.booster.predict(matrix, pred_contribs=True, validate_features=False)

    median_us(model.score), median_us(by_xgboost)  # warm up
    return {"trees": model.booster.num_boosted_rounds(), "fast_explainer": model.explainer is not None,
            "exact_probability": model.exact_probability, "score_us": median_us(model.score),
            "xgboost_dmatrix_predict_contribs_us": median_us(by_xgboost)}


def run(quick: bool = False) -> None:
    customers, orders = (300, 8_000) if quick else (1_000, 50_000)
    n_latency, seconds = (800, 3) if quick else (3_000, 10)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        env = {"CREDITGATE_DATABASE_URL": f"sqlite+aiosqlite:///{db}",
               "CREDITGATE_DECISION_JOURNAL_DIR": f"{tmp}/journal"}
        from app.db.migrations import upgrade

        upgrade(env["CREDITGATE_DATABASE_URL"])
        results: dict = {"dataset": {"customers": customers, "orders": orders}}
        with server("app.main:create_app", env) as (url, pid):
            token, customer_ids, dataset_id = asyncio.run(prepare(url, customers, orders))
            headers = {"Authorization": f"Bearer {token}"}
            bodies = order_bodies(customer_ids, n_latency)
            # First decision of each customer: its history is read and reduced to a snapshot (cold).
            cold = asyncio.run(latency(url, "/v1/decisions", order_bodies(customer_ids, 0, every_customer=True),
                                       headers))
            results["creditgate"] = {
                "first_decision_of_a_customer": cold,
                "latency_1_connection": asyncio.run(latency(url, "/v1/decisions", bodies, headers)),
                "throughput": [throughput(url, "/v1/decisions", bodies, headers, pid, c, seconds) for c in (16, 64)],
                "batch": batch_throughput(url, headers, customer_ids, 100, 10 if quick else 40),
                "batch_500": batch_throughput(url, headers, customer_ids, 500, 6 if quick else 20),
            }
            asyncio.run(second_version(url, headers, dataset_id))
            alone, shadowed = shadow_rounds(url, headers, dataset_id, bodies, pid, 2 if quick else 6, seconds)
            results["creditgate_version_2"], results["creditgate_with_shadow"] = alone, shadowed
            results["policy"] = {"simulate": asyncio.run(with_policy(url, headers, dataset_id))}
            results["creditgate_with_policy"] = {
                "latency_1_connection": asyncio.run(latency(url, "/v1/decisions", bodies, headers)),
                "throughput": [throughput(url, "/v1/decisions", bodies, headers, pid, 16, seconds)],
                "batch_500": batch_throughput(url, headers, customer_ids, 500, 6 if quick else 20),
            }
        results["policy"]["step"] = policy_step()
        results["shadow_cost"] = shadow_cost(env["CREDITGATE_DATABASE_URL"])
        with server("app.main:create_app", env, workers=2) as (url, pid):
            warm = asyncio.run(warm_every_worker(url, order_bodies(customer_ids, 0, every_customer=True), headers))
            results["creditgate_2_workers"] = {
                "warm_up": warm,
                "throughput": [throughput(url, "/v1/decisions", bodies, headers, pid, c, seconds) for c in (16, 64)]}
        _, names = booster_file(db, Path(tmp) / "model.ubj")
        bare_bodies = feature_bodies(db, n_latency)
        results["explain_one_row"] = explain_one_row(Path(tmp) / "model.ubj", names, bare_bodies)
        bare_env = {"BENCH_BOOSTER": str(Path(tmp) / "model.ubj")}
        with server("benchmarks.bare_app:app", bare_env, factory=False) as (url, pid):
            results["bare_inplace_predict"] = {
                "latency_1_connection": asyncio.run(latency(url, "/predict", bare_bodies, {}, warmup=200)),
                "throughput": [throughput(url, "/predict", bare_bodies, {}, pid, c, seconds) for c in (16, 64)],
            }
        with server("benchmarks.bare_app:app", bare_env, factory=False, workers=2) as (url, pid):
            results["bare_inplace_predict_2_workers"] = {
                "throughput": [throughput(url, "/predict", bare_bodies, {}, pid, c, seconds) for c in (16, 64)]}
    report(results)


def report(results: dict) -> None:
    ours, bare = results["creditgate"], results["bare_inplace_predict"]
    rows = []
    with_policy = results["creditgate_with_policy"]
    for label, block in (("creditgate /v1/decisions", ours), ("version 2 alone", results["creditgate_version_2"]),
                         ("version 2 + v1 in shadow", results["creditgate_with_shadow"]),
                         ("with a credit policy", with_policy), ("bare inplace_predict", bare)):
        lat = block["latency_1_connection"]
        rows.append([label, "1", "1", lat.get("server_p50_ms", "-"), lat.get("server_p99_ms", "-"),
                     lat["client_p50_ms"], lat["client_p99_ms"], "-", "-"])
        for t in block["throughput"]:
            rows.append([label, "1", t["connections"], "-", "-", t.get("p50_ms"), t.get("p99_ms"),
                         t.get("requests_per_s"), t.get("cpu_ms_per_request")])
    for label, key in (("creditgate /v1/decisions", "creditgate_2_workers"),
                       ("bare inplace_predict", "bare_inplace_predict_2_workers")):
        for t in results[key]["throughput"]:
            rows.append([label, "2", t["connections"], "-", "-", t.get("p50_ms"), t.get("p99_ms"),
                         t.get("requests_per_s"), t.get("cpu_ms_per_request")])
    table("decisions", ["endpoint", "workers", "conns", "server p50 ms", "server p99 ms", "client p50 ms",
                        "client p99 ms", "req/s", "CPU ms/req"], rows)
    ratio = [o["cpu_ms_per_request"] / b["cpu_ms_per_request"]
             for o, b in zip(ours["throughput"], bare["throughput"], strict=True) if b.get("cpu_ms_per_request")]
    results["cpu_ratio_vs_bare"] = [round(r, 2) for r in ratio]
    cold, explain = ours["first_decision_of_a_customer"], results["explain_one_row"]
    print(f"first decision of a customer (history read from the database): server p50 "
          f"{cold.get('server_p50_ms')} ms, p99 {cold.get('server_p99_ms')} ms")
    for label, block in (("", ours), (" with a credit policy", results["creditgate_with_policy"])):
        for one in ([block["batch"]] if "batch" in block else []) + [block["batch_500"]]:
            print(f"batch of {one['orders_per_batch']} orders{label}, 1 connection: server p50 "
                  f"{one.get('server_p50_ms')} ms, p99 {one.get('server_p99_ms')} ms; client p50 "
                  f"{one['client_p50_ms']} ms ({one['decisions_per_s']:,} decisions/s) (goal for 500: <= 50 ms)")
    alone, shadowed = results["creditgate_version_2"], results["creditgate_with_shadow"]
    one, one_shadowed = alone["latency_1_connection"], shadowed["latency_1_connection"]
    busy, busy_shadowed = alone["throughput"][0], shadowed["throughput"][0]
    if one.get("server_p99_ms") and busy.get("p99_ms"):
        print(f"a challenger in shadow (median of {len(alone.get('rounds', []))} alternating rounds each): 1 "
              f"connection server p99 {one_shadowed['server_p99_ms']} vs {one['server_p99_ms']} ms "
              f"({one_shadowed['server_p99_ms'] / one['server_p99_ms'] - 1:+.0%}); 16 connections p99 "
              f"{busy_shadowed['p99_ms']} vs {busy['p99_ms']} ms "
              f"({busy_shadowed['p99_ms'] / busy['p99_ms'] - 1:+.0%}), "
              f"CPU {busy_shadowed.get('cpu_ms_per_request')} vs {busy.get('cpu_ms_per_request')} ms/request "
              f"(goal: p99 <= +10%)")
    if "shadow_cost" in results and busy.get("cpu_ms_per_request"):
        cost, per_pass = results["shadow_cost"]["cpu_us_per_decision"], results["shadow_cost"]["decisions_per_pass"]
        print(f"a challenger's work per decision (in process, all threads, {per_pass} decisions a pass): "
              f"{cost} us CPU, {cost / (10 * busy['cpu_ms_per_request']):.1f}% of a decision's "
              f"{busy['cpu_ms_per_request']} ms")
    step, simulate = results["policy"]["step"], results["policy"]["simulate"]
    print(f"policy step per decision (in process): p50 {step['policy_p50_us']} us with the example policy, "
          f"{step['model_threshold_p50_us']} us with the model's threshold alone (goal <= 100 us)")
    print(f"backtest of {simulate['orders']:,} orders: scoring + rules {simulate['scoring_and_rules_s']} s "
          f"({simulate['orders_per_s']:,} orders/s, goal >= 100,000), features {simulate['features_s']} s")
    print(f"one row, {explain['trees']} trees: score (probability + TreeSHAP) {explain['score_us']} us, "
          f"XGBoost DMatrix + predict + pred_contribs {explain['xgboost_dmatrix_predict_contribs_us']} us")
    print(f"CPU per request vs bare endpoint: {', '.join(f'{r:.2f}x' for r in ratio)} (goal <= 3x)")
    print(f"written {save('decisions', results)}")
