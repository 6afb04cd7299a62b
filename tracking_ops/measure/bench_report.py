"""What `invoke bench` prints: the table of its rows, the goals and the AWS calls, and,
when a Ctrl-C stops it, the rows measured by then."""

from __future__ import annotations

import statistics
from typing import Any

# Figures measured by each phase of the bench, as run_bench keeps them.
COLD_TRACK, COLD_STATUS, WARM = "cold_track", "cold_status", "warm"
HEADER = (
    f"{'measure':<34} {'median ms':>10} {'p99 ms':>9} {'n':>5} {'import ms':>10} {'1st req ms':>10}"
)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "median_ms": round(statistics.median(values) * 1000, 3),
        "p99_ms": round(percentile(values, 0.99) * 1000, 3),
        "samples": len(values),
    }


def cold_figures(runs: list[dict[str, float]]) -> dict[str, Any]:
    return {
        **summary([run["seconds"] for run in runs]),
        "import_median_ms": round(statistics.median(run["import_ms"] for run in runs), 3),
        "first_request_median_ms": round(statistics.median(run["first_ms"] for run in runs), 3),
    }


def rows(measured: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The table's rows of what ``measured`` holds (all of them once the bench is done)."""
    found = []
    if WARM in measured:
        warm = measured[WARM]
        found += [
            ("warm POST /track (handler)", warm["track"]),
            ("warm raw put_item", warm["raw_put_item"]),
            ("warm GET /status (handler)", warm["status"]),
            ("warm raw query (same page)", warm["raw_query"]),
        ]
    for key, handler, baseline in (
        (COLD_TRACK, "cold start -> first POST /track", "cold start -> one raw put_item"),
        (COLD_STATUS, "cold start -> first GET /status", "cold start -> one raw query"),
    ):
        if key in measured:
            found += [
                (handler, cold_figures(measured[key]["handler"])),
                (baseline, cold_figures(measured[key]["baseline"])),
            ]
    return found


def row_lines(measured: dict[str, Any]) -> list[str]:
    lines = [HEADER]
    for name, figures in rows(measured):
        cold_parts = (
            f" {figures['import_median_ms']:>10.1f} {figures['first_request_median_ms']:>10.1f}"
            if "import_median_ms" in figures
            else ""
        )
        lines.append(
            f"{name:<34} {figures['median_ms']:>10.2f} {figures['p99_ms']:>9.2f} "
            f"{figures['samples']:>5}{cold_parts}"
        )
    return lines


def table_lines(result: dict[str, Any], measured: dict[str, Any]) -> list[str]:
    lines = row_lines(measured)
    for key, goal in result["goals"].items():
        relation = "=" if key.startswith("calls") else "<="
        lines.append(f"{key:<28} {result[key]:>8} (goal {relation} {goal})")
    calls = result["calls"]
    for name in ("cold_track", "warm_track", "cold_status", "warm_status", "idempotent_replay"):
        lines.append(f"AWS calls, {name.replace('_', ' ')}: {', '.join(calls[name]) or 'none'}")
    lines.append(f"synth_seconds {result['synth_seconds']}; load average {result['load_average']}")
    return lines


def partial(measured: dict[str, Any], phase: str) -> str:
    """Printed when a Ctrl-C stops the bench: the rows measured; the line says which."""
    measured_rows = rows(measured)
    if measured_rows:
        print("\n".join(row_lines(measured)), flush=True)
    names = [name for name, _ in measured_rows]
    done = f"{len(names)} rows measured (above)" if names else "no rows measured yet"
    return f"{done}; stopped in {phase}; no figures written"
