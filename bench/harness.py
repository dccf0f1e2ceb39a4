"""The benchmark driver behind `bench/run` (see docs/bench/README.md).

Builds what it needs, generates the data, runs every contender on the same
bytes in the same run (alternating contenders, several rounds, median),
measures memory, package size and cold start, and writes the results page
and its plot. Whatever cannot be measured is reported as "not measured"
with the reason; nothing is invented.

Standard library only (plus Google's protobuf for the Python contender and
moto/boto3 for the worker measurement, both from the venv bench/run picks).
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.server
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
DATA = OUT / "data"
LOGS = OUT / "logs"
TOOLS = OUT / "tools"

# The seed of every data set (examples/raw/clicks-0001.pb.gz is a prefix of
# the clickstream data set made with it).
SEED = 1

PROFILES = {
    # name: sizes of the throughput data sets, the 1 GiB memory test file,
    # the Python slice, and the rounds of measurement.
    "full": {"size": "150MB", "big": "1GiB", "python_slice": "10MB", "runs": 5, "cold_starts": 20},
    "quick": {"size": "16MB", "big": "128MiB", "python_slice": "2MB", "runs": 3, "cold_starts": 5},
}

DATASETS = {
    "clicks": {
        "message": "acme.clicks.Click",
        "schema": ROOT / "examples/schema/acme/clicks.proto",
        "title": "clickstream (acme.clicks.Click)",
    },
    "telemetry": {
        "message": "acme.telemetry.Report",
        "schema": ROOT / "bench/schemas/telemetry.proto",
        "title": "telemetry (acme.telemetry.Report)",
    },
}

TARGETS = {
    "one_core_vs_inflate": 0.5,
    "two_cores_vs_inflate": 0.8,
    "vs_reflect": 8.0,
    "vs_python": 60.0,
    "rss_mib": 64.0,
    "worker_rss_mib": 128.0,
    "worker_parquet_rss_mib": 256.0,
    # With arrow-rs's Parquet writer in the package (it was 3 MB before).
    "zip_mb": 6.0,
    "cold_start_ms": 20.0,
    # The deployed path (object to landing object) at the default output.
    "deployed_one_core_vs_inflate": 0.3,
    "deployed_two_cores_vs_one": 1.8,
    # Parquet landing (1 core): the same floor as the default NDJSON output,
    # at most this share of the gzip'd NDJSON's bytes, and this many times
    # the Python function doing the same job (protobuf + protarrow).
    "parquet_one_core_vs_inflate": 0.3,
    "parquet_bytes_vs_gzip_ndjson": 0.6,
    "parquet_vs_python": 20.0,
}

MB = 1_000_000
GB = 1_000_000_000
MiB = 1 << 20

# The landing object compressions of the deployed path, cheapest first;
# gzip is the function's default.
OUTPUTS = ["none", "zstd", "gzip"]
DEFAULT_OUTPUT = "gzip"
# Other levels too, on one core (what a Lambda function pays): the figures
# behind the default levels and output (docs/configuration.md).
OTHER_LEVELS = {"zstd": 3, "gzip": 1}

# What a Lambda function on arm64 (Graviton) costs per GB-second of
# duration (memory in GB of 1024 MB × seconds), us-east-1, as AWS
# published it in 2026; request charges are left out (one request per
# object, noise next to the duration of a large object).
LAMBDA_PRICE = {"usd_per_gb_second": 0.0000133334, "arch": "arm64", "region": "us-east-1", "as_of": "2026"}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def tail(text: str, lines: int = 6) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


# --------------------------------------------------------------------------
# Running and measuring a process


@dataclass
class Run:
    wall: float
    rc: int
    peak_rss_kib: int | None
    cpu: float
    stderr: str
    lines: int | None = None
    # Files a deployed-path run landed, with their sizes.
    landed: list[tuple[Path, int]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.rc == 0


def _pin(cpus):
    if cpus is None:
        return None

    def pin():
        os.sched_setaffinity(0, cpus)

    return pin


def _wait(proc: subprocess.Popen, deadline: float, sampler=None):
    """Waits for `proc` with os.wait4 (for its rusage), killing it at the
    deadline. With a sampler, waits for the exit without reaping first
    (waitid WNOWAIT), so the sampler never reads a reused pid; the wall
    time stays exact either way."""
    timer = threading.Timer(max(0.0, deadline - time.monotonic()), proc.kill)
    timer.start()
    try:
        if sampler:
            os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
            sampler.finish()
        _pid, status, ru = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return ru


class PeakRss:
    """Samples a process's VmHWM (the peak resident set of its address space)
    from /proc every few milliseconds until stopped.

    Why not getrusage: ru_maxrss of a child started from this (large)
    Python process includes the parent's resident set at fork/vfork, which
    Linux carries across exec, so every child would seem to use at least
    as much memory as the harness. VmHWM belongs to the address space exec
    creates, so it counts the program alone. Samples taken before the exec
    (the process still has the harness's command line) are ignored. The last few
    milliseconds before exit can be missed; a streaming program's peak is
    reached long before.
    """

    def __init__(self, pid: int, argv: list):
        self.path = f"/proc/{pid}/status"
        self.cmdline_path = f"/proc/{pid}/cmdline"
        self.cmdline = b"\0".join(os.fsencode(str(a)) for a in argv) + b"\0"
        self.peak_kib: int | None = None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _sample(self):
        try:
            # The command line tells whether the exec has happened (before
            # it, the child still shows the harness's).
            with open(self.cmdline_path, "rb") as f:
                if f.read() != self.cmdline:
                    return
            with open(self.path) as f:
                status = f.read()
        except OSError:
            return
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if "VmHWM" not in fields:
            return
        kib = int(fields["VmHWM"].split()[0])
        self.peak_kib = max(self.peak_kib or 0, kib)

    def _run(self):
        while not self.stop.wait(0.004):
            self._sample()

    def finish(self) -> int | None:
        self.stop.set()
        self.thread.join()
        return self.peak_kib


def measure(stages, *, sink="null", env=None, timeout=600.0, rss=False) -> Run:
    """Runs a pipeline of `stages` (each (argv, cpus)); the last stage's stdout
    goes to /dev/null ("null") or is counted ("count", newlines). Wall time
    covers start to the exit of every stage; CPU time (getrusage) and, with
    `rss`, peak RSS (see PeakRss) are the last stage's (the contender;
    earlier stages only feed it)."""
    err = tempfile.TemporaryFile()
    procs = []
    counted = [0]
    reader = None
    start = time.perf_counter()
    prev = None
    for i, (argv, cpus) in enumerate(stages):
        last = i == len(stages) - 1
        if last:
            stdout = subprocess.DEVNULL if sink == "null" else subprocess.PIPE
        else:
            stdout = subprocess.PIPE
        try:
            proc = subprocess.Popen(
                [str(a) for a in argv],
                stdin=prev.stdout if prev else subprocess.DEVNULL,
                stdout=stdout,
                stderr=err,
                env=env,
                preexec_fn=_pin(cpus),
            )
        except OSError as e:
            for p in procs:
                p.kill()
                p.wait()
            err.close()
            return Run(wall=0.0, rc=127, peak_rss_kib=None, cpu=0.0, stderr=f"cannot start {argv[0]}: {e}")
        if prev:
            prev.stdout.close()
        procs.append(proc)
        prev = proc
    if sink == "count":

        def count(stream):
            n = 0
            while True:
                chunk = stream.read(1 << 20)
                if not chunk:
                    break
                n += chunk.count(b"\n")
            counted[0] = n

        reader = threading.Thread(target=count, args=(procs[-1].stdout,))
        reader.start()
    sampler = PeakRss(procs[-1].pid, stages[-1][0]) if rss else None
    deadline = time.monotonic() + timeout
    usages = [_wait(p, deadline, sampler if p is procs[-1] else None) for p in procs]
    if reader:
        reader.join()
        procs[-1].stdout.close()
    wall = time.perf_counter() - start
    err.seek(0)
    stderr = err.read().decode(errors="replace")
    err.close()
    rc = next((p.returncode for p in procs if p.returncode != 0), 0)
    ru = usages[-1]
    return Run(
        wall=wall,
        rc=rc,
        peak_rss_kib=sampler.peak_kib if sampler else None,
        cpu=ru.ru_utime + ru.ru_stime,
        stderr=stderr,
        lines=counted[0] if sink == "count" else None,
    )


def sh(argv, *, log_name=None, env=None, timeout=None, cwd=ROOT):
    """Runs a setup command; returns (ok, combined output)."""
    try:
        proc = subprocess.run(
            [str(a) for a in argv],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=timeout,
        )
        out, ok = proc.stdout.decode(errors="replace"), proc.returncode == 0
    except subprocess.TimeoutExpired as e:
        out, ok = (e.stdout or b"").decode(errors="replace") + f"\ntimed out after {timeout}s", False
    except OSError as e:
        out, ok = str(e), False
    if log_name:
        (LOGS / log_name).write_text(out)
    return ok, out


# --------------------------------------------------------------------------
# Build


class Bench:
    def __init__(self, args):
        self.args = args
        self.profile = dict(PROFILES["quick" if args.quick else "full"])
        if args.runs:
            self.profile["runs"] = args.runs
        self.target_dir = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
        self.release = self.target_dir / "release"
        self.python = sys.executable
        self.results: dict = {
            "profile": "quick" if args.quick else "full",
            "runs": self.profile["runs"],
            "not_measured": {},
            "builds": {},
        }
        self.data: dict = {}

    def bin(self, name: str) -> Path:
        return self.release / name

    def not_measured(self, key: str, reason: str) -> None:
        log(f"not measured: {key}: {tail(reason, 3)}")
        self.results["not_measured"][key] = reason.strip()

    # ---- build

    def build(self) -> None:
        """Builds each package in its own cargo invocation: one invocation
        for several packages would unify their dependencies' features, and
        protoland-lambda must be measured as it is deployed (without the
        CLI's clap and SQS features, for instance)."""
        env = dict(os.environ, CARGO_TARGET_DIR=str(self.target_dir))
        log(f"building (release, target dir {self.target_dir})")
        for p in ["protoland-bench", "protoland", "protoland-lambda"]:
            ok, out = sh(["cargo", "build", "--locked", "--release", "-p", p], log_name=f"build-{p}.log", env=env)
            self.results["builds"][p] = "ok" if ok else "failed: " + tail(out, 8)
            log(f"  {p}: {'ok' if ok else 'FAILED (see bench/out/logs/build-' + p + '.log)'}")
        if self.results["builds"]["protoland-bench"] != "ok":
            sys.exit("bench/run: the benchmark's own programs do not build; see bench/out/logs/")

    def install_pq(self) -> None:
        pq = TOOLS / "bin" / "pq"
        if pq.exists() or self.args.no_pq:
            return
        log("installing pq (cargo install pq --no-default-features; once)")
        ok, out = sh(
            [
                "cargo", "install", "pq", "--no-default-features",
                "--root", TOOLS, "--target-dir", OUT / "target-pq",
            ],
            log_name="pq-install.log",
            env={k: v for k, v in os.environ.items() if k != "CARGO_TARGET_DIR"},
        )
        if not ok:
            log("pq did not install; see bench/out/logs/pq-install.log")

    def build_lambda_zip(self) -> None:
        """deploy/build (arm64) when it exists; its zip is measured later."""
        script = ROOT / "deploy" / "build"
        if not script.exists():
            self.results["lambda_zip_build"] = "deploy/build does not exist yet"
            return
        if self.args.no_lambda_zip:
            self.results["lambda_zip_build"] = "skipped (--no-lambda-zip)"
            return
        log("building the arm64 Lambda package (deploy/build)")
        ok, out = sh([script], log_name="deploy-build.log")
        self.results["lambda_zip_build"] = "ok" if ok else "failed: " + tail(out, 8)

    # ---- data

    def gen(self, name: str, dataset: str, size: str, members: str | None = None) -> dict:
        path = DATA / f"{name}.pb.gz"
        manifest = DATA / f"{name}.json"
        argv = [
            self.bin("gen"), "data", "--dataset", dataset, "--seed", SEED, "--size", size,
            "--manifest", manifest, "--if-changed", "-o", path,
        ]
        if members:
            argv += ["--member-size", members]
        ok, out = sh(argv)
        if not ok:
            sys.exit(f"bench/run: generating {path} failed:\n{out}")
        info = json.loads(manifest.read_text())
        info["path"] = path
        return info

    def generate(self) -> None:
        DATA.mkdir(parents=True, exist_ok=True)
        log("generating data (skipped where present and up to date)")
        ok, out = sh([
            self.bin("gen"), "descriptor-set", "-I", ROOT / "examples/schema", "-I", ROOT / "bench/schemas",
            "acme/clicks.proto", "telemetry.proto", "-o", DATA / "schemas.binpb",
        ])
        if not ok:
            sys.exit(f"bench/run: writing the descriptor set failed:\n{out}")
        p = self.profile
        for ds in DATASETS:
            self.data[ds] = {
                "full": self.gen(f"{ds}-{p['size']}", ds, p["size"]),
                "slice": self.gen(f"{ds}-{p['python_slice']}", ds, p["python_slice"]),
                "check": self.gen(f"{ds}-check", ds, "200KB"),
            }
        # The memory test: one big multi-member gzip file (32 MiB members, as
        # when a producer appends compressed batches to one object).
        self.data["big"] = self.gen(f"clicks-{p['big']}-multimember", "clicks", p["big"], members="32MiB")
        self.results["data"] = {
            ds: {k: self._describe(v) for k, v in d.items()} for ds, d in self.data.items() if ds != "big"
        }
        self.results["data"]["big"] = self._describe(self.data["big"])

    @staticmethod
    def _describe(info: dict) -> dict:
        return {
            "file": str(Path(info["path"]).relative_to(ROOT)),
            "messages": info["messages"],
            "uncompressed_bytes": info["uncompressed_bytes"],
            "compressed_bytes": info["written_bytes"],
            "gzip_members": info["members"],
        }

    # ---- contenders

    def protoland_ok(self) -> bool:
        return self.results["builds"].get("protoland") == "ok" and self.bin("protoland").exists()

    def protoland_has(self, key: str, command: str, flag: str) -> bool:
        """Whether the protoland CLI built and its `command` takes `flag`;
        if not, `key` is reported as not measured."""
        if not self.protoland_ok():
            self.not_measured(key, "the protoland CLI did not build")
            return False
        ok, out = sh([self.bin("protoland"), command, "--help"])
        if not ok or flag not in out:
            self.not_measured(key, f"`protoland {command} {flag}` does not exist: " + tail(out, 3))
            return False
        return True

    def contenders(self, ds: str) -> list[dict]:
        d = DATASETS[ds]
        full, slice_ = self.data[ds]["full"], self.data[ds]["slice"]
        fdset = DATA / "schemas.binpb"
        c = [
            {
                "key": "inflate",
                "label": "inflate alone (zlib-rs, 1 core)",
                "stages": [([self.bin("inflate"), full["path"]], {0})],
                "input": full,
            },
        ]
        if self.protoland_ok():
            convert = [self.bin("protoland"), "convert", "-s", d["schema"], "-m", d["message"], "-f", "varint", full["path"]]
            c += [
                {"key": "protoland_1", "label": "protoland convert, 1 core", "stages": [(convert, {0})], "input": full},
                {"key": "protoland_2", "label": "protoland convert, 2 cores", "stages": [(convert, None)], "input": full},
            ]
        c.append({
            "key": "reflect",
            "label": "prost-reflect + serde_json (1 core)",
            "stages": [([self.bin("reflect-json"), "-s", d["schema"], "-m", d["message"], full["path"]], {0})],
            "input": full,
        })
        pq = TOOLS / "bin" / "pq"
        if pq.exists():
            c.append({
                "key": "pq",
                "label": "pq (1 core; input inflated on the other)",
                "stages": [
                    ([self.bin("inflate"), "--stdout", full["path"]], {1}),
                    ([pq, "--msgtype", d["message"], "--fdsetfile", fdset, "--stream", "varint"], {0}),
                ],
                "input": full,
            })
        c.append({
            "key": "python",
            "label": f"Python upb + json_format (1 core, first {slice_['uncompressed_bytes'] / MB:.0f} MB)",
            "stages": [([self.python, ROOT / "bench/python/convert.py", fdset, d["message"], slice_["path"]], {0})],
            "input": slice_,
        })
        return c

    def missing_contenders(self) -> None:
        if not self.protoland_ok():
            self.not_measured(
                "protoland convert",
                "the protoland CLI did not build: " + self.results["builds"].get("protoland", "unknown"),
            )
        if not (TOOLS / "bin" / "pq").exists():
            log_file = LOGS / "pq-install.log"
            reason = (
                "pq is not installed (--no-pq)"
                if self.args.no_pq
                else "`cargo install pq --no-default-features` failed: "
                + (tail(log_file.read_text(), 8) if log_file.exists() else "no log")
            )
            self.not_measured("pq", reason)

    # ---- correctness check: every contender's output against json_format

    def check_outputs(self) -> None:
        """Runs each contender on a small file and compares its JSON values,
        message by message, with Google's json_format (the Python
        contender's output): a fast contender that printed something else
        would not be a fair comparison."""
        log("checking every contender's output against json_format")
        checks = {}
        for ds in DATASETS:
            files = {"check": self.data[ds]["check"]}
            oracle = None
            results = {}
            for con in self.contenders(ds):
                if con["key"] == "inflate":
                    continue
                stages = []
                for argv, cpus in con["stages"]:
                    argv = [self.data[ds]["check"]["path"] if a == con["input"]["path"] else a for a in argv]
                    stages.append(([str(a) for a in argv], cpus))
                out = self._capture(stages)
                results[con["key"]] = out
                if con["key"] == "python":
                    oracle = out
            summary = {}
            for key, out in results.items():
                if key == "python":
                    continue
                summary[key] = compare(out, oracle)
            checks[ds] = {"messages": files["check"]["messages"], "results": summary}
        self.results["checks"] = checks

    @staticmethod
    def _capture(stages):
        """Runs a pipeline and returns (ok, stdout text or error)."""
        try:
            return Bench._capture_unchecked(stages)
        except (OSError, subprocess.TimeoutExpired) as e:
            return (False, f"{type(e).__name__}: {e}")

    @staticmethod
    def _capture_unchecked(stages):
        prev = None
        procs = []
        for i, (argv, _cpus) in enumerate(stages):
            proc = subprocess.Popen(
                argv,
                stdin=prev.stdout if prev else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE if i == len(stages) - 1 else subprocess.DEVNULL,
            )
            if prev:
                prev.stdout.close()
            procs.append(proc)
            prev = proc
        out, err = procs[-1].communicate(timeout=300)
        for p in procs[:-1]:
            p.wait(timeout=60)
        if procs[-1].returncode != 0:
            return (False, f"exit {procs[-1].returncode}: " + tail(err.decode(errors="replace")))
        return (True, out.decode(errors="replace"))

    # ---- throughput

    def throughput(self) -> None:
        self.results["throughput"] = {}
        for ds in DATASETS:

            def run(con, warm_up):
                # The warm-up round counts the lines each contender prints.
                sink = "count" if warm_up and con["key"] != "inflate" else "null"
                return measure(con["stages"], sink=sink, rss=warm_up)

            def check(con, r, rec):
                if r.lines is not None and r.lines != rec["messages"]:
                    return f"printed {r.lines} lines for {rec['messages']} messages"
                return None

            self.results["throughput"][ds] = self.timed_rounds(ds, self.contenders(ds), run, check)

    def timed_rounds(self, what: str, contenders: list[dict], run, check) -> dict:
        """Measures contenders the same way: a warm-up round (which also
        fills the page cache) in which each runs once with its peak RSS
        sampled and `check(con, run, record)` names what it got wrong (or
        None), then the profile's rounds, in which every contender that
        passed runs once, alternating: each round starts from a different
        contender. `run(con, warm_up)` runs a contender and returns its Run.
        Returns a record per contender, with the medians of its rounds."""
        runs = self.profile["runs"]
        log(f"{what}: warm-up round (checks each contender's output)")
        records = {}
        alive = []
        for con in contenders:
            rec = {
                "label": con["label"],
                "input": str(Path(con["input"]["path"]).relative_to(ROOT)),
                "input_bytes": con["input"]["uncompressed_bytes"],
                "messages": con["input"]["messages"],
                "runs": [],
                **con.get("record", {}),
            }
            records[con["key"]] = rec
            r = run(con, True)
            rec["peak_rss_mib"] = r.peak_rss_kib / 1024 if r.peak_rss_kib else None
            error = check(con, r, rec) if r.ok else f"exit {r.rc}: {tail(r.stderr)}"
            if error:
                rec["error"] = error
                log(f"  {con['key']}: FAILED ({error})")
                continue
            alive.append(con)
            log(f"  {con['key']}: {r.wall:.2f}s")
        for round_ in range(runs):
            order = alive[round_ % len(alive):] + alive[: round_ % len(alive)] if alive else []
            for con in order:
                r = run(con, False)
                rec = records[con["key"]]
                if not r.ok:
                    rec["error"] = f"exit {r.rc} in round {round_ + 1}: {tail(r.stderr)}"
                    continue
                rec["runs"].append({"wall": r.wall, "cpu": r.cpu})
            log(f"{what}: round {round_ + 1}/{runs} done")
        for rec in records.values():
            if rec["runs"] and "error" not in rec:
                summarize(rec)
        return records

    # ---- the deployed path: object -> landing object

    def deployed(self) -> None:
        """What the Lambda function does with an object, end to end:
        `protoland backfill DIR --landing OUT` runs the function's handler
        (read, decompress, frame, transcode, compress, write the landing
        object) on a local directory holding the data file, for every output
        compression on one core and on two; beside it the Python Lambda's
        conversion (bench/python/lambda_function.py) on the same bytes (its
        slice), gzip'd output. Each run lands into an empty directory; the
        warm-up round checks every landing object holds one line a message."""
        if not self.protoland_has("deployed path", "backfill", "--output-compression"):
            return
        work = OUT / "deployed"
        self.results["deployed"] = {}

        def check(con, r, rec):
            error = check_landing(r.landed, con["record"]["output"], rec["messages"])
            rec["landed_bytes"] = sum(size for _, size in r.landed)
            return error

        for ds in DATASETS:
            contenders = self.deployed_contenders(ds, work / ds)
            records = self.timed_rounds(f"{ds}, deployed path", contenders, self.land, check)
            for rec in records.values():
                if "median_wall" in rec:
                    gb = rec["input_bytes"] / GB
                    rec["cpu_s_per_gb"] = statistics.median(x["cpu"] for x in rec["runs"]) / gb
                    rec["wall_s_per_gb"] = rec["median_wall"] / gb
            self.results["deployed"][ds] = records
        shutil.rmtree(work, ignore_errors=True)

    def deployed_contenders(self, ds: str, work: Path) -> list[dict]:
        d = DATASETS[ds]
        full, slice_ = self.data[ds]["full"], self.data[ds]["slice"]
        # backfill converts every object of a directory: one holding only
        # the data file (a hard link; backfill skips symbolic links).
        source = work / "objects"
        shutil.rmtree(work, ignore_errors=True)
        source.mkdir(parents=True)
        try:
            os.link(full["path"], source / full["path"].name)
        except OSError:
            shutil.copyfile(full["path"], source / full["path"].name)

        def backfill(name: str, what: str, record: dict, cores: int, cpus, args: list) -> dict:
            """`protoland backfill` of the data file with `args`, into a landing directory of its own."""
            return {
                "key": f"protoland_{name}_{cores}",
                "label": f"protoland backfill, {what}, {cores} core{'s' if cores > 1 else ''}",
                "record": {**record, "cores": cores},
                "cpus": cpus,
                "input": full,
                "landing": work / f"landing-{name}-{cores}",
                "argv": [
                    self.bin("protoland"), "backfill", source, "-s", d["schema"], "-m", d["message"],
                    "-f", "varint", *args, "--metrics", "off",
                ],
            }

        c = []
        for output in OUTPUTS:
            for cores, cpus in ((1, {0}), (2, None)):
                c.append(backfill(output, f"{output} output", {"output": output}, cores, cpus,
                                  ["--output-compression", output]))
        for output, level in OTHER_LEVELS.items():
            c.append(backfill(f"{output}_level{level}", f"{output} output level {level}",
                              {"output": output, "level": level}, 1, {0},
                              ["--output-compression", output, "--output-level", str(level)]))
        ok, out = sh([self.bin("protoland"), "backfill", "--help"])
        if ok and "--output-format" in out:
            for cores, cpus in ((1, {0}), (2, None)):
                c.append(backfill("parquet", "Parquet output", {"output": "parquet"}, cores, cpus,
                                  ["--output-format", "parquet"]))
            # The zstd level the pages had before the default became 1.
            if "--parquet-level" in out:
                c.append(backfill("parquet_level3", "Parquet output zstd level 3",
                                  {"output": "parquet", "level": 3}, 1, {0},
                                  ["--output-format", "parquet", "--parquet-level", "3"]))
        else:
            self.not_measured("Parquet landing", "`protoland backfill --output-format` does not exist")
        if sh([self.python, "-c", "import protarrow, pyarrow.parquet"])[0]:
            c.append({
                "key": "python_parquet_1",
                "label": f"Python Lambda (protarrow), Parquet output, 1 core (first {slice_['uncompressed_bytes'] / MB:.0f} MB)",
                "record": {"output": "parquet", "cores": 1},
                "cpus": {0},
                "input": slice_,
                "landing": work / "landing-python-parquet",
                "argv": [self.python, ROOT / "bench/python/parquet_function.py", DATA / "schemas.binpb",
                         d["message"], slice_["path"]],
            })
        else:
            self.not_measured("Python Parquet function", "protarrow or pyarrow is not installed (bench/requirements.txt)")
        c.append({
            "key": "python_gzip_1",
            "label": f"Python Lambda, gzip output, 1 core (first {slice_['uncompressed_bytes'] / MB:.0f} MB)",
            "record": {"output": "gzip", "cores": 1},
            "cpus": {0},
            "input": slice_,
            "landing": work / "landing-python",
            "argv": [self.python, ROOT / "bench/python/lambda_function.py", DATA / "schemas.binpb", d["message"],
                     slice_["path"]],
        })
        return c

    @staticmethod
    def land(con: dict, rss: bool = False) -> Run:
        """One run of a deployed-path contender into an empty landing
        directory; the Run holds the landed files with their sizes."""
        landing = con["landing"]
        shutil.rmtree(landing, ignore_errors=True)
        landing.mkdir(parents=True)
        if con["key"].startswith("python"):
            argv = con["argv"] + [landing]
        else:
            argv = con["argv"] + ["--landing", landing]
        r = measure([(argv, con["cpus"])], rss=rss)
        r.landed = [(f, f.stat().st_size) for f in sorted(landing.rglob("*")) if f.is_file()]
        return r

    # ---- memory

    def memory_cli(self) -> None:
        if not self.protoland_ok():
            self.not_measured("peak RSS, protoland convert", "the protoland CLI did not build")
            return
        big = self.data["big"]
        d = DATASETS["clicks"]
        log(f"peak RSS: protoland convert on {big['path'].name}")
        argv = [self.bin("protoland"), "convert", "-s", d["schema"], "-m", d["message"], "-f", "varint", big["path"]]
        r = measure([(argv, None)], sink="count", timeout=1200, rss=True)
        if not r.ok:
            self.not_measured("peak RSS, protoland convert", f"exit {r.rc}: {tail(r.stderr)}")
            return
        if r.peak_rss_kib is None:
            self.not_measured("peak RSS, protoland convert", "could not sample /proc/<pid>/status (VmHWM)")
            return
        if r.lines != big["messages"]:
            self.not_measured(
                "peak RSS, protoland convert",
                f"printed {r.lines} lines for {big['messages']} messages",
            )
            return
        self.results["memory_cli"] = {
            "file": str(big["path"].relative_to(ROOT)),
            "uncompressed_bytes": big["uncompressed_bytes"],
            "members": big["members"],
            "peak_rss_mib": r.peak_rss_kib / 1024 if r.peak_rss_kib else None,
            "wall": r.wall,
            "mb_per_s": big["uncompressed_bytes"] / MB / r.wall,
        }

    def memory_worker(self) -> None:
        """Peak RSS of `protoland worker` converting one 1 GiB object from
        moto's S3 (delivered by moto's SQS), once per output format: the
        default gzip'd NDJSON, and Parquet when the worker takes
        --output-format."""
        key = "peak RSS, protoland worker"
        if not self.protoland_has(key, "worker", "--until-empty"):
            return
        formats = ["ndjson"]
        if self.protoland_has("peak RSS, protoland worker (Parquet)", "worker", "--output-format"):
            formats.append("parquet")
        moto = shutil.which("moto_server", path=str(Path(self.python).parent)) or shutil.which("moto_server")
        if not moto:
            self.not_measured(key, "moto_server is not installed in the venv (run scripts/test)")
            return
        try:
            import boto3  # noqa: PLC0415 - only this measurement needs it
        except ImportError:
            self.not_measured(key, "boto3 is not installed in the venv (run scripts/test)")
            return
        big = self.data["big"]
        port = free_port()
        endpoint = f"http://127.0.0.1:{port}"
        log(f"peak RSS: protoland worker on {big['path'].name} through moto on {endpoint}")
        server = subprocess.Popen(
            [moto, "-H", "127.0.0.1", "-p", str(port)],
            stdout=(LOGS / "moto.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        try:
            wait_http(endpoint, 30)
            creds = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench", "region_name": "us-east-1"}
            s3 = boto3.client("s3", endpoint_url=endpoint, **creds)
            sqs = boto3.client("sqs", endpoint_url=endpoint, **creds)
            s3.create_bucket(Bucket="raw")
            s3.create_bucket(Bucket="landing")
            queue = sqs.create_queue(QueueName="raw-events", Attributes={"VisibilityTimeout": "900"})["QueueUrl"]
            key_name = f"clicks/{big['path'].name}"
            s3.upload_file(str(big["path"]), "raw", key_name)
            size = s3.head_object(Bucket="raw", Key=key_name)["ContentLength"]
            env = dict(
                os.environ,
                AWS_ENDPOINT_URL=endpoint,
                AWS_ACCESS_KEY_ID="bench",
                AWS_SECRET_ACCESS_KEY="bench",
                AWS_REGION="us-east-1",
                AWS_DEFAULT_REGION="us-east-1",
                AWS_EC2_METADATA_DISABLED="true",
            )
            for fmt in formats:
                result_key = "memory_worker" if fmt == "ndjson" else f"memory_worker_{fmt}"
                what = key if fmt == "ndjson" else f"{key} ({'Parquet' if fmt == 'parquet' else fmt})"
                log(f"  output {fmt}")
                sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(s3_event("raw", key_name, size)))
                argv = [
                    self.bin("protoland"), "worker", "--queue-url", queue, "--until-empty", "--wait-seconds", "1",
                    "-s", str(DATASETS["clicks"]["schema"]), "-m", DATASETS["clicks"]["message"],
                    "-f", "varint", "--landing", f"s3://landing/{fmt}", "--metrics", "off",
                ]
                if fmt != "ndjson":
                    argv += ["--output-format", fmt]
                r = measure([(argv, None)], env=env, timeout=1800, rss=True)
                listing = s3.list_objects_v2(Bucket="landing", Prefix=f"{fmt}/").get("Contents", [])
                left = int(sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"].get(
                    "ApproximateNumberOfMessages", "0"))
                if not r.ok:
                    self.not_measured(what, f"worker exit {r.rc}: {tail(r.stderr)}")
                    continue
                if r.peak_rss_kib is None:
                    self.not_measured(what, "could not sample /proc/<pid>/status (VmHWM)")
                    continue
                if len(listing) != 1:
                    self.not_measured(what, f"the worker exited 0 but landed {len(listing)} objects: " + tail(r.stderr))
                    continue
                # The landing object must hold one record per message: read
                # it back and count (NDJSON lines, gzip'd by default, or
                # Parquet rows).
                body = s3.get_object(Bucket="landing", Key=listing[0]["Key"])["Body"]
                if fmt == "parquet":
                    import pyarrow.parquet as pq  # noqa: PLC0415 - only for the Parquet run
                    local = OUT / "worker-landing.parquet"
                    with local.open("wb") as f:
                        shutil.copyfileobj(body, f)
                    records = pq.ParquetFile(local).metadata.num_rows
                    local.unlink()
                else:
                    records = count_lines(body, gzipped=listing[0]["Key"].endswith(".gz"))
                if records != big["messages"]:
                    self.not_measured(what, f"the landing object has {records} records for {big['messages']} messages")
                    continue
                self.results[result_key] = {
                    "object": f"s3://raw/{key_name}",
                    "output": fmt,
                    "uncompressed_bytes": big["uncompressed_bytes"],
                    "compressed_bytes": size,
                    "landing": [{"key": o["Key"], "bytes": o["Size"]} for o in listing],
                    "landing_lines": records,
                    "queue_left": left,
                    "peak_rss_mib": r.peak_rss_kib / 1024 if r.peak_rss_kib else None,
                    "wall": r.wall,
                }
        except Exception as e:  # noqa: BLE001 - report whatever went wrong
            self.not_measured(key, f"{type(e).__name__}: {e}")
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()

    # ---- Lambda package size

    def package_size(self) -> None:
        key = "arm64 zip size"
        zip_path = ROOT / "deploy" / "dist" / "arm64" / "bootstrap.zip"
        build = self.results.get("lambda_zip_build", "")
        if build.startswith("skipped") and zip_path.exists():
            # Measure the package already there, saying it was not rebuilt.
            build = "ok"
            self.results["lambda_zip_note"] = "existing package, not rebuilt by this run (--no-lambda-zip)"
        if build != "ok":
            self.not_measured(key, f"deploy/build: {build}")
        elif not zip_path.exists():
            self.not_measured(key, f"deploy/build succeeded but {zip_path.relative_to(ROOT)} does not exist")
        else:
            with zipfile.ZipFile(zip_path) as z:
                names = z.namelist()
                machine = elf_machine(z.read("bootstrap")) if "bootstrap" in names else "no bootstrap in the zip"
            self.results["lambda_zip"] = {
                "file": str(zip_path.relative_to(ROOT)),
                "bytes": zip_path.stat().st_size,
                "machine": machine,
                "entries": names,
            }
        py = self.python_package()
        if py:
            self.results["python_zip"] = py

    def python_package(self) -> dict | None:
        """handler + Google's protobuf wheel for aarch64 (what a Python
        Lambda ships; boto3 comes with the runtime), zipped."""
        key = "Python deployment package"
        work = OUT / "python-lambda"
        wheels = work / "wheels"
        pin = protobuf_pin()
        if not any(wheels.glob("protobuf-*aarch64*.whl")):
            wheels.mkdir(parents=True, exist_ok=True)
            ok, out = sh([
                self.python, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                "--platform", "manylinux2014_aarch64", "--only-binary=:all:", "--python-version", "3.12",
                "--no-deps", "-d", wheels, pin,
            ], log_name="pip-download.log")
            if not ok:
                self.not_measured(key, f"pip download {pin} for aarch64 failed: {tail(out)}")
                return None
        wheel = sorted(wheels.glob("protobuf-*aarch64*.whl"))[-1]
        zip_path = work / "function.zip"
        with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as out, zipfile.ZipFile(wheel) as whl:
            out.write(ROOT / "bench/python/lambda_function.py", "lambda_function.py")
            for info in whl.infolist():
                out.writestr(info.filename, whl.read(info))
        return {"file": str(zip_path.relative_to(ROOT)), "bytes": zip_path.stat().st_size, "wheel": wheel.name}

    # ---- cold start

    def cold_start(self) -> None:
        key = "cold start"
        if self.results["builds"].get("protoland-lambda") != "ok":
            self.not_measured(key, "protoland-lambda did not build: " + self.results["builds"].get("protoland-lambda", ""))
            return
        n = self.profile["cold_starts"]
        log(f"cold start: protoland-lambda to its first poll, {n} times")
        server = RuntimeApi()
        env = dict(
            os.environ,
            AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{server.port}",
            AWS_LAMBDA_FUNCTION_NAME="protoland",
            AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
            # The template's default: the function refuses a memory size
            # that cannot hold one object at the worst case of its limits.
            AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(template_memory_mb() or 1769),
            AWS_LAMBDA_LOG_GROUP_NAME="/aws/lambda/protoland",
            AWS_LAMBDA_LOG_STREAM_NAME="bench",
            AWS_REGION="us-east-1",
            AWS_DEFAULT_REGION="us-east-1",
            AWS_ACCESS_KEY_ID="bench",
            AWS_SECRET_ACCESS_KEY="bench",
            AWS_SESSION_TOKEN="bench",
            AWS_EC2_METADATA_DISABLED="true",
            PROTOLAND_SCHEMA=str(DATASETS["clicks"]["schema"]),
            PROTOLAND_MESSAGE=DATASETS["clicks"]["message"],
            PROTOLAND_LANDING="s3://landing/ndjson/",
        )
        times = []
        try:
            for _ in range(n):
                server.reset()
                err = tempfile.TemporaryFile()
                start = time.perf_counter()
                proc = subprocess.Popen([self.bin("protoland-lambda")], env=env, stdout=err, stderr=err,
                                        stdin=subprocess.DEVNULL)
                polled = server.polled.wait(timeout=10)
                exited = proc.poll()
                proc.kill()
                proc.wait()
                if not polled:
                    err.seek(0)
                    text = err.read().decode(errors="replace")
                    what = f"exited with status {exited}" if exited is not None else "did not poll within 10 s"
                    self.not_measured(key, f"protoland-lambda {what} before polling the runtime API: {tail(text)}")
                    return
                times.append((server.polled_at - start) * 1000)
                err.close()
        finally:
            server.close()
        self.results["cold_start"] = {
            "runs": times,
            "median_ms": statistics.median(times),
            "binary": "protoland-lambda (release build for this machine)",
            "arch": platform.machine(),
        }

    # ---- everything

    def environment(self) -> None:
        def first_line(argv):
            ok, out = sh(argv)
            return out.strip().splitlines()[0] if ok and out.strip() else "unknown"

        cpu = "unknown"
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        except OSError:
            pass
        commit = first_line(["git", "rev-parse", "--short", "HEAD"])
        dirty = sh(["git", "status", "--porcelain", "--untracked-files=no"])[1].strip() != ""
        try:
            import google.protobuf  # noqa: PLC0415
            from google.protobuf.internal import api_implementation  # noqa: PLC0415

            pb = f"{google.protobuf.__version__} ({api_implementation.Type()})"
        except ImportError:
            pb = "not installed"
        self.results["environment"] = {
            "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "commit": commit + (" (with uncommitted changes)" if dirty else ""),
            "cpu": cpu,
            "cores": os.cpu_count(),
            "kernel": platform.release(),
            "rustc": first_line(["rustc", "--version"]),
            "python": platform.python_version(),
            "protobuf": pb,
            "pq": first_line([TOOLS / "bin" / "pq", "--version"]) if (TOOLS / "bin" / "pq").exists() else "not installed",
            "load_before": os.getloadavg(),
        }
        self.results["lambda_price"] = dict(LAMBDA_PRICE, memory_mb=template_memory_mb())
        self.results["deployed_default_output"] = DEFAULT_OUTPUT

    def run(self) -> None:
        LOGS.mkdir(parents=True, exist_ok=True)
        t0 = time.monotonic()
        self.build()
        self.install_pq()
        self.build_lambda_zip()
        self.results["build_seconds"] = time.monotonic() - t0
        t1 = time.monotonic()
        self.environment()
        self.generate()
        self.missing_contenders()
        self.check_outputs()
        self.throughput()
        self.deployed()
        self.memory_cli()
        self.memory_worker()
        self.package_size()
        self.cold_start()
        self.results["environment"]["load_after"] = os.getloadavg()
        self.results["measure_seconds"] = time.monotonic() - t1
        out_dir = Path(self.args.out) if self.args.out else (OUT / "quick" if self.args.quick else ROOT / "docs/bench")
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "results.json").write_text(json.dumps(self.results, indent=2, default=str) + "\n")
        import report  # noqa: PLC0415 - bench/report.py, beside this file

        report.write(self.results, out_dir, TARGETS)
        log(f"done in {time.monotonic() - t0:.0f}s: {out_dir / 'results.md'}")


# --------------------------------------------------------------------------
# Helpers


def summarize(rec: dict) -> None:
    """Medians of a contender's rounds: wall time, MB/s of decompressed
    input, MB per CPU-second, and the spread of the wall times."""
    walls = [x["wall"] for x in rec["runs"]]
    med = statistics.median(walls)
    rec["median_wall"] = med
    rec["mb_per_s"] = rec["input_bytes"] / MB / med
    rec["cpu_mb_per_s"] = rec["input_bytes"] / MB / statistics.median(x["cpu"] for x in rec["runs"])
    rec["spread"] = (max(walls) - min(walls)) / med


def check_landing(landed: list[tuple[Path, int]], output: str, messages: int) -> str | None:
    """Why a deployed-path run did not do the job (one landing object of
    `output` compression holding one line per message), or None."""
    if len(landed) != 1:
        return f"landed {len(landed)} files, expected one: {[str(f.name) for f, _ in landed][:5]}"
    path = landed[0][0]
    if output == "parquet":
        try:
            import pyarrow.parquet as pq  # noqa: PLC0415 - only for Parquet runs
        except ImportError:
            return None  # nothing here reads Parquet; the run's exit status stands
        rows = pq.ParquetFile(path).metadata.num_rows
        if rows != messages:
            return f"{path.name} holds {rows} rows for {messages} messages"
        return None
    if output == "zstd":
        zstd = shutil.which("zstd")
        if not zstd:
            return None  # nothing here reads zstd; the run's exit status stands
        proc = subprocess.Popen([zstd, "-dc", path], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        lines = count_lines(proc.stdout, gzipped=False)
        if proc.wait() != 0:
            return f"zstd -d failed on {path.name}"
    else:
        with path.open("rb") as f:
            lines = count_lines(f, gzipped=output == "gzip")
    if lines != messages:
        return f"{path.name} holds {lines} lines for {messages} messages"
    return None


def template_memory_mb() -> int | None:
    """The function's default memory in deploy/template.yaml (the
    MemorySize parameter's Default), or None when it cannot be read."""
    try:
        lines = (ROOT / "deploy/template.yaml").read_text().splitlines()
    except OSError:
        return None
    for i, line in enumerate(lines):
        if line.strip() == "MemorySize:" and line.startswith("  ") and not line.startswith("   "):
            for following in lines[i + 1 : i + 8]:
                name, _, value = following.strip().partition(":")
                if name == "Default":
                    return int(value)
    return None


def compare(out, oracle) -> dict:
    """Compares NDJSON outputs as parsed values, message by message."""
    ok, text = out
    if not ok:
        return {"status": "failed", "detail": text}
    if oracle is None or not oracle[0]:
        return {"status": "no oracle", "detail": "the Python contender did not run: " + (oracle[1] if oracle else "")}
    mine = text.splitlines()
    theirs = oracle[1].splitlines()
    if len(mine) != len(theirs):
        return {"status": "differs", "detail": f"{len(mine)} lines, json_format printed {len(theirs)}"}
    for i, (a, b) in enumerate(zip(mine, theirs)):
        try:
            va = json.loads(a)
        except ValueError as e:
            return {"status": "differs", "detail": f"message {i} is not JSON: {e}: {a[:200]}"}
        vb = json.loads(b)
        if va != vb:
            return {"status": "differs", "detail": f"message {i}: {first_difference(va, vb)}"}
    return {"status": "same", "detail": f"all {len(mine)} messages"}


def first_difference(a, b, path="") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a:
                return f"{path}/{k} missing (json_format: {json.dumps(b[k])[:80]})"
            if k not in b:
                return f"{path}/{k} present ({json.dumps(a[k])[:80]}), json_format has no such field"
            if a[k] != b[k]:
                return first_difference(a[k], b[k], f"{path}/{k}")
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return first_difference(x, y, f"{path}/{i}")
    return f"{path or '/'}: {json.dumps(a)[:80]}, json_format: {json.dumps(b)[:80]}"


def elf_machine(data: bytes) -> str:
    if data[:4] != b"\x7fELF":
        return "not an ELF file"
    machine = int.from_bytes(data[18:20], "little")
    return {0x3E: "x86_64", 0xB7: "aarch64"}.get(machine, f"ELF machine {machine:#x}")


def protobuf_pin() -> str:
    for path in (ROOT / "scripts/requirements-test.txt", ROOT / "bench/requirements.txt"):
        if path.exists():
            for line in path.read_text().splitlines():
                if line.strip().startswith("protobuf=="):
                    return line.split("#")[0].strip()
    return "protobuf"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except Exception:  # noqa: BLE001 - not up yet
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def count_lines(stream, *, gzipped: bool) -> int:
    """Newlines in a (gzip'd) byte stream with a `read(n)` method, read in
    pieces so that a 1 GiB object never sits in memory."""
    inflate = zlib.decompressobj(wbits=31) if gzipped else None
    lines = 0
    while True:
        chunk = stream.read(1 << 20)
        if not chunk:
            break
        if inflate is None:
            lines += chunk.count(b"\n")
            continue
        while chunk:
            lines += inflate.decompress(chunk).count(b"\n")
            chunk = inflate.unused_data
            if chunk:  # the next gzip member
                inflate = zlib.decompressobj(wbits=31)
    if inflate is not None:
        lines += inflate.flush().count(b"\n")
    return lines


def s3_event(bucket: str, key: str, size: int) -> dict:
    """An S3 ObjectCreated notification as S3 sends it to SQS."""
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {"key": key, "size": size},
                },
            }
        ]
    }


class RuntimeApi:
    """Serves one route of the Lambda runtime API on loopback, to time a cold
    start: it notes when GET /2018-06-01/runtime/invocation/next arrives and
    never answers it (the function is killed right after)."""

    def __init__(self):
        api = self
        self.polled = threading.Event()
        self.polled_at = 0.0
        self.release = threading.Event()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the http.server API
                if self.path == "/2018-06-01/runtime/invocation/next":
                    api.polled_at = time.perf_counter()
                    api.polled.set()
                    api.release.wait(timeout=15)
                    self.close_connection = True
                else:
                    self.send_error(404)

            def do_POST(self):  # noqa: N802
                # An init error report: answer as the runtime API does.
                self.send_response(202)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def reset(self):
        self.release.set()
        self.release = threading.Event()
        self.polled.clear()

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small data, 3 rounds: a smoke run (results in bench/out/quick)")
    parser.add_argument("--runs", type=int, help="rounds of measurement (default 5; 3 with --quick)")
    parser.add_argument("--out", help="where results.md/.json/.svg go (default docs/bench, or bench/out/quick)")
    parser.add_argument("--no-pq", action="store_true", help="do not install pq (reported as not measured)")
    parser.add_argument("--no-lambda-zip", action="store_true", help="do not run deploy/build")
    args = parser.parse_args()
    if args.runs is not None and args.runs < 1:
        parser.error("--runs must be at least 1")
    Bench(args).run()


if __name__ == "__main__":
    main()
