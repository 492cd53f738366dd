"""The worked example of docs/scaling.md: Debian's nginx balancing several stateless
``sco-qa serve`` replicas on loopback that share one immutable index build, load-tested
with wrk through nginx. Needs nginx and wrk (apt-get install nginx wrk).
Usage: python benchmarks/nginx_replicas.py [--replicas 2] [--seconds 10]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from common import ROOT, free_port, write_result
from http_load import lua_script, wait_ready, wrk

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
    client_max_body_size 32k;
    location / {{
      proxy_pass http://sco_qa;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_next_upstream error timeout;
    }}
  }}
}}
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--replicas", type=int, default=2)
    ap.add_argument("--seconds", type=int, default=10)
    args = ap.parse_args()
    for tool in ("nginx", "wrk"):
        if not shutil.which(tool) and not Path(f"/usr/sbin/{tool}").exists():
            raise SystemExit(f"{tool} is not installed: apt-get install {tool}")
    tmp = Path(tempfile.mkdtemp(prefix="sco-qa-nginx-"))
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "SCO_QA_INDEX_DIR": str(tmp / "index"),
        "SCO_QA_CORPUS_DIR": str(ROOT / "corpus"),
        "SCO_QA_EMBED_CACHE_SIZE": "0",
        "SCO_QA_MODEL_THREADS": "1",  # one core per replica
    }
    subprocess.run([sys.executable, "-m", "sco_qa", "index"], env=env, check=True)
    procs, ports = [], [free_port() for _ in range(args.replicas)]
    for port in ports:
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "sco_qa", "serve", "--port", str(port)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    front = free_port()
    conf = tmp / "nginx.conf"
    servers = "\n".join(f"    server 127.0.0.1:{p};" for p in ports)
    conf.write_text(CONF.format(tmp=tmp, servers=servers, port=front))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    front_proc = None
    try:
        for port, proc in zip(ports, procs, strict=True):
            wait_ready(f"http://127.0.0.1:{port}", proc)
        front_proc = subprocess.Popen([nginx, "-c", str(conf), "-p", str(tmp), "-g", "daemon off;"])
        url = f"http://127.0.0.1:{front}"
        wait_ready(url, front_proc)
        script = lua_script(tmp)
        wrk(url, script, 2, 3)
        rows = [wrk(url, script, c, args.seconds) for c in (1, 8, 32)]
    finally:
        if front_proc:
            front_proc.terminate()
            front_proc.wait(timeout=10)
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)
    for r in rows:
        print(r)
    c8 = rows[1]
    line = (
        f"nginx + {args.replicas} replicas, no embedding cache: c=8 {c8['rps']} req/s, "
        f"p50 {c8['p50_ms']} ms, p99 {c8['p99_ms']} ms; c=32 errors {rows[2]['errors']}"
    )
    write_result(f"nginx_{args.replicas}_replicas", {"replicas": args.replicas, "rows": rows}, line)


if __name__ == "__main__":
    main()
