"""Collections as configuration: names, folders, their own settings, the default, and keys
restricted to some of them (pure logic, no model)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sco_qa.api.auth import api_keys, check_collection
from sco_qa.config import load_settings
from sco_qa.errors import CollectionForbidden, ConfigError
from sco_qa.index import DEFAULT_COLLECTION, collections_of, pick


def test_one_folder_is_the_default_collection_as_before(tmp_path: Path) -> None:
    settings = load_settings(corpus_dir=tmp_path / "c", index_dir=tmp_path / "i")
    (only,) = collections_of(settings)
    assert only.name == DEFAULT_COLLECTION
    assert only.spec.corpus_dir == tmp_path / "c" and only.spec.index_dir == tmp_path / "i"


def test_pairs_give_named_collections_each_with_its_index(tmp_path: Path) -> None:
    settings = load_settings(index_dir=tmp_path / "i", collections="hr=/data/hr, eng=/data/eng")
    hr, eng = collections_of(settings)
    assert (hr.name, eng.name) == ("hr", "eng")  # the first listed is the default
    assert hr.spec.corpus_dir == Path("/data/hr") and hr.spec.index_dir == tmp_path / "i" / "hr"
    assert eng.spec.index_dir == tmp_path / "i" / "eng" and eng.spec.collection == "eng"
    assert pick((hr, eng), None) is hr and pick((hr, eng), "eng") is eng
    with pytest.raises(ConfigError, match="there are: hr, eng"):
        pick((hr, eng), "sales")
    chosen = collections_of(settings.model_copy(update={"collection": "eng"}))
    assert [c.name for c in chosen] == ["eng"]


def test_a_file_gives_titles_and_own_settings(tmp_path: Path) -> None:
    (tmp_path / "hr").mkdir()
    toml = tmp_path / "collections.toml"
    toml.write_text(
        '[hr]\nfolder = "hr"\ntitle = "HR handbook"\n[hr.settings]\nabstain_threshold = 0.4\n'
        'passage_max_chars = 300\n\n[eng]\nfolder = "/data/eng"\n',
        encoding="utf-8",
    )
    settings = load_settings(index_dir=tmp_path / "i", collections_file=toml, top_k=4)
    hr, eng = collections_of(settings)
    assert hr.title == "HR handbook" and eng.title == "eng"
    assert hr.spec.corpus_dir == tmp_path / "hr"  # relative to the file
    assert hr.settings.abstain_threshold == 0.4 and eng.settings.abstain_threshold is None
    assert hr.spec.chunking.max_chars == 300 and eng.spec.chunking.max_chars == 700
    assert hr.settings.top_k == 4 == eng.settings.top_k  # the server's, where not their own
    assert hr.settings.corpus_dir == tmp_path / "hr"


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"collections": "HR=/x"}, "collection name 'HR'"),
        ({"collections": "hr"}, "is not NAME=FOLDER"),
        ({"collections": "hr=/a,hr=/b"}, "collections named twice: hr"),
        ({"collections": " , "}, "names no collection"),
        ({"collections": "a=/a", "collections_file": Path("x.toml")}, "not both"),
        ({"collections": "a=/a", "collection": "b"}, "no collection 'b'"),
    ],
)
def test_bad_collections_say_what_is_wrong(setting: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        collections_of(load_settings(**setting))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[hr]\ntitle = "x"\n', 'folder = "..."'),
        ('[hr]\nfolder = "/a"\ncolour = "red"\n', r"unknown keys \['colour'\]"),
        ('[hr]\nfolder = "/a"\n[hr.settings]\nport = 9\n', "cannot be set per collection"),
        ('[hr]\nfolder = "/a"\n[hr.settings]\ntop_k = 99\n', "collection hr: invalid settings"),
        ("[hr\n", "cannot read SCO_QA_COLLECTIONS_FILE"),
    ],
)
def test_bad_collection_files_say_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        collections_of(load_settings(collections_file=toml))


def test_a_key_restricted_to_collections(tmp_path: Path) -> None:
    keys_file = tmp_path / "keys"
    keys_file.write_text("open-key\nhr-key hr\n", encoding="utf-8")
    keys = api_keys(load_settings(api_keys_file=keys_file))
    hr_key = keys.match("hr-key")
    assert hr_key is not None and keys.match("open-key") not in keys.scopes
    scope = {"state": {"sco_qa_collections": keys.scopes[hr_key]}}
    check_collection(scope, "hr")
    with pytest.raises(CollectionForbidden, match="may use: hr") as err:
        check_collection(scope, "eng")
    assert err.value.status == 403
    check_collection({}, "eng")  # an unrestricted key (or none) may use every collection


@pytest.mark.slow
def test_collections_share_one_model_and_answer_stage(tmp_path: Path) -> None:
    from sco_qa.engine import Engine, shared_embedder

    for name in ("hr", "eng"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "note.md").write_text(f"# {name}\n\nThe {name} team meets on Mondays.\n")
    settings = load_settings(
        index_dir=tmp_path / "i", collections=f"hr={tmp_path / 'hr'},eng={tmp_path / 'eng'}"
    )
    hr, eng = (Engine.open(c.settings, spec=c.spec) for c in collections_of(settings))
    assert hr.index.path != eng.index.path
    assert hr.embedder is eng.embedder and hr.answerer is eng.answerer
    other = shared_embedder(settings.model_copy(update={"model_backend": "onnx"}))
    assert other is not hr.embedder  # another model setting: another model
