"""Access: who can reach the daemon (its ipc socket, tcp binds, CURVE keys), and who cannot."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import zmq
import zmq.auth

from dreamd import protocol

from ..daemon import ROOT, daemon_env, dream_frames, free_port, wait_status
from .jobs import spec_params, spec_pixels
from .processes import running_daemon
from .rows import Row, skipped
from .sizes import Sizes


def as_user(uid: int, gid: int, fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run ``fn`` in a forked child with another user's ids; return what it returned."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop privileges for good, then probe
        try:
            os.close(r)
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            result = fn()
        except BaseException as exc:
            result = {"error": repr(exc)}
        with contextlib.suppress(BaseException):
            os.write(w, json.dumps(result).encode())
        os._exit(0)
    os.close(w)
    chunks = []
    while chunk := os.read(r, 65536):
        chunks.append(chunk)
    os.close(r)
    os.waitpid(pid, 0)
    return dict(json.loads(b"".join(chunks) or b"{}"))


def probe_socket(sock: Path, endpoint: str, wait: float = 2.0) -> dict[str, Any]:
    """What a process can do with the daemon's ipc socket: stat it, connect to it, and
    get a ZeroMQ ``ping`` answered."""
    out: dict[str, Any] = {"uid": os.getuid()}
    try:
        os.stat(sock)
        out["stat"] = "ok"
    except OSError as exc:
        out["stat"] = exc.__class__.__name__
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(wait)
    try:
        s.connect(str(sock))
        out["connect"] = "ok"
    except OSError as exc:
        out["connect"] = exc.__class__.__name__
    finally:
        s.close()
    ctx: zmq.Context[Any] = zmq.Context()
    try:
        dealer = ctx.socket(zmq.DEALER)
        dealer.linger = 0
        dealer.connect(endpoint)
        dealer.send_multipart(protocol.encode_request(protocol.PingRequest("probe")))
        out["ping"] = "answered" if dealer.poll(int(wait * 1000)) else "nothing"
        dealer.close(0)
    finally:
        ctx.destroy(0)
    return out


def access_ipc(sizes: Sizes, work: Path) -> list[Row]:
    """The ipc socket's folder is 0700 (a looser one of ours is tightened, someone else's
    refused) and another user (nobody) can neither stat, connect nor talk to the socket."""
    what = "access: ipc socket folder and another user (nobody)"
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return [skipped(what, "needs root to act as another user")]
    import pwd

    nobody = pwd.getpwnam("nobody")
    # A world-traversable runtime folder, so that only the socket's own folder protects it.
    work.chmod(0o755)
    runtime = work / "run"
    runtime.mkdir(mode=0o755)
    runtime.chmod(0o755)
    (runtime / "dreamd").mkdir(mode=0o777)  # a pre-existing, too open folder of ours
    (runtime / "dreamd").chmod(0o777)
    results: dict[str, Any] = {}
    exits: list[int] = []
    with running_daemon(work, exits=exits) as d:
        sock = protocol.ipc_path(d.endpoint)
        assert sock is not None
        mode = sock.parent.stat().st_mode & 0o777
        results["stranger"] = as_user(nobody.pw_uid, nobody.pw_gid,
                                      lambda: probe_socket(sock, d.endpoint))  # fmt: skip
        results["owner"] = probe_socket(sock, d.endpoint)
    # A socket folder that belongs to someone else: refused before anything is bound.
    other = work / "other"
    other.mkdir(mode=0o755)
    (other / "dreamd").mkdir(mode=0o700)
    os.chown(other / "dreamd", nobody.pw_uid, nobody.pw_gid)
    refused = subprocess.run(
        [sys.executable, "-m", "dreamd.daemon", "serve", "--bind", f"ipc://{other}/dreamd/d.sock"],
        cwd=ROOT, env=daemon_env(other), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    stranger, owner = results["stranger"], results["owner"]
    ok = (
        mode == 0o700
        and stranger.get("stat") == "PermissionError"
        and stranger.get("connect") == "PermissionError"
        and stranger.get("ping") == "nothing"
        and owner.get("ping") == "answered"
        and refused.returncode == 4
        and "belongs to another user" in refused.stderr
        and exits == [0]
    )
    held = (
        f"socket folder {mode:04o} (created 0777 beforehand: tightened); as nobody: stat "
        f"{stranger.get('stat')}, connect {stranger.get('connect')}, ZeroMQ ping "
        f"{stranger.get('ping')}; as the owner: ping {owner.get('ping')}; a socket folder "
        f"owned by nobody: serve refused (exit {refused.returncode})"
    )
    return [Row(what, 4, held, ok)]


def access_binds(sizes: Sizes, work: Path) -> list[Row]:
    """Every non-loopback bind without CURVE keys is refused before anything listens."""
    hosts = ["0.0.0.0", "*", "[::]", socket.gethostname()]
    with contextlib.suppress(OSError):
        lan = _lan_address()
        if lan:
            hosts.append(lan)
    refused: list[str] = []
    listening: list[str] = []
    for host in hosts:
        port = free_port()
        p = subprocess.run(
            [sys.executable, "-m", "dreamd.daemon", "serve", "--bind", f"tcp://{host}:{port}",
             "--model", "efficientnet-lite0", "--device", "cpu"],
            cwd=ROOT, env=daemon_env(work), capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        if p.returncode == 4 and "without encryption" in p.stderr:
            refused.append(host)
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                listening.append(host)
    ok = len(refused) == len(hosts) and not listening
    held = (
        f"refused {len(refused)}/{len(hosts)} ({', '.join(hosts)}) with exit 4 and “refusing "
        f"to bind … without encryption”; nothing left listening"
    )
    return [Row("access: non-loopback tcp bind without CURVE keys", len(hosts), held, ok)]


def _lan_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks a route
        addr = str(s.getsockname()[0])
    return None if addr.startswith("127.") else addr


def access_curve(sizes: Sizes, work: Path) -> list[Row]:
    """CURVE: keys on disk are private; strangers get nothing, a listed client is served."""
    keys = work / "curve"
    gen = subprocess.run(
        [sys.executable, "-m", "dreamd.daemon", "keygen", "--curve-dir", str(keys), "--client",
         "alice", "--client", "bob"],
        cwd=ROOT, env=daemon_env(work), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    if gen.returncode != 0:
        return [Row("access: CURVE keys", 1, f"keygen failed: {gen.stderr}", False)]
    secrets = sorted(keys.rglob("*.key_secret"))
    secret_modes = {p.name: p.stat().st_mode & 0o777 for p in secrets}
    dir_modes = {
        str(p.relative_to(work)): p.stat().st_mode & 0o777
        for p in (keys, keys / "authorized_clients", keys / "clients")
    }
    # An extra pair nobody listed, and a server key that is not the daemon's.
    _, stranger_sec = zmq.auth.create_certificates(str(work), "mallory")
    fake_pub, _ = zmq.auth.create_certificates(str(work), "fake-server")
    leaky = work / "leaky"
    shutil.copytree(keys, leaky)
    (leaky / "server.key_secret").chmod(0o644)
    leaky_run = subprocess.run(
        [sys.executable, "-m", "dreamd.daemon", "serve", "--bind", f"tcp://0.0.0.0:{free_port()}",
         "--curve-dir", str(leaky)],
        cwd=ROOT, env=daemon_env(work), capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    server_pub, _ = zmq.auth.load_certificate(keys / "server.key")
    alice_pub, alice_sec = zmq.auth.load_certificate(keys / "clients" / "alice.key_secret")
    mal_pub, mal_sec = zmq.auth.load_certificate(stranger_sec)
    bogus_server, _ = zmq.auth.load_certificate(fake_pub)
    kinds: dict[str, tuple[bytes, bytes, bytes] | None] = {
        "an unlisted client key": (mal_pub, mal_sec, server_pub),
        "a listed key, wrong server key": (alice_pub, alice_sec, bogus_server),
        "no CURVE at all": None,
    }
    got: dict[str, int] = {k: 0 for k in kinds}
    served = 0
    exits: list[int] = []
    dwork = work / "d"
    dwork.mkdir()
    with running_daemon(dwork, tcp=True, extra=["--curve-dir", str(keys)], exits=exits) as d:
        for _ in range(sizes.curve_attempts):
            for name, pair in kinds.items():
                got[name] += _curve_probe(d.tcp, pair)
            served += _curve_probe(d.tcp, (alice_pub, alice_sec, server_pub)) > 0
        st = wait_status(d, lambda s: not s["running"] and s["queue"] == 0, what="idle")
    attempts = sizes.curve_attempts
    ok = (
        all(m == 0o600 for m in secret_modes.values())
        and len(secret_modes) == 3
        and all(m == 0o700 for m in dir_modes.values())
        and leaky_run.returncode == 4
        and "chmod 600" in leaky_run.stderr
        and not any(got.values())
        and served == attempts
        and st["jobs"]["done"] + st["jobs"]["cancelled"] == attempts  # the listed one's only
        and exits == [0]
    )
    strangers = ", ".join(f"{k}: {v} messages" for k, v in got.items())
    held = (
        f"secret keys {', '.join(f'{n} {m:04o}' for n, m in secret_modes.items())}; key "
        f"folders {', '.join(f'{m:04o}' for m in dir_modes.values())}; a 0644 server secret "
        f"refused (exit {leaky_run.returncode}); strangers, each sending ping + dream and "
        f"waiting 1 s: {strangers}; the listed client answered {served}/{attempts}; only its "
        f"{st['jobs']['done'] + st['jobs']['cancelled']} dreams reached the queue"
    )
    return [Row("access: CURVE keys and strangers", attempts * (len(kinds) + 1) + 2, held, ok)]


def _curve_probe(endpoint: str, keys: tuple[bytes, bytes, bytes] | None) -> int:
    """Send ping and a dream with ``keys`` (public, secret, server public); count what
    comes back within a second."""
    ctx: zmq.Context[Any] = zmq.Context()
    try:
        s = ctx.socket(zmq.DEALER)
        s.linger = 0
        if keys is not None:
            s.curve_publickey, s.curve_secretkey, s.curve_serverkey = keys
        s.connect(endpoint)
        s.send_multipart(protocol.encode_request(protocol.PingRequest("curve-ping")), zmq.NOBLOCK)
        with contextlib.suppress(zmq.Again):
            s.send_multipart(dream_frames(spec_pixels(0), spec_params(0)), zmq.NOBLOCK)
        received = 0
        deadline = time.monotonic() + 1.0
        while (left := deadline - time.monotonic()) > 0:
            if s.poll(int(left * 1000)):
                s.recv_multipart()
                received += 1
                if received >= 2:  # pong and accepted: enough to know it is served
                    break
        s.close(0)
        return received
    finally:
        ctx.destroy(0)
