"""Writes the results page (results.md) and its plot (results.svg) from the
figures bench/harness.py measured. Standard library only: the SVG is
written by hand."""

from __future__ import annotations

from html import escape
from pathlib import Path

MB = 1_000_000

DATASET_TITLES = {
    "clicks": "clickstream (`acme.clicks.Click`)",
    "telemetry": "telemetry (`acme.telemetry.Report`)",
}

ORDER = ["inflate", "protoland_2", "protoland_1", "pq", "reflect", "python"]


def fmt_ratio(x: float) -> str:
    return f"{x:.2f}x" if x < 10 else f"{x:.0f}x"


def verdict(ok: bool) -> str:
    return "**pass**" if ok else "**FAIL**"


def mbps(rec: dict | None) -> float | None:
    return rec.get("mb_per_s") if rec else None


def target_rows(results: dict, targets: dict) -> list[list[str]]:
    rows = []
    nm = results.get("not_measured", {})
    for ds, records in results.get("throughput", {}).items():
        name = DATASET_TITLES.get(ds, ds)
        inflate = mbps(records.get("inflate"))
        one = mbps(records.get("protoland_1"))
        two = mbps(records.get("protoland_2"))
        reflect = mbps(records.get("reflect"))
        python = mbps(records.get("python"))

        def row(label, num, den, num_name, den_name, target, recs=records):
            if num is None or den is None:
                missing = [n for n, v in ((num_name, num), (den_name, den)) if v is None]
                reasons = [why(results, recs, m) for m in missing]
                rows.append([label, name, "not measured: " + "; ".join(reasons), f"≥ {target:g}x", "—"])
                return
            ratio = num / den
            rows.append([
                label,
                name,
                f"{fmt_ratio(ratio)} ({num:.0f} vs {den:.1f} MB/s)",
                f"≥ {target:g}x",
                verdict(ratio >= target),
            ])

        row("protoland, 1 core ÷ inflate alone", one, inflate, "protoland_1", "inflate", targets["one_core_vs_inflate"])
        row("protoland, 2 cores ÷ inflate alone", two, inflate, "protoland_2", "inflate", targets["two_cores_vs_inflate"])
        row("protoland, 1 core ÷ prost-reflect + serde_json", one, reflect, "protoland_1", "reflect", targets["vs_reflect"])
        row("protoland, 1 core ÷ Python upb + json_format", one, python, "protoland_1", "python", targets["vs_python"])

        # The deployed path (object to landing object) at the default output
        # compression, and gzip's scaling when gzip is not the default.
        deployed = results.get("deployed", {}).get(ds)
        if deployed is not None:
            both = {**records, **deployed}
            default = results.get("deployed_default_output", "gzip")
            d1 = mbps(deployed.get(f"protoland_{default}_1"))
            d2 = mbps(deployed.get(f"protoland_{default}_2"))
            row(f"landing {default} (the default), 1 core ÷ inflate alone", d1, inflate,
                f"protoland_{default}_1", "inflate", targets["deployed_one_core_vs_inflate"], both)
            row(f"landing {default} (the default), 2 cores ÷ 1 core", d2, d1,
                f"protoland_{default}_2", f"protoland_{default}_1", targets["deployed_two_cores_vs_one"], both)
            p1 = mbps(deployed.get("protoland_parquet_1"))
            if p1 is not None or "protoland_parquet_2" in deployed:
                row("landing Parquet, 1 core ÷ inflate alone", p1, inflate, "protoland_parquet_1", "inflate",
                    targets["parquet_one_core_vs_inflate"], both)
                row("landing Parquet, 1 core ÷ Python protarrow", p1, mbps(deployed.get("python_parquet_1")),
                    "protoland_parquet_1", "python_parquet_1", targets["parquet_vs_python"], both)
                pq_bytes = deployed.get("protoland_parquet_1", {}).get("landed_bytes")
                gz_bytes = deployed.get("protoland_gzip_1", {}).get("landed_bytes")
                if pq_bytes and gz_bytes:
                    share = pq_bytes / gz_bytes
                    rows.append([
                        "landing Parquet bytes ÷ gzip'd NDJSON bytes", name,
                        f"{share:.2f}x ({pq_bytes / MB:.1f} vs {gz_bytes / MB:.1f} MB)",
                        f"≤ {targets['parquet_bytes_vs_gzip_ndjson']:g}x",
                        verdict(share <= targets["parquet_bytes_vs_gzip_ndjson"]),
                    ])
            if default != "gzip":
                g1, g2 = mbps(deployed.get("protoland_gzip_1")), mbps(deployed.get("protoland_gzip_2"))
                row("landing gzip, 2 cores ÷ 1 core", g2, g1, "protoland_gzip_2", "protoland_gzip_1",
                    targets["deployed_two_cores_vs_one"], both)

    mem = results.get("memory_cli")
    if mem:
        rows.append([
            "peak RSS, `protoland convert`",
            f"{mem['uncompressed_bytes'] / (1 << 30):.2f} GiB multi-member gzip",
            f"{mem['peak_rss_mib']:.1f} MiB",
            f"≤ {targets['rss_mib']:g} MiB",
            verdict(mem["peak_rss_mib"] <= targets["rss_mib"]),
        ])
    else:
        rows.append(["peak RSS, `protoland convert`", "1 GiB multi-member gzip",
                     "not measured: " + short(nm.get("peak RSS, protoland convert", "")), f"≤ {targets['rss_mib']:g} MiB", "—"])
    for suffix, label, target in (("", "", "worker_rss_mib"), ("_parquet", " (Parquet)", "worker_parquet_rss_mib")):
        wk = results.get("memory_worker" + suffix)
        what = f"peak RSS, `protoland worker`{label} (S3 + SQS on moto)"
        if wk:
            rows.append([
                what,
                f"one {wk['uncompressed_bytes'] / (1 << 30):.2f} GiB object",
                f"{wk['peak_rss_mib']:.1f} MiB",
                f"≤ {targets[target]:g} MiB",
                verdict(wk["peak_rss_mib"] <= targets[target]),
            ])
        elif suffix == "" or nm.get(f"peak RSS, protoland worker{label}"):
            rows.append([what, "one 1 GiB object",
                         "not measured: " + short(nm.get(f"peak RSS, protoland worker{label}", "")),
                         f"≤ {targets[target]:g} MiB", "—"])
    lz = results.get("lambda_zip")
    if lz:
        size = lz["bytes"] / MB
        note = "" if lz["machine"] == "aarch64" else f" (bootstrap is {lz['machine']}!)"
        rows.append(["Lambda package (arm64 zip)", "`deploy/build`", f"{size:.2f} MB{note}",
                     f"≤ {targets['zip_mb']:g} MB", verdict(size <= targets["zip_mb"] and lz["machine"] == "aarch64")])
    else:
        rows.append(["Lambda package (arm64 zip)", "`deploy/build`",
                     "not measured: " + short(nm.get("arm64 zip size", "")), f"≤ {targets['zip_mb']:g} MB", "—"])
    cs = results.get("cold_start")
    if cs:
        rows.append(["cold start to first poll", f"median of {len(cs['runs'])}", f"{cs['median_ms']:.1f} ms",
                     f"≤ {targets['cold_start_ms']:g} ms", verdict(cs["median_ms"] <= targets["cold_start_ms"])])
    else:
        rows.append(["cold start to first poll", "median of 20",
                     "not measured: " + short(nm.get("cold start", "")), f"≤ {targets['cold_start_ms']:g} ms", "—"])
    return rows


def why(results: dict, records: dict, key: str) -> str:
    rec = records.get(key)
    if rec and rec.get("error"):
        return f"{key} failed ({short(rec['error'])})"
    nm = results.get("not_measured", {})
    if key.startswith("protoland") and "protoland convert" in nm:
        return short(nm["protoland convert"])
    if key in nm:
        return short(nm[key])
    return f"{key} did not run"


def short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def table(header: list[str], rows: list[list[str]]) -> str:
    def clean(cell: str) -> str:
        return str(cell).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(clean(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def write(results: dict, out_dir: Path, targets: dict) -> None:
    env = results.get("environment", {})
    quick = results.get("profile") == "quick"
    md = ["# Benchmark results", ""]
    md.append(
        f"Written by `bench/run{' --quick' if quick else ''}` on {env.get('date', '?')} at commit "
        f"{env.get('commit', '?')}; how to run it and how each figure is computed: [README.md](README.md)."
    )
    md.append("")
    if quick:
        md += ["> **Smoke run (`--quick`)**: small data and few rounds; these figures check that the harness "
               "works and prove nothing.", ""]
    load = env.get("load_before") or [0]
    if load[0] > 0.5 * (env.get("cores") or 2):
        md += [
            f"> **The machine was busy** (load average {fmt_load(env.get('load_before'))} before the run, "
            f"{fmt_load(env.get('load_after'))} after, on {env.get('cores')} cores): other work competed for the "
            "cores, so even the ratios are preliminary. Run `bench/run` on a quiet machine for figures to quote.",
            "",
        ]
    md.append(
        "Claims are **ratios measured in the same run on the same bytes**; absolute MB/s are for context "
        "only (a shared 2-core machine, see the load averages below). Throughput is megabytes (10^6 bytes) "
        "of *decompressed* protobuf input per second of wall time, from gzip'd varint-delimited input to "
        f"NDJSON on /dev/null; median of {results.get('runs')} alternating rounds."
    )
    md.append("")
    md += ["## Targets", ""]
    md.append(table(["target", "data", "measured", "target", "result"], target_rows(results, targets)))
    md.append("")
    if any(k.startswith("deployed") for k in results):
        md.append(
            "Why Parquet files are not smaller than this (the data's entropy, column by column): "
            "[docs/parquet.md](../parquet.md#how-small-the-files-get)."
        )
        md.append("")
    md += ["## Throughput", "", "![throughput per contender](results.svg)", ""]
    for ds, records in results.get("throughput", {}).items():
        data = results.get("data", {}).get(ds, {})
        full = data.get("full", {})
        md.append(f"### {DATASET_TITLES.get(ds, ds)}")
        md.append("")
        if full:
            md.append(
                f"`{full['file']}`: {full['messages']:,} messages, {full['uncompressed_bytes'] / MB:.0f} MB "
                f"decompressed, {full['compressed_bytes'] / MB:.1f} MB gzip'd "
                f"({full['uncompressed_bytes'] / full['messages']:.0f} bytes a message)."
            )
            md.append("")
        base = mbps(records.get("protoland_1"))
        rows = []
        for key in ORDER:
            rec = records.get(key)
            if not rec:
                continue
            if rec.get("error") or "mb_per_s" not in rec:
                rows.append([rec["label"], "failed: " + short(rec.get("error", "no run"), 120), "", "", "", ""])
                continue
            rel = fmt_ratio(base / rec["mb_per_s"]) if base else "—"
            rows.append([
                rec["label"],
                f"{rec['mb_per_s']:.1f}",
                rel if key != "protoland_1" else "1x",
                f"{rec['cpu_mb_per_s']:.1f}",
                f"{rec['peak_rss_mib']:.1f}" if rec.get("peak_rss_mib") else "?",
                f"{rec['spread'] * 100:.0f}%",
            ])
        md.append(table(
            ["contender", "MB/s (median)", "protoland (1 core) ÷ this", "MB/s per CPU-second",
             "peak RSS (MiB)", "spread (max−min)/median"],
            rows,
        ))
        md.append("")

    md += deployed_section(results)

    md += ["## Output check", ""]
    md.append(
        "Before timing, each contender converts a small file of each data set (the first ~200 KB) and its "
        "output is compared with Google's `json_format` (the Python contender), message by message, as "
        "parsed JSON values. A contender that printed something else is not doing the same job."
    )
    md.append("")
    rows = []
    for ds, chk in results.get("checks", {}).items():
        for key, res in chk["results"].items():
            rows.append([DATASET_TITLES.get(ds, ds), key, res["status"], short(res["detail"], 200)])
    if rows:
        md.append(table(["data", "contender", "vs json_format", "detail"], rows))
        md.append("")
    md.append(
        "pq prints its own JSON, not canonical ProtoJSON (proto field names, 64-bit integers as numbers, "
        "Timestamps as `{seconds, nanos}` objects, default values printed), so it is expected to differ; "
        "it is timed as the existing Rust tool for this job, not as an equivalent."
    )
    md.append("")

    md += ["## Memory", ""]
    mem = results.get("memory_cli")
    if mem:
        md.append(
            f"`protoland convert` (both cores) on `{mem['file']}`: {mem['uncompressed_bytes'] / (1 << 30):.2f} GiB "
            f"decompressed in {mem['members']} gzip members: peak RSS **{mem['peak_rss_mib']:.1f} MiB** "
            f"(VmHWM of the process, sampled), {mem['mb_per_s']:.0f} MB/s."
        )
    for suffix, what in (("", "gzip'd NDJSON (the default output)"), ("_parquet", "Parquet")):
        wk = results.get("memory_worker" + suffix)
        if not wk:
            continue
        landing = ", ".join(f"`{o['key']}` ({o['bytes'] / MB:.0f} MB)" for o in wk["landing"])
        unit = "rows" if suffix else "lines"
        md.append("")
        md.append(
            f"`protoland worker --until-empty` landing {what}, against moto's S3 + SQS on loopback, one object "
            f"(`{wk['object']}`, {wk['compressed_bytes'] / MB:.0f} MB gzip'd, "
            f"{wk['uncompressed_bytes'] / (1 << 30):.2f} GiB decompressed): peak RSS **{wk['peak_rss_mib']:.1f} MiB**, "
            f"{wk['wall']:.0f} s; landing: {landing}, {wk.get('landing_lines', 0):,} {unit} (one per message); "
            f"messages left on the queue: {wk['queue_left']}."
        )
    if results.get("memory_worker"):
        md.append("")
        md.append("The Lambda function runs the same handler in the memory it is deployed with (the template's default).")
    md.append("")

    md += ["## Lambda package and cold start", ""]
    lz, pz = results.get("lambda_zip"), results.get("python_zip")
    if lz:
        note = f" ({results['lambda_zip_note']})" if results.get("lambda_zip_note") else ""
        md.append(f"protoland-lambda, `{lz['file']}` (bootstrap: {lz['machine']}): **{lz['bytes'] / MB:.2f} MB**{note}.")
    if pz:
        md.append("")
        md.append(
            f"Python deployment package doing the same job (`bench/python/lambda_function.py` plus "
            f"`{pz['wheel']}`; boto3 comes with the runtime and is not counted): **{pz['bytes'] / MB:.2f} MB**"
            + (
                ""
                if not lz
                else f"; protoland's zip is {lz['bytes'] / pz['bytes']:.1f}x its size."
                if lz["bytes"] > pz["bytes"]
                else f", {pz['bytes'] / lz['bytes']:.1f}x protoland's."
            )
        )
    cs = results.get("cold_start")
    if cs:
        runs = ", ".join(f"{t:.1f}" for t in sorted(cs["runs"]))
        md.append("")
        md.append(
            f"Cold start, from exec of `protoland-lambda` ({cs['arch']} build on this machine) to its first "
            f"`GET /2018-06-01/runtime/invocation/next` on a runtime API served by the harness: median "
            f"**{cs['median_ms']:.1f} ms** (all runs, ms: {runs})."
        )
    md.append("")

    nm = results.get("not_measured", {})
    if nm:
        md += ["## Not measured", ""]
        for key, reason in nm.items():
            md.append(f"- **{key}**: not measured: {short(reason, 400)}")
        md.append("")

    md += ["## Environment", ""]
    rows = [[k, str(v)] for k, v in env.items() if k not in ("load_before", "load_after")]
    if "load_before" in env:
        rows.append(["load average before / after", f"{fmt_load(env['load_before'])} / {fmt_load(env.get('load_after'))}"])
    rows.append(["profile", f"{results.get('profile')} ({results.get('runs')} rounds)"])
    if "measure_seconds" in results:
        rows.append(["time", f"build {results.get('build_seconds', 0):.0f} s, data + measurements "
                             f"{results['measure_seconds']:.0f} s"])
    builds = results.get("builds", {})
    for pkg, status in builds.items():
        rows.append([f"build {pkg}", short(status, 200)])
    md.append(table(["", ""], rows))
    md.append("")
    (out_dir / "results.md").write_text("\n".join(md))
    (out_dir / "results.svg").write_text(svg(results))

def deployed_section(results: dict) -> list[str]:
    """The deployed path per data set, then what converting 1 TB costs on
    Lambda at the template's default memory."""
    deployed = results.get("deployed")
    if not deployed:
        return []
    md = ["## The deployed path: object to landing object", ""]
    md.append(
        "What the Lambda function does with an object: `protoland backfill DIR --landing OUT "
        "--output-compression X` (the function's handler: read, decompress, frame, transcode, compress, "
        "write) on a local directory holding the data file, into an empty landing directory; beside it "
        "the Python Lambda's conversion (`bench/python/lambda_function.py`: gunzip, `json_format`, "
        "gzip level 6) on the first slice of the same bytes, read from and landed to local files. "
        "CPU-seconds (user + system) and wall seconds per GB (10^9 bytes) of decompressed protobuf input "
        "(the Python function's per GB of its slice, start-up included as for every contender); "
        f"landed MB per GB of protobuf; median of {results.get('runs')} alternating rounds."
    )
    md.append("")
    for ds, records in deployed.items():
        md += [f"### {DATASET_TITLES.get(ds, ds)}", ""]
        rows = []
        for rec in records.values():
            if rec.get("error") or "median_wall" not in rec:
                rows.append([rec["label"], "failed: " + short(rec.get("error", "no run"), 120), "", "", "", "", "", ""])
                continue
            rows.append([
                rec["label"],
                f"{rec['mb_per_s']:.1f}",
                f"{rec['wall_s_per_gb']:.2f}",
                f"{rec['cpu_s_per_gb']:.2f}",
                f"{rec['landed_bytes'] / MB:.1f}",
                f"{rec['landed_bytes'] / rec['input_bytes'] * 1000:.0f}",
                f"{rec['peak_rss_mib']:.1f}" if rec.get("peak_rss_mib") else "?",
                f"{rec['spread'] * 100:.0f}%",
            ])
        md.append(table(
            ["contender", "MB/s (median)", "wall s per GB", "CPU-s per GB", "landed MB",
             "landed MB per GB of protobuf", "peak RSS (MiB)", "spread (max−min)/median"],
            rows,
        ))
        md.append("")
    md += cost_section(results)
    return md


def cost_section(results: dict) -> list[str]:
    """What converting 1 TB costs on Lambda at the template's default
    memory, priced from the 1-core CPU time: at that memory the function
    has one vCPU, and a conversion that keeps one core busy lasts about its
    CPU time. Wall time would do on a quiet machine; on a shared one it
    also counts the time spent waiting for the core."""
    price = results.get("lambda_price") or {}
    memory_mb = price.get("memory_mb")
    md = ["### Cost of converting 1 TB of protobuf on Lambda arm64", ""]
    if not memory_mb:
        return md + ["Not computed: the MemorySize default of `deploy/template.yaml` could not be read.", ""]
    usd = price["usd_per_gb_second"]
    dollars = f"${usd:.10f}".rstrip("0")
    memory_gb = memory_mb / 1024
    md.append(
        f"Lambda bills memory × duration. At the template's default of {memory_mb} MB the function has one "
        "vCPU, and converting keeps that core busy, so an object takes about the CPU time measured on one core "
        "above (CPU time rather than wall time, which on a shared machine also counts waiting for the core). "
        f"1 TB (10^12 bytes of decompressed protobuf) costs CPU-s per GB × 1000 × {memory_mb}/1024 GB × "
        f"{dollars} per GB-second (AWS Lambda {price['arch']}, {price['region']}, as published in "
        f"{price['as_of']}). Measured on this machine's cores ({results.get('environment', {}).get('cpu', '?')}), "
        "not on Graviton, and without S3 transfer time or request charges: the ratio to Python carries over, the "
        "dollars are an estimate."
    )
    md.append("")
    rows = []
    for ds, records in results.get("deployed", {}).items():
        for key, rec in records.items():
            if "cpu_s_per_gb" not in rec or rec["cores"] != 1:
                continue
            # Each output against the Python function doing the same job.
            same_job = "python_parquet_1" if rec.get("output") == "parquet" else "python_gzip_1"
            python = records.get(same_job, {}).get("cpu_s_per_gb")
            seconds = rec["cpu_s_per_gb"] * 1000
            rows.append([
                DATASET_TITLES.get(ds, ds),
                rec["label"],
                f"{seconds / 3600:.2f} h",
                f"{seconds * memory_gb:,.0f}",
                f"${seconds * memory_gb * usd:.2f}",
                "" if key.startswith("python") or not python else fmt_ratio(python / rec["cpu_s_per_gb"]),
            ])
    md.append(table(
        ["data", "function (1 vCPU)", "duration per TB", "GB-seconds per TB", f"cost per TB at {memory_mb} MB",
         "the Python function costs"],
        rows,
    ))
    md.append("")
    return md


def fmt_load(load) -> str:
    if not load:
        return "?"
    return " ".join(f"{x:.2f}" for x in load)


COLORS = {
    "inflate": "#9e9e9e",
    "protoland_1": "#1565c0",
    "protoland_2": "#0d47a1",
    "reflect": "#ef6c00",
    "pq": "#8e24aa",
    "python": "#c62828",
}


def svg(results: dict) -> str:
    """Horizontal bars, one panel per data set: MB/s of decompressed input
    per contender, labelled with the figure and protoland's (1 core) lead."""
    panels = [(ds, recs) for ds, recs in results.get("throughput", {}).items()]
    width, bar_h, gap, label_w, right = 920, 22, 8, 330, 150
    top = 64
    y = top
    parts = []
    max_v = max(
        (r.get("mb_per_s", 0) for _, recs in panels for r in recs.values()),
        default=1,
    ) or 1
    plot_w = width - label_w - right
    for ds, recs in panels:
        parts.append(
            f'<text x="16" y="{y + 14}" font-weight="bold" font-size="15">{escape(strip_md(DATASET_TITLES.get(ds, ds)))}</text>'
        )
        y += 26
        base = recs.get("protoland_1", {}).get("mb_per_s")
        for key in ORDER:
            rec = recs.get(key)
            if not rec:
                continue
            v = rec.get("mb_per_s")
            parts.append(
                f'<text x="{label_w - 10}" y="{y + bar_h * 0.72:.1f}" text-anchor="end" font-size="13">{escape(rec["label"])}</text>'
            )
            if v is None:
                parts.append(f'<text x="{label_w}" y="{y + bar_h * 0.72:.1f}" font-size="13" fill="#c62828">failed</text>')
            else:
                w = max(1.5, plot_w * v / max_v)
                parts.append(
                    f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{COLORS.get(key, "#555")}" rx="2"/>'
                )
                note = f"{v:.1f} MB/s" if v < 100 else f"{v:.0f} MB/s"
                inflate = recs.get("inflate", {}).get("mb_per_s")
                if base and key not in ("protoland_1", "protoland_2", "inflate"):
                    note += f"  (protoland {fmt_ratio(base / v)} faster)"
                elif inflate and key in ("protoland_1", "protoland_2"):
                    note += f"  ({v / inflate:.2f}x inflate alone)"
                parts.append(
                    f'<text x="{label_w + w + 6:.1f}" y="{y + bar_h * 0.72:.1f}" font-size="12">{escape(note)}</text>'
                )
            y += bar_h + gap
        y += 18
    height = y + 30
    env = results.get("environment", {})
    title = "protoland throughput: gzip'd varint-delimited protobuf → NDJSON"
    subtitle = "MB/s of decompressed protobuf input, higher is better"
    foot = (f"bench/run, {env.get('date', '')}, commit {env.get('commit', '')}, {env.get('cores', '?')} cores: "
            f"{env.get('cpu', '')}. Median of {results.get('runs')} alternating rounds; ratios are what count.")
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif">'
        f'<rect width="100%" height="100%" fill="white"/>'
        f'<text x="16" y="26" font-size="16" font-weight="bold">{escape(title)}</text>'
        f'<text x="16" y="44" font-size="12" fill="#555">{escape(subtitle)}</text>'
    )
    footer = f'<text x="16" y="{height - 12}" font-size="11" fill="#555">{escape(foot)}</text>'
    return head + "".join(parts) + footer + "</svg>\n"


def strip_md(text: str) -> str:
    return text.replace("`", "")
