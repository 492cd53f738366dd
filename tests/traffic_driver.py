"""Run inside a private network namespace (``unshare -n``) by tests/test_no_traffic.py:
bring loopback up, start the real ``sco-qa serve`` under strace, ask 50 questions across
/ask, /v1 and /mcp, stop it. Usage: traffic_driver.py TRACE_FILE PORT (the environment names
the corpus, index, model cache and HOME)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx

QUESTIONS = ("Which organizations does the country chair?", "Where did the leaders meet?")


def main(trace: str, port: str) -> int:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    cmd = ["strace", "-f", "-q", "-e", "trace=connect,sendto", "-o", trace,
           sys.executable, "-m", "sco_qa", "serve", "--port", port]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    answered = 0
    try:
        deadline = time.monotonic() + 300
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                print("the server did not get ready", file=sys.stderr)
                return 2
            try:
                if httpx.get(f"{url}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        mcp_headers = {"accept": "application/json, text/event-stream"}
        for n in range(50):
            q = f"{QUESTIONS[n % 2]} ({n})"
            if n % 3 == 0:
                r = httpx.post(f"{url}/ask", json={"question": q}, timeout=60)
            elif n % 3 == 1:
                chat = {"model": "sco-qa", "messages": [{"role": "user", "content": q}]}
                r = httpx.post(f"{url}/v1/chat/completions", json=chat, timeout=60)
            else:
                call = {"jsonrpc": "2.0", "id": n, "method": "tools/call",
                        "params": {"name": "ask", "arguments": {"question": q}}}  # fmt: skip
                r = httpx.post(f"{url}/mcp", json=call, headers=mcp_headers, timeout=60)
            answered += r.status_code == 200
        time.sleep(2)  # late telemetry would come after the answers
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    print(answered)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
