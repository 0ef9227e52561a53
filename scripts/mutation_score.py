"""Print the share of mutants the tests kill in each measured module (`make mutate`).

Reads the results mutmut keeps in mutants/<path>.meta. A mutant counts as killed when a test
failed, or when the run hung and was stopped (a timeout: the change did not go unnoticed).
Exits 1 when a module is below MINIMUM, or when mutants were never run.

Usage: scripts/mutation_score.py [--minimum 95]
"""

import argparse
import json
import sys
from pathlib import Path

from mutmut.stats import status_by_exit_code

MINIMUM = 95.0

# Module -> the mutated functions that count (None: all of them). accounts/services/linking.py
# holds more than the removal token; only its part of that code is measured. billing/tax.py's
# `_rates` builds the RATES table once, at import: mutmut's workers fork from a process that
# imported the original, so its mutants are never active and would count as survivors whatever
# the tests (run with the mutant active from the import, the tests kill all eight).
MODULES: dict[str, tuple[str, ...] | None] = {
    "accounts/rights.py": None,
    "outages/gate.py": None,
    "accounts/removal_links.py": None,
    "accounts/notifications.py": None,
    "accounts/services/linking.py": (
        "_create_link",
        "_create_notices",
        "remove_link_with_token",
        "_audit_refused_removal",
    ),
    "billing/money.py": None,
    "billing/tax.py": ("rates_on", "taxed"),
    "billing/services/invoices.py": None,
    "billing/services/charges.py": None,
    "portal/outbox/sending.py": None,
    "portal/outbox/queue.py": None,
}

# The mutant name patterns `make mutate` passes to `mutmut run`: the same selection as MODULES
# ("accounts.rights.*", or one pattern per counted function: "billing.tax.x_taxed__mutmut_*").
MUTANT_PATTERNS = tuple(
    pattern
    for module, functions in MODULES.items()
    for dotted in [module.removesuffix(".py").replace("/", ".")]
    for pattern in (
        [f"{dotted}.*"]
        if functions is None
        else [f"{dotted}.x_{name}__mutmut_*" for name in functions]
    )
)

DETECTED = {"killed", "timeout"}


def function_of(mutant: str) -> str:
    """`accounts.rights.x_can__mutmut_3` -> `can`; methods keep their class (`Closure.until`)."""
    mangled = mutant.rsplit("__mutmut_", 1)[0].rsplit(".", 1)[1]
    if mangled.startswith("xǁ"):
        return mangled.removeprefix("xǁ").replace("ǁ", ".")
    return mangled.removeprefix("x_")


def results_of(module: str, functions: tuple[str, ...] | None) -> dict[str, int | None]:
    meta = Path("mutants") / f"{module}.meta"
    if not meta.exists():
        return {}
    exit_codes: dict[str, int | None] = json.loads(meta.read_text())["exit_code_by_key"]
    return {
        mutant: code
        for mutant, code in exit_codes.items()
        if functions is None or function_of(mutant) in functions
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minimum", type=float, default=MINIMUM)
    parser.add_argument("--patterns", action="store_true", help="print the mutant patterns")
    args = parser.parse_args()
    if args.patterns:
        print(" ".join(MUTANT_PATTERNS))
        return 0
    failed = False
    for module, functions in MODULES.items():
        results = results_of(module, functions)
        status = {mutant: status_by_exit_code[code] for mutant, code in results.items()}
        killed = sum(s in DETECTED for s in status.values())
        score = 100.0 * killed / len(results) if results else 0.0
        scope = f" ({', '.join(functions)})" if functions else ""
        print(f"{module}{scope}: {killed}/{len(results)} killed, {score:.1f}%")
        for mutant in sorted(m for m, s in status.items() if s not in DETECTED):
            print(f"    {status[mutant]}: {mutant}")
        not_run = "not checked" in status.values()
        failed |= not results or not_run or score < args.minimum
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
