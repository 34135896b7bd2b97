#!/usr/bin/env python3
"""Summarises critest's JUnit reports: passed/failed/skipped per spec area and target.

    summary.py --version V --out summary.md [--expected-dir DIR] TARGET=REPORT.xml...

Writes the area table and, below it, every spec with its result per target. With --expected-dir, a spec
listed in DIR/expected-pass-TARGET.txt that did not pass on TARGET makes the exit status 1.
"""
import argparse
import datetime
import re
import sys
import xml.etree.ElementTree as ET

# (area, pattern on the spec name without "[It] [k8s.io] "): the first match wins.
AREAS = [
    ("Runtime info", r"^Runtime info"),
    ("Benchmarks (run only with critest --benchmark)", r"benchmark"),
    ("Sysctls", r"^PodSandbox runtime should support sysctls"),
    ("Pod sandbox", r"^PodSandbox"),
    ("Exec sync", r"^Container runtime should support basic operations.*execSync"),
    ("Container stats", r"^Container runtime should support basic operations.*stats"),
    ("Container lifecycle", r"^Container runtime should support basic operations"),
    ("Volumes", r"^Container runtime should support adding volume"),
    ("Logs", r"^Container runtime should support log"),
    ("OOM", r"^Container OOM"),
    ("Mount propagation", r"^Container Mount Propagation"),
    ("Read-only mounts", r"^Container Mount Readonly"),
    ("Idempotence", r"^Idempotence"),
    ("Image service", r"^Image Manager"),
    ("Streaming exec", r"^Streaming .*exec"),
    ("Attach", r"^Streaming .*attach"),
    ("Port forward", r"^Streaming .*portforward"),
    ("DNS and hostname", r"^Networking .*(DNS|hostname)"),
    ("Port mapping", r"^Networking .*port mapping"),
    ("Multiple containers", r"^Multiple Containers"),
    ("Namespace options", r"^Security Context NamespaceOption"),
    ("Security context", r"^Security Context bucket"),
    ("Supplemental groups policy", r"^Security Context SupplementalGroupsPolicy"),
    ("Seccomp", r"^Security Context SeccompProfilePath"),
    ("NoNewPrivs", r"^Security Context NoNewPrivs"),
    ("User namespaces", r"^Security Context UserNamespaces"),
    ("AppArmor", r"^AppArmor"),
]


def spec_name(raw):
    return re.sub(r"^\[It\] (\[k8s\.io\] )?", "", raw).strip()


def area_of(name):
    for area, pattern in AREAS:
        if re.search(pattern, name):
            return area
    return "Other"


def results(path):
    """spec name -> passed | failed | skipped, from a Ginkgo JUnit report."""
    out = {}
    for tc in ET.parse(path).iter("testcase"):
        raw = tc.get("name", "")
        if not raw.startswith("[It]"):
            continue  # [BeforeSuite], [AfterSuite], [SynchronizedBeforeSuite], ...
        status = tc.get("status")
        if status is None:
            status = (
                "failed"
                if tc.find("failure") is not None or tc.find("error") is not None
                else "skipped" if tc.find("skipped") is not None else "passed"
            )
        if status in ("pending",):
            status = "skipped"
        if status in ("panicked", "interrupted", "timedout", "aborted"):
            status = "failed"
        out[spec_name(raw)] = status
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--version", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--expected-dir")
    ap.add_argument("reports", nargs="+", help="TARGET=REPORT.xml")
    a = ap.parse_args()

    targets = []
    res = {}
    for r in a.reports:
        t, path = r.split("=", 1)
        targets.append(t)
        res[t] = results(path)
    specs = sorted({s for t in targets for s in res[t]})
    order = [area for area, _ in AREAS] + ["Other"]
    areas = {}
    for s in specs:
        areas.setdefault(area_of(s), []).append(s)

    lines = [
        f"critest {a.version}, {datetime.date.today().isoformat()}: passed / failed / skipped per spec area",
        "",
        "| area | specs | " + " | ".join(targets) + " |",
        "|---|---|" + "---|" * len(targets),
    ]

    def counts(t, names):
        c = {"passed": 0, "failed": 0, "skipped": 0}
        for s in names:
            st = res[t].get(s)
            if st:
                c[st] += 1
        return c

    for area in order:
        if area not in areas:
            continue
        names = areas[area]
        cells = []
        for t in targets:
            c = counts(t, names)
            cells.append(f"{c['passed']} / {c['failed']} / {c['skipped']}")
        lines.append(f"| {area} | {len(names)} | " + " | ".join(cells) + " |")
    totals = []
    for t in targets:
        c = counts(t, specs)
        totals.append(f"**{c['passed']} / {c['failed']} / {c['skipped']}**")
    lines.append(f"| **all** | {len(specs)} | " + " | ".join(totals) + " |")
    lines += ["", "| spec | " + " | ".join(targets) + " |", "|---|" + "---|" * len(targets)]
    for area in order:
        for s in areas.get(area, []):
            cell = s.replace("|", "\\|")
            lines.append(f"| {cell} | " + " | ".join(res[t].get(s, "-") for t in targets) + " |")
    text = "\n".join(lines) + "\n"
    with open(a.out, "w") as f:
        f.write(text)
    print("\n".join(lines[: lines.index("") + 3 + len(areas) + 1]))

    bad = []
    for t in targets:
        c = counts(t, specs)
        print(f"critest {t}: {c['passed']} passed, {c['failed']} failed, {c['skipped']} skipped")
        if a.expected_dir:
            try:
                with open(f"{a.expected_dir}/expected-pass-{t}.txt") as f:
                    expected = [l.strip() for l in f if l.strip() and not l.startswith("#")]
            except FileNotFoundError:
                continue
            for s in expected:
                if res[t].get(s) == "failed":
                    bad.append(f"{t}: {s}: {res[t][s]}")
    if bad:
        print("critest: specs that passed before and do not now:", file=sys.stderr)
        for b in bad:
            print("  " + b, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
