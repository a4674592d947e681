"""Filtering allele frequency (FAF), computed the way gnomAD computes it.

The FAF of Whiffin et al. (2017) is the highest population allele frequency that is still
compatible with the observed allele count: the largest AF for which the observed AC lies
within the one-sided 95% (or 99%) Poisson interval of ``Poisson(AN * AF)``. Singletons and
absent alleles (AC <= 1) get 0.

gnomAD does not solve that equation in closed form. Its values come from Hail's
``hl.experimental.filtering_allele_frequency`` (``calcFilterAlleleFreq`` in Hail's
``is/hail/experimental/package.scala``), a numerical procedure whose result sits on a grid:

1. find where the Poisson quantile ``qpois(ci, AN * af)`` reaches ``AC - 1`` with Hail's
   Brent root search (``uniroot``, a port of R's ``zeroin``; tolerance 1e-7, bracket
   ``[1e-10, 2]``);
2. round that root to 1e-8;
3. step up by 1e-6 until ``qpois(ci, AN * af) >= AC`` and return the last value below, i.e.
   the step point minus 1e-6.

Hail's ``qpois`` is jdistlib's ``Poisson.quantile``, a Java port of an older R's ``qpois``
(:func:`hail_poisson_quantile`), which Hail still calls today. Below a mean of 1e5 it is
the exact quantile; from 1e5 on its coarse-then-fine search returns one more than its
Cornish-Fisher start whenever that start already reaches ``p`` (one above the exact
quantile about half the time). The root search evaluates the quantile at ``AN * 2``
first, so this can change its iterates for any AN above 50,000, and with them the root
and the grid phase of step 3.

The root search runs on a step function, so the result depends on its exact iterates; to
reproduce gnomAD's numbers to six significant digits (what the VCFs print) this module
follows Hail's control flow step by step. :func:`exact_filtering_af` gives the closed-form
bound for comparison.

Step 3 makes the value the bound rounded down onto a 1e-6 grid (whose phase the root sets):
at most 1e-6 below :func:`exact_filtering_af` while ``AN * AF`` is below 1e5, and where
it is above, possibly one quantile step (about ``1 / AN``) lower still.

This reproduces every faf95/faf99 field (each group, XX/XY, joint, non_ukb, subsets) of
the real gnomAD r2.1.1, v3.1.1, v3.1.2 and v4.0 excerpts to gnomAD's six printed digits.
gnomAD r2.1.1 was computed by the Hail of 2018, which had two more quirks: its step 3 used
the 95% quantile whatever ``ci`` was (``stop_confidence=0.95`` reproduces r2.1.1's faf99
values), and it did not zero singletons, which some r2.1.1 fields show
(``singletons=True``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache
from typing import Final

#: Hail's defaults for calcFilterAlleleFreq (bracket, root tolerance, step).
LOWER: Final = 1e-10
UPPER: Final = 2.0
TOLERANCE: Final = 1e-7
PRECISION: Final = 1e-6

_EPS: Final = 2.2204460492503131e-16  # Hail's (and R's) DBL_EPSILON
_MAX_ITERATIONS: Final = 1001
_REPEATED_ADDITION_LIMIT: Final = 200_000  # beyond this, j * step replaces j additions


def poisson_quantile(p: float, lam: float) -> int:
    """Smallest ``k`` with ``P(X <= k) >= p`` for ``X ~ Poisson(lam)`` (R's ``qpois``).

    Like R (and jdistlib, which Hail calls), ``p`` is reduced by 64 machine epsilons so
    that a probability computed a hair below ``p`` still counts.

    >>> poisson_quantile(0.95, 0.0), poisson_quantile(0.95, 1.0), poisson_quantile(0.95, 100.0)
    (0, 3, 117)
    """
    if lam <= 0.0:
        return 0
    from scipy.special import ndtri, pdtr  # here, not at import: the CLI starts faster

    target = p * (1.0 - 64.0 * _EPS)
    sigma = math.sqrt(lam)
    z = float(ndtri(p))
    # Cornish-Fisher start, then an exact search (the answer does not depend on the start)
    k = max(0.0, math.floor(lam + sigma * (z + (z * z - 1.0) / (6.0 * sigma)) + 0.5))
    if float(pdtr(k, lam)) >= target:
        while k > 0.0 and float(pdtr(k - 1.0, lam)) >= target:
            k -= 1.0
    else:
        k += 1.0
        while float(pdtr(k, lam)) < target:
            k += 1.0
    return int(k)


def hail_poisson_quantile(p: float, lam: float) -> int:
    """``qpois(p, lam)`` as Hail computes it (jdistlib's port of an older R's ``qpois``).

    Like :func:`poisson_quantile` below a mean of 1e5. From 1e5 on, the search first moves
    from the Cornish-Fisher start ``y0`` in steps of ``floor(y0 / 1000)``, then in steps of
    1, but the second pass picks its direction from the probability the first pass last
    computed. When ``P(X <= y0) >= p`` the first pass stops at ``y0`` having computed a
    probability below ``p`` one coarse step to the left, and the second pass then moves
    right once: the result is ``y0 + 1``, which is one above the exact quantile when ``y0``
    was exact. Otherwise (start below ``p``) both passes end on the exact quantile.

    >>> hail_poisson_quantile(0.95, 1211.96), poisson_quantile(0.95, 1211.96)
    (1270, 1270)
    >>> hail_poisson_quantile(0.99, 146600.0), poisson_quantile(0.99, 146600.0)
    (147492, 147491)
    """
    if lam <= 0.0:
        return 0
    from scipy.special import ndtri, pdtr

    target = p * (1.0 - 64.0 * _EPS)
    sigma = math.sqrt(lam)
    z = float(ndtri(p))
    # jdistlib rounds the start half to even (Java's rint), as Python's round does
    y = float(round(lam + sigma * (z + (z * z - 1.0) / (6.0 * sigma))))
    below = float(pdtr(y, lam)) < target  # direction of the next pass
    increments = [1.0]
    if lam >= 1e5:
        increments = [math.floor(y * 0.001)]
        while increments[-1] > 1.0:
            increments.append(max(1.0, math.floor(increments[-1] / 100.0)))
    for incr in increments:
        if below:  # move right until P(X <= y) reaches the target
            while True:
                y += incr
                if float(pdtr(y, lam)) >= target:
                    below = False
                    break
        else:  # move left while the point one step left still reaches the target
            while True:
                if y == 0.0:
                    break
                if float(pdtr(y - incr, lam)) < target:
                    below = True  # the last probability computed was below the target
                    break
                y = max(0.0, y - incr)
    return int(y)


def _brent_root(f: Callable[[float], float], lower: float, upper: float,
                tol: float) -> float | None:
    """A root of ``f`` in ``[lower, upper]`` by Brent's method, iterate for iterate as
    Hail's ``uniroot`` runs it (which computes the tolerance and the bisection step
    before, not after, swapping the endpoints). None after 1001 iterations."""
    a, b = lower, upper
    fa, fb = f(a), f(b)
    c, fc = a, fa
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    for _ in range(_MAX_ITERATIONS):
        previous_step = b - a
        tol_act = 2.0 * _EPS * abs(b) + tol / 2.0
        new_step = (c - b) / 2.0
        if abs(fc) < abs(fb):  # make b the best approximation so far
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        if abs(new_step) <= tol_act or fb == 0.0:
            return b
        if abs(previous_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:  # two distinct points: secant step
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:  # inverse quadratic interpolation
                q = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0.0:
                q = -q
            else:
                p = -p
            if p < 0.75 * cb * q - abs(tol_act * q) / 2.0 and p < abs(previous_step * q / 2.0):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0.0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = f(b)
        if (fb > 0.0 and fc > 0.0) or (fb < 0.0 and fc < 0.0):
            c, fc = a, fa
    return None


def filtering_af(ac: int, an: int, confidence: float = 0.95, *,
                 stop_confidence: float | None = None, singletons: bool = False) -> float:
    """gnomAD's filtering allele frequency for ``ac`` alleles out of ``an`` (a fraction).

    ``confidence`` is 0.95 for ``faf95`` and 0.99 for ``faf99``. 0 when ``ac <= 1`` or
    ``an == 0``. Two switches reproduce what older Hail versions wrote into gnomAD r2.1.1:
    ``stop_confidence=0.95`` (its final stepping always used the 95% quantile; the default,
    None, uses ``confidence`` as v3, v4 and current Hail do) and ``singletons=True`` (an
    AC of 1 was not yet zeroed; some r2.1.1 fields hold such values).

    gnomAD v4.0 exomes, chr1:55039894 G>C (PCSK9), AC_afr 5 of AN_afr 32576: the file's
    faf95_afr is 5.98000e-05 and faf99_afr 3.84500e-05:

    >>> f"{filtering_af(5, 32576):.6g}", f"{filtering_af(5, 32576, 0.99):.6g}"
    ('5.98e-05', '3.845e-05')
    >>> filtering_af(1, 84162), filtering_af(0, 0)
    (0.0, 0.0)
    """
    if ac < 0 or an < 0:
        msg = f"allele count and number must not be negative (AC={ac}, AN={an})"
        raise ValueError(msg)
    if ac > an:
        msg = f"allele count {ac} is above the allele number {an}"
        raise ValueError(msg)
    return _filtering_af(int(ac), int(an), float(confidence),
                         float(confidence if stop_confidence is None else stop_confidence),
                         singletons)


@lru_cache(maxsize=65536)
def _filtering_af(ac: int, an: int, ci: float, stop_ci: float, singletons: bool) -> float:
    if ac <= (0 if singletons else 1) or an == 0:
        return 0.0
    target = float(ac - 1)

    def distance(af: float) -> float:
        return target - hail_poisson_quantile(ci, an * af)

    root = _brent_root(distance, LOWER, UPPER, TOLERANCE)
    rounder = 1.0 / (PRECISION / 100.0)
    start = math.floor((0.0 if root is None else root) * rounder + 0.5) / rounder
    # Smallest j >= 0 with qpois(stop_ci, an * (start + j * step)) >= ac; the quantile only
    # grows with af (Hail's too: its start and the exact quantile both do), so a doubling
    # then bisecting search finds the j Hail's loop stops at.
    def reached(j: int) -> bool:
        af = start + j * PRECISION
        return af != 0.0 and hail_poisson_quantile(stop_ci, an * af) >= ac

    if reached(0):
        steps = 0
    else:
        low, high = 0, 1
        while not reached(high):
            low, high = high, high * 2
        while high - low > 1:
            mid = (low + high) // 2
            if reached(mid):
                high = mid
            else:
                low = mid
        steps = high
    if steps <= _REPEATED_ADDITION_LIMIT:  # Hail adds the step once per turn: same rounding
        value = start
        for _ in range(steps):
            value += PRECISION
    else:
        value = start + steps * PRECISION
    return value - PRECISION


def exact_filtering_af(ac: int, an: int, confidence: float = 0.95) -> float:
    """The closed-form bound: the AF at which ``P(X >= ac | Poisson(an * AF)) = 1 -
    confidence``; 0 when ``ac <= 1`` or ``an == 0``. For comparison with
    :func:`filtering_af`, which is what gnomAD publishes.

    >>> f"{exact_filtering_af(5, 32576):.6g}"   # gnomAD's value is 5.98e-05
    '6.04786e-05'

    """
    if ac <= 1 or an == 0:
        return 0.0
    from scipy.special import gammainccinv

    # P(X >= ac) is the regularized lower incomplete gamma P(ac, lam)
    return float(gammainccinv(ac, confidence)) / an
