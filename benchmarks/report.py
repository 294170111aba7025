"""`python -m benchmarks.report`: the README's benchmark section, from benchmarks/results/*.json."""

from __future__ import annotations

import json

from benchmarks.common import RESULTS


def _load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def decisions(r: dict) -> list[str]:
    ours, bare = r["creditgate"], r["bare_inplace_predict"]
    lat, cold = ours["latency_1_connection"], ours["first_decision_of_a_customer"]
    out = [
        f"**Decisions** ({r['measured_at'][:10]}, Python {r['machine']['python']}, xgboost "
        f"{r['machine']['xgboost']}, SQLite, {r['dataset']['customers']:,} customers / "
        f"{r['dataset']['orders']:,} orders; `wrk` on the same 2 cores):",
        "",
        "| | goal | CreditGate | bare `inplace_predict` endpoint |",
        "|---|---|---|---|",
        f"| server-side p50 / p99, 1 connection | ≤ 1.5 / ≤ 5 ms | {lat['server_p50_ms']} / "
        f"{lat['server_p99_ms']} ms | client round trip {bare['latency_1_connection']['client_p50_ms']} ms |",
    ]
    for workers, mine_key, base_key in ((1, "creditgate", "bare_inplace_predict"),
                                        (2, "creditgate_2_workers", "bare_inplace_predict_2_workers")):
        base_runs = r.get(base_key, {}).get("throughput", [])
        for n, mine in enumerate(r.get(mine_key, {}).get("throughput", [])):
            base = f"{base_runs[n]['requests_per_s']:,.0f}" if n < len(base_runs) else ""
            out.append(f"| decisions/s, {mine['connections']} connections, {workers} worker{'s' * (workers > 1)} "
                       f"| ≥ 1,500 | {mine['requests_per_s']:,.0f} (p99 {mine['p99_ms']:,.0f} ms) | {base} |")
    ratio = ", ".join(f"{x:.1f}x" for x in r.get("cpu_ratio_vs_bare", []))
    cpu = " / ".join(f"{t['cpu_ms_per_request']}" for t in ours["throughput"])
    base_cpu = " / ".join(f"{t['cpu_ms_per_request']}" for t in bare["throughput"])
    out += [
        f"| CPU ms per request, 1 worker (16 / 64 connections) | ≤ 3x bare | {cpu} ({ratio}) | {base_cpu} |",
        f"| first decision of a customer (history read, snapshot built) | | p50 {cold['server_p50_ms']} ms | |",
    ]
    if "batch" in ours:
        b = ours["batch"]
        out.append(f"| batch of {b['orders_per_batch']} orders, 1 connection | | p50 {b['client_p50_ms']} ms "
                   f"({b['decisions_per_s']:,} decisions/s) | |")
    if "explain_one_row" in r:
        e = r["explain_one_row"]
        out.append(f"| probability + TreeSHAP of one row ({e['trees']} trees), in process | | "
                   f"{e['score_us']} µs | XGBoost DMatrix + predict + pred_contribs "
                   f"{e['xgboost_dmatrix_predict_contribs_us']} µs |")
    return out


def ingest(r: dict) -> list[str]:
    out = [f"**Ingest** ({r['measured_at'][:10]}; HTTP → queue → database, 500-item batches, 8 in flight, "
           "client on the same machine):", "", "| mode | rows | rows/s | baseline | baseline rows/s | share | goal |",
           "|---|---|---|---|---|---|---|"]
    for run in r["runs"]:
        out.append(f"| {run['mode']} | {run['rows']:,} | {run['rows_per_s']:,} | {run['baseline']} | "
                   f"{run['baseline_rows_per_s']:,} | {run['share_of_baseline']:.0%} | ≥ 50% of COPY |")
    return out


def training(r: dict) -> list[str]:
    out = [f"**Training** ({r['measured_at'][:10]}; read from SQLite, features, fit with early stopping, "
           "hold-out evaluation):", "", "| orders | end to end | load / features / fit / evaluate | bare "
           "`xgb.train` | ratio | goal | hold-out ROC AUC |", "|---|---|---|---|---|---|---|"]
    for run in r["runs"]:
        s = run["stages_s"]
        stages = " / ".join(f"{s.get(k, 0):.1f}" for k in ("load_s", "features_s", "fit_s", "evaluate_s"))
        out.append(f"| {run['orders']:,} | {run['end_to_end_s']} s | {stages} s | {run['baseline_xgb_train_s']} s | "
                   f"{run['ratio_vs_baseline']}x | ≤ 1.5x | {run['roc_auc']:.3f} |")
    return out


def main() -> None:
    sections = []
    for name, render in (("decisions", decisions), ("ingest", ingest), ("training", training)):
        result = _load(name)
        if result is not None:
            sections.append("\n".join(render(result)))
    print("\n\n".join(sections))


if __name__ == "__main__":
    main()
