"""`creditgate demo-data`: write a realistic demo history as CSV and Parquet."""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def register(commands) -> None:
    parser = commands.add_parser("demo-data", help="write demo customers, limits, Serasa reports and orders",
                                 description="Write <kind>.csv and <kind>.parquet of each kind (the same rows); "
                                             "'creditgate upload --format csv|parquet DIR' uploads one of them.")
    parser.add_argument("--customers", type=int, default=2_000, help="number of customers")
    parser.add_argument("--orders", type=int, default=100_000, help="number of orders")
    parser.add_argument("--out", type=Path, default=Path("demo-data"), help="the folder to write")
    parser.add_argument("--seed", type=int, default=7, help="random seed (the same seed, the same data)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.demo import generate, write

    started = time.perf_counter()
    data = generate(customers=args.customers, orders=args.orders, seed=args.seed)
    paths = write(data, args.out)
    blocked = data.orders["status"].eq("blocked").mean()
    print(f"wrote {len(paths)} files to {args.out} in {time.perf_counter() - started:.1f}s")
    for name, frame in data.frames().items():
        print(f"  {name:15s} {frame.height:>10,} rows")
    print(f"  blocked share   {blocked:>10.1%}")
    return 0
