#!/usr/bin/python3
"""Deterministic lograge-style JSON lines (Rails + lograge, as the seeds log them).

  /usr/bin/python3 bench/gen_lograge.py N OUT_FILE [--seed 42]

Each line: {"method":...,"path":...,"format":"json","controller":...,"action":...,
"status":...,"duration":...,"view":...,"db":...,"time":...} with ~2% 5xx, ~0.5% of lines
carrying an "ERROR" word in the path's error field.
"""
import argparse
import json
import random


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int)
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    rnd = random.Random(args.seed)
    paths = [("/api/users", "UsersController", "index"), ("/api/users/%d", "UsersController", "show"),
             ("/api/orders", "OrdersController", "create"), ("/api/orders/%d", "OrdersController", "show"),
             ("/health_check", "HealthController", "show"), ("/retrospectives/%d", "BoardsController", "show")]
    statuses = [200] * 90 + [201] * 3 + [302] * 2 + [404] * 3 + [500, 503]
    t0 = 1_790_000_000_000
    with open(args.out, "w") as f:
        for i in range(args.n):
            path, controller, action = rnd.choice(paths)
            if "%d" in path:
                path = path % rnd.randint(1, 99999)
            status = rnd.choice(statuses)
            line = {"method": "POST" if action == "create" else "GET", "path": path,
                    "format": "json", "controller": controller, "action": action,
                    "status": status, "duration": round(rnd.expovariate(1 / 40), 2),
                    "view": round(rnd.random() * 5, 2), "db": round(rnd.random() * 20, 2),
                    "time": t0 + i * 10}
            if rnd.random() < 0.005:
                line["error"] = "ERROR ActiveRecord::RecordNotFound"
            f.write(json.dumps(line, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
