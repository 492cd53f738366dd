"""What hostile inputs cost a real ``sco-qa serve``: each decompression bomb uploaded (the
answer, the time, the server's peak memory after it), and /healthz and /ask latency while
2,000 idle sockets are held open. Usage: python benchmarks/hostile_inputs.py"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from contextlib import ExitStack
from pathlib import Path

import httpx
from common import ROOT, free_port, stats_ms, write_result
from http_load import wait_ready

TOKEN = "benchmark-admin-token"


def pdf_bomb(expanded_mb: int) -> bytes:
    """A one-page PDF whose content stream inflates to ``expanded_mb`` MB."""
    z = zlib.compressobj(9)
    chunk = b"0 0 m\n" * (1 << 17)
    body = b"".join(z.compress(chunk) for _ in range(expanded_mb * 2**20 // len(chunk)))
    body += z.flush()
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(body) + body
            + b"\nendstream"]  # fmt: skip
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for n, obj in enumerate(objs, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 5\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def zip_of(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return out.getvalue()


def bombs() -> dict[str, bytes]:
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
        + b"".join(
            b'<!ENTITY %s "%s">' % (chr(98 + i).encode(), (b"&" + chr(97 + i).encode() + b";") * 10)
            for i in range(8)
        )
        + b"]><w:document><w:body><w:p><w:r><w:t>&i;</w:t></w:r></w:p></w:body></w:document>"
    )
    types = b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'
    return {
        "stream-bomb-2gb.pdf": pdf_bomb(2048),
        "zip-bomb.docx": zip_of(
            {"[Content_Types].xml": types, "word/document.xml": b"\0" * (300 * 2**20)}
        ),
        "laughs.docx": zip_of({"[Content_Types].xml": types, "word/document.xml": laughs}),
        "huge-node.docx": zip_of(
            {"[Content_Types].xml": types, "word/document.xml": b"<w:t>" + b"a" * (12 * 2**20)}
        ),
    }


def peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def probe(url: str, path: str, n: int, **kw: object) -> dict[str, float]:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = httpx.request("POST" if "json" in kw else "GET", url + path, timeout=30, **kw)  # type: ignore[arg-type]
        assert r.status_code == 200, r.text
        times.append((time.perf_counter() - t0) * 1e3)
    return stats_ms(times)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        for f in (ROOT / "corpus").glob("*.md"):
            (corpus / f.name).write_bytes(f.read_bytes())
        port = free_port()
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "SCO_QA_ADMIN_TOKEN": TOKEN,
               "SCO_QA_MAX_FILE_MB": "10", "SCO_QA_KEEP_ALIVE_TIMEOUT": "30"}  # fmt: skip
        cmd = [sys.executable, "-m", "sco_qa", "serve", "--port", str(port), "--corpus",
               str(corpus), "--index", str(Path(tmp) / "index")]  # fmt: skip
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_ready(url, proc)
            before = peak_mb(proc.pid)
            rows = []
            for name, data in bombs().items():
                t0 = time.perf_counter()
                auth = {"authorization": f"Bearer {TOKEN}"}
                r = httpx.post(f"{url}/documents", files={"file": (name, data)}, headers=auth,
                               timeout=300)  # fmt: skip
                rows.append({"file": name, "bytes": len(data), "status": r.status_code,
                             "seconds": round(time.perf_counter() - t0, 2),
                             "server_peak_mb": peak_mb(proc.pid),
                             "reason": r.json()["error"]["message"][:160]})  # fmt: skip
            idle_free = {"healthz": probe(url, "/healthz", 200)}
            with ExitStack() as stack:
                for _ in range(2000):
                    stack.enter_context(socket.create_connection(("127.0.0.1", port)))
                idle = {
                    "healthz": probe(url, "/healthz", 200),
                    "ask": probe(url, "/ask", 50, json={"question": "Where did the leaders meet?"}),
                }
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    data = {"server_peak_mb_before": before, "bombs": rows, "no_idle_sockets": idle_free,
            "with_2000_idle_sockets": idle}  # fmt: skip
    worst = max(r["server_peak_mb"] for r in rows)
    line = (
        f"{len(rows)} bombs all {sorted({r['status'] for r in rows})}, server peak {worst} MB "
        f"(before {before} MB); /healthz p50 {idle['healthz']['p50']} ms, p99 "
        f"{idle['healthz']['p99']} ms with 2,000 idle sockets"
    )
    write_result("hostile_inputs", data, line)


if __name__ == "__main__":
    main()
