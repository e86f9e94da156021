"""Paired statistics for "does the distillation help?": per-image Dice differences between
two student variants trained with the same seeds (same initialisation and batch stream per
seed) and evaluated on the same test images.

CI: ``scipy.stats.bootstrap`` (percentile method, 10,000 resamples, fixed generator) over
test images of the per-image difference; pooled over seeds by first averaging each
image's difference over the seeds (so an image, not an (image, seed) pair, is the unit
resampled), and per seed on that seed's differences.  That CI treats the seeds as fixed;
``seed_ci95`` treats them as a random sample instead: Student's t interval
(``scipy.stats.t``, n - 1 degrees of freedom) over the per-seed mean differences, wide when
the seed moves the result more than the images do.  A library does the resampling; only
the pairing and the tables are written here.
"""
from __future__ import annotations

import inspect
from typing import Dict, List

import numpy as np
from scipy import stats as sps

N_RESAMPLES = 10_000


def _rng_kw(seed: int) -> dict:
    """scipy renamed ``random_state`` to ``rng`` (1.15); pass whichever this scipy has."""
    params = inspect.signature(sps.bootstrap).parameters
    return {"rng" if "rng" in params else "random_state": np.random.default_rng(seed)}


def bootstrap_mean_ci(values, confidence: float = 0.95, seed: int = 0) -> List[float]:
    v = np.asarray(values, dtype=np.float64)
    if v.size < 2 or np.allclose(v, v[0]):
        return [float(v.mean()), float(v.mean())] if v.size else [float("nan")] * 2
    r = sps.bootstrap((v,), np.mean, confidence_level=confidence, n_resamples=N_RESAMPLES,
                      method="percentile", **_rng_kw(seed))
    return [float(r.confidence_interval.low), float(r.confidence_interval.high)]


def per_seed_images(runs: List[Dict]) -> Dict[int, Dict[str, float]]:
    """{seed: {image id: Dice}} from result runs that carry ``per_image``."""
    return {int(r["seed"]): {k: float(v) for k, v in r["per_image"].items()} for r in runs if "per_image" in r}


def paired_difference(base_runs: List[Dict], other_runs: List[Dict], seed: int = 0) -> Dict:
    """other - base: mean, 95 % CI (pooled and per seed), over the seeds and images both have."""
    a, b = per_seed_images(base_runs), per_seed_images(other_runs)
    seeds = sorted(set(a) & set(b))
    if not seeds:
        return {"seeds": [], "n_images": 0}
    ids = sorted(set.intersection(*(set(a[s]) & set(b[s]) for s in seeds)))
    D = np.array([[b[s][i] - a[s][i] for i in ids] for s in seeds])
    pooled = D.mean(0)
    ci = bootstrap_mean_ci(pooled, seed=seed)
    per = []
    for k, s in enumerate(seeds):
        c = bootstrap_mean_ci(D[k], seed=seed + 1 + s)
        per.append({"seed": s, "diff": float(D[k].mean()), "ci95": c})
    return {"seeds": seeds, "n_images": len(ids), "diff": float(pooled.mean()), "ci95": ci,
            "excludes_zero": bool(ci[0] > 0 or ci[1] < 0),
            "seed_diff_sd": float(D.mean(1).std(ddof=1)) if len(seeds) > 1 else None,
            "seed_ci95": seed_t_ci(D.mean(1)) if len(seeds) > 1 else None,
            "seeds_positive": int((D.mean(1) > 0).sum()),
            "per_seed": per, "method": "scipy.stats.bootstrap percentile, 10000 resamples over test images"}


def seed_t_ci(values, confidence: float = 0.95) -> List[float]:
    """Student's t interval of the mean of ``values`` (one per seed); NaNs with < 2 values."""
    v = np.asarray(values, dtype=np.float64)
    if v.size < 2:
        return [float("nan")] * 2
    m, se = float(v.mean()), float(v.std(ddof=1) / np.sqrt(v.size))
    if se == 0:
        return [m, m]
    lo, hi = sps.t.interval(confidence, v.size - 1, loc=m, scale=se)
    return [float(lo), float(hi)]


def verdict(p: Dict) -> str:
    if not p.get("seeds"):
        return "no paired runs"
    lo, hi = p["ci95"]
    if lo > 0:
        return "better (CI above 0)"
    if hi < 0:
        return "worse (CI below 0)"
    return "no clear difference (CI spans 0)"
