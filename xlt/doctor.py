"""Which language toolchains are here, their versions, and whether each one runs a program.

    python -m xlt.doctor            # all 22 languages
    python -m xlt.doctor py cpp go  # some

For each language: its tier (ci: installed by `make setup` and tested in CI),
the executable found, the toolchain's version, and the status of a tiny passing
program (`Language.smoke`) run through the sandboxed engine. Also says whether
programs run without network and under their own uid. Exit status 1 when a
CI-tier language does not run.
"""

from __future__ import annotations

import sys
import tempfile

from xlt.execution.engine import Executor
from xlt.execution.toolchains import resolve, version
from xlt.execution.types import OK, TOOLCHAIN_MISSING, Job
from xlt.languages import LANGUAGES, check_language


def rows(codes: list[str]) -> list[dict[str, str]]:
    with (
        tempfile.TemporaryDirectory() as cache_dir,
        Executor(cache_dir=cache_dir, use_cache=False) as executor,
    ):
        jobs = [Job(code, LANGUAGES[code].smoke, id=code) for code in codes]
        results = executor.run(jobs)
        isolation = (
            f"network: {'cut (' + ' '.join(executor.sandbox.net_prefix) + ')' if executor.sandbox.network_isolated else 'NOT isolated'}; "
            f"uid: {'one unprivileged uid per worker' if executor.sandbox.drop_privileges else 'the caller (not root)'}"
        )
    table = []
    for code, result in zip(codes, results, strict=True):
        language = LANGUAGES[code]
        toolchain = resolve(language)
        first_tool = next(iter(language.tools))
        table.append({
            "code": code,
            "language": language.name,
            "tier": "ci" if language.ci else "extra",
            "executable": toolchain.paths.get(first_tool, "-"),
            "version": version(language) if toolchain.present else "missing: " + ", ".join(toolchain.missing),
            "runs": "yes" if result.status == OK else result.status,
            "detail": "" if result.status in (OK, TOOLCHAIN_MISSING) else (result.stderr or result.stdout).strip().splitlines()[-1:][0][:80] if (result.stderr or result.stdout).strip() else "",
        })  # fmt: skip
    table.append({"code": "", "language": isolation})
    return table


def main(argv: list[str] | None = None) -> int:
    codes = [
        check_language(code, "language") for code in (argv if argv is not None else sys.argv[1:])
    ]
    table = rows(codes or list(LANGUAGES))
    isolation = table.pop()["language"]
    columns = ("code", "language", "tier", "runs", "version", "executable")
    widths = {c: max(len(c), *(len(row[c]) for row in table)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    for row in table:
        print(
            "  ".join(row[c].ljust(widths[c]) for c in columns)
            + (f"  ({row['detail']})" if row["detail"] else "")
        )
    print(isolation)
    broken = [row["code"] for row in table if row["tier"] == "ci" and row["runs"] != "yes"]
    if broken:
        print(f"CI-tier languages that do not run: {' '.join(broken)} (run `make toolchains`)")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
