"""The real server (`python -m service`) in a subprocess on 127.0.0.1: cold start, RSS, CPU,
and an open-loop asyncio httpx load generator at fixed request rates."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.stats import summary_ms

HOST = "127.0.0.1"
TIMEOUT_S = 5.0  # a request slower than this counts as an error
MAX_INFLIGHT = 256  # open requests; a request due while this many are open counts as an error
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def proc_status_kb(pid: int, key: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (its threads included)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return 0.0


@dataclass
class Server:
    proc: subprocess.Popen
    port: int
    log_path: Path
    cold_start_s: float
    answers: int
    started: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def rss_mb(self) -> float | None:
        kb = proc_status_kb(self.proc.pid, "VmRSS")
        return None if kb is None else round(kb / 1024, 1)

    def peak_rss_mb(self) -> float | None:
        kb = proc_status_kb(self.proc.pid, "VmHWM")
        return None if kb is None else round(kb / 1024, 1)

    def log_tail(self, n: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


@contextlib.contextmanager
def running_server(
    model_dir: Path, store_path: Path, log_path: Path, seed_kb: str = "", ready_timeout_s: float = 180.0,
    extra_env: dict[str, str] | None = None, command: list[str] | None = None,
) -> Iterator[Server]:
    """Start `python -m service` (or `command`); cold start = process start until /readyz answers 200."""
    port = free_port()
    env = dict(os.environ)
    env.update(
        {
            "WEGWIJZER_MODEL_DIR": str(model_dir),
            "WEGWIJZER_STORE_PATH": str(store_path),
            "WEGWIJZER_AUTH_ENABLED": "false",
            "WEGWIJZER_HOST": HOST,
            "WEGWIJZER_PORT": str(port),
            "WEGWIJZER_SEED_KB": seed_kb,
            **(extra_env or {}),
        }
    )
    log = open(log_path, "wb")  # noqa: SIM115 - closed below
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        command or [sys.executable, "-m", "service"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=os.getcwd()
    )
    server = None
    try:
        answers = _wait_ready(proc, port, t0, ready_timeout_s, log_path)
        server = Server(proc, port, log_path, time.perf_counter() - t0, answers)
        yield server
    finally:
        _stop(proc)
        log.close()


def _wait_ready(proc: subprocess.Popen, port: int, t0: float, timeout_s: float, log_path: Path) -> int:
    with httpx.Client(timeout=0.5) as client:
        while time.perf_counter() - t0 < timeout_s:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"server exited with {proc.returncode}:\n" + log_path.read_text(errors="replace")[-3000:]
                )
            try:
                r = client.get(f"http://{HOST}:{port}/readyz")
                if r.status_code == 200:
                    return int(r.json().get("answers", 0))
            except httpx.HTTPError:
                pass
            time.sleep(0.01)
    raise RuntimeError(f"server not ready after {timeout_s} s:\n" + log_path.read_text(errors="replace")[-3000:])


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=15)


# load generation -------------------------------------------------------------------------------


async def _phase(
    client: httpx.AsyncClient, bodies: list[bytes], rate: float, duration_s: float, server: Server
) -> dict[str, Any]:
    """Open loop: request i is due at start + i/rate whatever happened to the earlier ones.
    Latency counts from the due time, so a late send (client backlog) counts against it."""
    # time.perf_counter, not loop.time(): uvloop's clock has 1 ms steps and is read once per loop turn
    clock = time.perf_counter
    n = max(1, round(rate * duration_s))
    latencies: list[float] = []
    send_lag: list[float] = []
    errors: Counter[str] = Counter()
    inflight = 0
    rss_samples: list[float] = []
    pid = server.proc.pid

    async def one(body: bytes, due: float) -> None:
        nonlocal inflight
        inflight += 1
        send_lag.append(clock() - due)
        try:
            r = await client.post("/v1/triage", content=body, headers={"content-type": "application/json"})
            if r.status_code == 200:
                latencies.append(clock() - due)
            else:
                errors[f"http_{r.status_code}"] += 1
        except httpx.TimeoutException:
            errors["timeout"] += 1
        except httpx.HTTPError as exc:
            errors[type(exc).__name__] += 1
        finally:
            inflight -= 1

    async def sample_rss(stop: asyncio.Event) -> None:
        while not stop.is_set():
            v = server.rss_mb()
            if v is not None:
                rss_samples.append(v)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.25)

    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_rss(stop))
    cpu0, gen_cpu0 = proc_cpu_s(pid), sum(os.times()[:2])
    tasks = []
    start = clock() + 0.05
    for i in range(n):
        due = start + i / rate
        delay = due - clock()
        if delay > 0:
            await asyncio.sleep(delay)
        if inflight >= MAX_INFLIGHT:
            errors["client_backlog_full"] += 1
            continue
        tasks.append(asyncio.create_task(one(bodies[i % len(bodies)], due)))
    sent_until = clock()
    await asyncio.gather(*tasks)
    end = clock()
    stop.set()
    await sampler
    wall = end - start
    n_err = sum(errors.values())
    out: dict[str, Any] = {
        "offered_rate": rate,
        "duration_s": round(duration_s, 1),
        "requests": n,
        "sent_rate": round(len(tasks) / max(sent_until - start, 1e-9), 1),
        "ok": len(latencies),
        "errors": dict(errors),
        "error_rate": round(n_err / n, 4),
        "completed_rate": round(len(latencies) / wall, 1),
        "latency": summary_ms(latencies),
        "client_send_lag": summary_ms(send_lag),
        "server_cpu_cores": round((proc_cpu_s(pid) - cpu0) / wall, 2),
        "loadgen_cpu_cores": round((sum(os.times()[:2]) - gen_cpu0) / wall, 2),
        "rss_mb_max_sampled": max(rss_samples) if rss_samples else None,
    }
    p99 = out["latency"].get("p99_ms")
    out["sustained"] = bool(out["error_rate"] <= 0.01 and p99 is not None and p99 < 1000.0)
    return out


def _runner() -> asyncio.Runner:
    try:
        import uvloop

        return asyncio.Runner(loop_factory=uvloop.new_event_loop)
    except ImportError:
        return asyncio.Runner()


SETTLE_LIMIT_S = 20.0


async def _settle(server: Server, limit_s: float = SETTLE_LIMIT_S) -> tuple[float, bool]:
    """An overloaded server goes on working through requests whose clients gave up: wait until
    its CPU use over half a second falls below a quarter of a core (at most `limit_s`).
    Returns (seconds waited, whether it settled)."""
    t0 = time.perf_counter()
    pid = server.proc.pid
    while time.perf_counter() - t0 < limit_s:
        c0 = proc_cpu_s(pid)
        await asyncio.sleep(0.5)
        if (proc_cpu_s(pid) - c0) / 0.5 < 0.25:
            return round(time.perf_counter() - t0, 1), True
    return round(time.perf_counter() - t0, 1), False


class RestartableServer:
    """A server that can be replaced by a fresh one when an overload left it with a backlog
    it does not work off in time (it has no admission control)."""

    def __init__(self, model_dir: Path, store_path: Path, log_dir: Path, name: str) -> None:
        self._args = (model_dir, store_path, log_dir, name)
        self._stack = contextlib.ExitStack()
        self.starts = 0
        self.cold_starts_s: list[float] = []
        self._peaks: list[float] = []
        self.first: Server = self._start()
        self.current = self.first

    def _start(self) -> Server:
        model_dir, store_path, log_dir, name = self._args
        self.starts += 1
        srv = self._stack.enter_context(running_server(model_dir, store_path, log_dir / f"{name}-{self.starts}.log"))
        srv.started["ready_rss_mb"] = srv.rss_mb()
        self.cold_starts_s.append(round(srv.cold_start_s, 2))
        return srv

    def restart(self) -> Server:
        self._peaks.append(self.current.peak_rss_mb() or 0.0)
        self._stack.close()
        self._stack = contextlib.ExitStack()
        self.current = self._start()
        return self.current

    def peak_rss_mb(self) -> float | None:
        now = self.current.peak_rss_mb()
        values = self._peaks + ([now] if now is not None else [])
        return max(values) if values else None

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> RestartableServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def load_test(
    server: Server,
    posts: list[dict[str, Any]],
    fixed_rate: float,
    fixed_s: float,
    steps: list[float],
    step_s: float,
    budget_s: float,
    log: Any = print,
    steps_down: list[float] | None = None,
    restart: Any = None,
) -> dict[str, Any]:
    """A warm-up, one fixed-rate phase, then rates stepped up until one is not sustained
    (> 1% errors or p99 ≥ 1 s), the steps run out or `budget_s` is spent. When not even the
    first step is sustained, the rates in `steps_down` are tried in turn until one is. Before each
    phase the server must settle; if it does not within SETTLE_LIMIT_S and `restart` (a callable
    returning a fresh Server) is given, the server is replaced and the phase runs on the new one."""
    bodies = [
        json.dumps({"title": p.get("title") or "", "body": p["body"]}, ensure_ascii=False).encode() for p in posts
    ]

    def show(res: dict[str, Any]) -> None:
        log(
            f"    step {res['offered_rate']:g} req/s: completed {res['completed_rate']} req/s, "
            f"p50 {res['latency'].get('p50_ms')} ms, p99 {res['latency'].get('p99_ms')} ms, "
            f"errors {res['error_rate'] * 100:.2f}%, server CPU {res['server_cpu_cores']} cores, "
            f"load generator CPU {res['loadgen_cpu_cores']} cores -> "
            f"{'sustained' if res['sustained'] else 'NOT sustained'}"
        )

    async def main() -> dict[str, Any]:
        limits = httpx.Limits(max_connections=MAX_INFLIGHT, max_keepalive_connections=MAX_INFLIGHT)
        state: dict[str, Any] = {"server": server, "last_failed": False}

        def new_client() -> httpx.AsyncClient:
            return httpx.AsyncClient(base_url=state["server"].url, timeout=TIMEOUT_S, limits=limits)

        client = new_client()
        try:

            async def phase(rate: float, seconds: float) -> dict[str, Any]:
                """Settle (or, after a failed phase, replace the server at once), then measure."""
                nonlocal client
                waited, settled = 0.0, False
                if not (state["last_failed"] and restart is not None):
                    waited, settled = await _settle(state["server"])
                restarted = False
                if not settled and restart is not None:
                    log("    server busy with the backlog of an overload: starting a fresh one")
                    await client.aclose()
                    state["server"] = restart()
                    client = new_client()
                    await _phase(client, bodies, min(rate, 10.0), 2.0, state["server"])  # warm-up
                    restarted = True
                res = await _phase(client, bodies, rate, seconds, state["server"])
                res["settled_before_s"], res["restarted_before"] = waited, restarted
                res["server_peak_rss_mb"] = state["server"].peak_rss_mb()
                state["last_failed"] = not res["sustained"]
                return res

            await _phase(client, bodies, min(fixed_rate, 20.0), 2.0, state["server"])  # warm-up
            fixed = await phase(fixed_rate, fixed_s)
            log(
                f"    fixed {fixed_rate:g} req/s for {fixed_s:g} s: p50 {fixed['latency'].get('p50_ms')} ms, "
                f"p99 {fixed['latency'].get('p99_ms')} ms, errors {fixed['error_rate'] * 100:.2f}%, "
                f"server CPU {fixed['server_cpu_cores']} cores"
            )
            stepped: list[dict[str, Any]] = []
            t0 = time.perf_counter()

            def time_left() -> bool:
                if time.perf_counter() - t0 + step_s + TIMEOUT_S > budget_s:
                    log(f"    stepping stopped: time budget of {budget_s:g} s spent")
                    return False
                return True

            # when the fixed phase failed at the first step's rate, do not repeat it: go straight down
            skip_up = bool(steps) and steps[0] == fixed_rate and not fixed["sustained"]
            for rate in [] if skip_up else steps:
                if not time_left():
                    break
                res = await phase(rate, step_s)
                stepped.append(res)
                show(res)
                if not res["sustained"]:
                    break
            if skip_up or (stepped and not any(s["sustained"] for s in stepped)):
                for rate in steps_down or []:
                    if not time_left():
                        break
                    res = await phase(rate, step_s)
                    stepped.append(res)
                    show(res)
                    if res["sustained"]:
                        break
        finally:
            await client.aclose()
        ok = [s for s in stepped if s["sustained"]]
        return {
            "fixed": fixed,
            "steps": stepped,
            "max_sustained_rate": max((s["offered_rate"] for s in ok), default=None),
            "max_sustained_completed_rate": max((s["completed_rate"] for s in ok), default=None),
            "step_limit_reached": bool(steps) and len(stepped) == len(steps) and all(s["sustained"] for s in stepped),
        }

    with _runner() as runner:
        loop_name = type(runner.get_loop()).__module__
        result = runner.run(main())
    result["loadgen_event_loop"] = loop_name
    result["criteria"] = "sustained = error rate ≤ 1% and p99 < 1 s, open-loop arrivals at a fixed rate"
    return result
