"""Helpers shared by the compare scripts that report rates and busy cycles."""
import json
import os
import statistics


def fmt(value, spec):
    """@value formatted with @spec, or "-" when it is missing."""
    return spec % value if value is not None else "-"


def summarise(result, rows, path):
    """Add the rate and cycle summaries of @rows to @result and write it to @path."""
    speedups = [r["speedup"] for r in rows]
    result["cases"] = rows
    result["geomean_speedup"] = round(statistics.geometric_mean(speedups), 3)
    result["min_speedup"] = min(speedups)
    ratios = [r["cycles_ratio"] for r in rows if r.get("cycles_ratio")]
    if ratios:
        result["cycles_geomean_ratio"] = round(statistics.geometric_mean(ratios), 3)
        result["cycles_min_ratio"] = min(ratios)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    return result
