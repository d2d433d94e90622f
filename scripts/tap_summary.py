#!/usr/bin/env python3
"""Count test cases in meson testlog.json files from their TAP output.

Prints each failing case, then the closing line "N passed, N failed".
Exits 1 if anything failed or no test ran at all.
"""
import json
import re
import sys

OK = re.compile(r"^ok\b")
NOT_OK = re.compile(r"^not ok\b")


def main(paths):
    passed = failed = 0
    failures = []
    for path in paths:
        build = path.split("/")[0]
        with open(path) as f:
            for line in f:
                if not line.strip():
                    continue
                t = json.loads(line)
                out = t.get("stdout") or ""
                ok = sum(1 for l in out.splitlines() if OK.match(l))
                bad_lines = [l for l in out.splitlines() if NOT_OK.match(l)]
                if ok == 0 and not bad_lines:
                    # Not a TAP program (or it printed nothing): one case.
                    if t["result"] in ("OK", "EXPECTEDFAIL", "SKIP"):
                        ok = 1
                    else:
                        bad_lines = ["(whole program) " + t["result"]]
                elif t["result"] not in ("OK", "EXPECTEDFAIL", "SKIP") and not bad_lines:
                    # Crashed or timed out after some passing cases.
                    bad_lines = ["(program) %s after %d passing cases" % (t["result"], ok)]
                passed += ok
                failed += len(bad_lines)
                failures += ["%s %s: %s" % (build, t["name"], l) for l in bad_lines]
    for f in failures:
        print("FAILED:", f)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
