"""The MCP tools and resources in process, over a real index of documents in sub-folders with
fake vectors: ids with slashes, slices, errors."""

import asyncio
import json
from pathlib import Path

from mcp import Client

from sco_qa.answer import load_scorer
from sco_qa.api.mcp_server import build_mcp
from sco_qa.config import load_settings
from sco_qa.engine import Engine

from .fakes import FakeEmbedder
from .samples import write_mixed


def test_resources_and_slices_for_documents_in_sub_folders(tmp_path: Path) -> None:
    corpus = write_mixed(tmp_path / "corpus")
    settings = load_settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    engine = Engine.open(settings, FakeEmbedder(), answerer=load_scorer())
    nested = next(d for d in engine.index.documents.values() if "/" in d.doc_id)

    async def run() -> None:
        server = build_mcp(lambda name, request: ("default", engine), lambda: [])
        async with Client(server) as client:
            info = client.server_info
            assert info.name == "sco-qa" and info.version != "" and client.instructions
            listed = json.loads((await client.read_resource("documents://list")).contents[0].text)
            assert {d["doc_id"] for d in listed} == set(engine.index.documents)
            uri = next(d["uri"] for d in listed if d["doc_id"] == nested.doc_id)
            assert "/" not in uri.removeprefix("documents://")
            text = (await client.read_resource(uri)).contents[0].text
            assert text == nested.text
            part = await client.call_tool(
                "get_document", {"doc_id": nested.doc_id, "start": 3, "end": 40}
            )
            assert part.structured_content["text"] == nested.text[3:40]
            assert part.structured_content["length"] == len(nested.text)
            too_far = await client.call_tool(
                "get_document", {"doc_id": nested.doc_id, "end": len(nested.text) + 1}
            )
            assert too_far.is_error and "length" in too_far.content[0].text

    asyncio.run(run())
