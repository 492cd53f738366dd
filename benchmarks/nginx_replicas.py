"""The worked example of docs/scaling.md: Debian's nginx balancing several stateless
``sco-qa serve`` replicas on loopback that share one immutable index build, load-tested
with wrk through nginx. Needs nginx and wrk (apt-get install nginx wrk).

With ``--store milvus`` the replicas keep their vectors in one Milvus Lite gRPC server
(started here) and share one index folder; while wrk runs at concurrency 32 through nginx a
document is uploaded through nginx (to whichever replica nginx picks), and the run records
the failed requests and when each replica answered from the new build.
Usage: python benchmarks/nginx_replicas.py [--replicas 2] [--seconds 10] [--store milvus]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from common import ROOT, free_port, write_result
from http_load import lua_script, wait_ready, wrk
from vector_store import milvus_server

ADMIN = "bench-admin-7c21"
NOTE = b"# Parking\n\nVisitors park in the blue garage behind the library.\n"
NEW_QUESTION = "Where do visitors park?"

CONF = """
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  upstream sco_qa {{
    least_conn;
{servers}
    keepalive 64;
  }}
  server {{
    listen 127.0.0.1:{port};
    client_max_body_size 1m;
    location / {{
      proxy_pass http://sco_qa;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host localhost;
      proxy_next_upstream error timeout;
    }}
  }}
}}
"""


def upload_while_loaded(url: str, replicas: list[str], after: float) -> dict[str, Any]:
    """After ``after`` seconds, upload a document through nginx; then ask every replica
    directly until each answers from the new build."""
    time.sleep(after)
    t0 = time.perf_counter()
    up = httpx.post(f"{url}/documents", files={"file": ("parking.md", NOTE)},
                    headers={"authorization": f"Bearer {ADMIN}"}, timeout=300)  # fmt: skip
    served: dict[str, float] = {}
    deadline = time.monotonic() + 120
    while up.status_code == 201 and time.monotonic() < deadline and len(served) < len(replicas):
        for r in replicas:
            if r in served:
                continue
            got = httpx.post(f"{r}/ask", json={"question": NEW_QUESTION}, timeout=60).json()
            if got.get("answered") and "blue garage" in got.get("answer", ""):
                served[r] = round(time.perf_counter() - t0, 2)
        time.sleep(0.2)
    return {"upload_status": up.status_code, "served_after_seconds": served,
            "all_replicas_serve_it": len(served) == len(replicas)}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--replicas", type=int, default=2)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--store", choices=("faiss", "milvus"), default="faiss")
    args = ap.parse_args()
    for tool in ("nginx", "wrk"):
        if not shutil.which(tool) and not Path(f"/usr/sbin/{tool}").exists():
            raise SystemExit(f"{tool} is not installed: apt-get install {tool}")
    tmp = Path(tempfile.mkdtemp(prefix="sco-qa-nginx-"))
    corpus = tmp / "corpus"  # a copy: the upload writes into it
    shutil.copytree(ROOT / "corpus", corpus, ignore=shutil.ignore_patterns("*.jsonl"))
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "SCO_QA_INDEX_DIR": str(tmp / "index"),
        "SCO_QA_CORPUS_DIR": str(corpus),
        "SCO_QA_EMBED_CACHE_SIZE": "0",
        "SCO_QA_MODEL_THREADS": "1",  # one core per replica
    }
    milvus = None
    if args.store == "milvus":
        milvus, uri = milvus_server(tmp / "milvus")
        env |= {"SCO_QA_VECTOR_STORE": "milvus", "SCO_QA_MILVUS_URI": uri,
                "SCO_QA_ADMIN_TOKEN": ADMIN, "SCO_QA_RELOAD_INTERVAL": "0.5"}  # fmt: skip
    subprocess.run([sys.executable, "-m", "sco_qa", "index"], env=env, check=True)
    procs, ports = [], [free_port() for _ in range(args.replicas)]
    for port in ports:
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "sco_qa", "serve", "--port", str(port)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=(tmp / f"replica-{port}.log").open("wb"),
            )
        )
    front = free_port()
    conf = tmp / "nginx.conf"
    servers = "\n".join(f"    server 127.0.0.1:{p};" for p in ports)
    conf.write_text(CONF.format(tmp=tmp, servers=servers, port=front))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    front_proc = None
    upload: dict[str, Any] = {}
    try:
        for port, proc in zip(ports, procs, strict=True):
            wait_ready(f"http://127.0.0.1:{port}", proc)
        front_proc = subprocess.Popen([nginx, "-c", str(conf), "-p", str(tmp), "-g", "daemon off;"])
        url = f"http://127.0.0.1:{front}"
        wait_ready(url, front_proc)
        script = lua_script(tmp)
        wrk(url, script, 2, 3)
        if milvus is None:
            rows = [wrk(url, script, c, args.seconds) for c in (1, 8, 32)]
        else:
            replicas = [f"http://127.0.0.1:{p}" for p in ports]
            job = threading.Thread(
                target=lambda: upload.update(upload_while_loaded(url, replicas, 2.0))
            )
            job.start()
            rows = [wrk(url, script, 32, max(args.seconds, 20))]
            job.join()
    finally:
        if front_proc:
            front_proc.terminate()
            front_proc.wait(timeout=10)
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=30)
        if milvus is not None:
            milvus.terminate()
            milvus.wait(timeout=30)
        if os.environ.get("SCO_QA_BENCH_KEEP"):
            print("kept", tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    for r in rows:
        print(r)
    if milvus is not None:
        c32 = rows[0]
        line = (
            f"nginx + {args.replicas} replicas on one Milvus Lite server, c=32 during an "
            f"upload: {c32['requests']} requests, {c32['errors']} failed, p50 {c32['p50_ms']} ms; "
            f"upload {upload.get('upload_status')}, served by every replica: "
            f"{upload.get('all_replicas_serve_it')} ({upload.get('served_after_seconds')} s)"
        )
        name = f"nginx_{args.replicas}_replicas_milvus"
        write_result(name, {"replicas": args.replicas, "rows": rows, "upload": upload}, line)
        return
    c8 = rows[1]
    line = (
        f"nginx + {args.replicas} replicas, no embedding cache: c=8 {c8['rps']} req/s, "
        f"p50 {c8['p50_ms']} ms, p99 {c8['p99_ms']} ms; c=32 errors {rows[2]['errors']}"
    )
    write_result(f"nginx_{args.replicas}_replicas", {"replicas": args.replicas, "rows": rows}, line)


if __name__ == "__main__":
    main()
