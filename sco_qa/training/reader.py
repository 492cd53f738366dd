"""Training the reader (a cross-encoder fine-tuned from the bundled MiniLM weights) on SQuAD
articles, resumably.

Each question becomes a *group*: the answer scorer's best ``CANDIDATES`` sentences from the
retrieved pool, each read with its preceding sentence and its document's title. Training
(a gold sentence the scorer missed, and an unanswerable question's tempting sentence, are
put into the group so each group teaches something) minimises, per group:

- a softmax over the candidates' answer logits *and* a question-level null logit (the mean
  of the candidates' null logits): the right sentence, or "none" for an unanswerable
  question, must win;
- a per-sentence binary loss on "this sentence holds the answer";
- start and end losses of the answer phrase inside the sentence that holds it.

Checkpoints (safetensors and a JSON state, written atomically) are taken every
``CHECKPOINT_EVERY`` steps; a run started again with the same data and schedule goes on from
the last one. The order of groups and dropout are seeded by step, so a resumed run trains
the same model as an uninterrupted one.
"""

from __future__ import annotations

import json
import logging
import math
import time
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..answer.pairs import LAYOUT, PairInput, batch_arrays, encode_pairs, token_span
from ..answer.reader import pair_text, tokenizer
from ..answer.reader_net import FROZEN_LAYERS, build_net, save_weights
from ..durable import replace_atomically
from ..engine import Engine
from ..evaluation.squad import SquadQuestion
from ..records import Sentence

log = logging.getLogger(__name__)
#: sentences in one question's training group (the softmax over them and the null); the
#: cascade may read fewer at serving time (``READ_CANDIDATES``): each pair is read on its own
CANDIDATES = 6
SEED = 0
CHECKPOINT_EVERY = 50


@dataclass(frozen=True)
class Schedule:
    """How long and how fast one reader is trained (recorded in its provenance)."""

    epochs: float = 1.0
    groups_per_step: int = 3
    lr: float = 6e-5
    head_lr: float = 1e-3
    warmup: float = 0.06
    unanswerable_repeat: int = 2  # unanswerable questions are seen this many times an epoch
    frozen_layers: int = FROZEN_LAYERS
    seed: int = SEED
    #: the forward pass in bfloat16 (torch's CPU autocast; weights, optimiser and losses stay
    #: in float32): on 2 cores with AVX-512 BF16, fold 0's 1.2-epoch reader trained in 14
    #: minutes against 27 in float32, and its first choice held the answer as often (0.765
    #: against 0.762; benchmarks/reader_epochs.py); a CPU without it computes the same, slower
    bf16: bool = False
    #: the phrase heads also learn "no phrase" ([CLS]) in every candidate that does not hold
    #: the answer, so a pair's best phrase against its null phrase (``pairs.span_gap``) says
    #: whether the sentence answers, as SQuAD 2.0 readers compare span and null scores
    null_span: bool = False


@dataclass(frozen=True)
class Group:
    """One question's candidates as the reader sees them, with what it should learn."""

    question: SquadQuestion
    positions: tuple[int, ...]
    inputs: tuple[PairInput, ...]
    labels: tuple[int, ...]  # 1: the sentence holds a gold answer
    phrases: tuple[tuple[int, int] | None, ...]  # gold phrase as token positions


def holds(q: SquadQuestion, s: Sentence) -> bool:
    """The sentence holds the start of a gold answer of ``q``."""
    return q.answerable and s.doc_id == q.doc_id and any(s.start <= a < s.end for a, _ in q.spans)


class Locator:
    """Which sentence of the table holds a character of a document."""

    def __init__(self, sentences: Sequence[Sentence]) -> None:
        self._by_doc: dict[str, tuple[list[int], list[int]]] = {}
        for pos, s in enumerate(sentences):
            starts, where = self._by_doc.setdefault(s.doc_id, ([], []))
            starts.append(s.start)
            where.append(pos)
        self._sentences = sentences

    def __call__(self, doc_id: str, offset: int) -> int | None:
        starts, where = self._by_doc.get(doc_id, ([], []))
        i = bisect_right(starts, offset) - 1
        if i < 0 or offset >= self._sentences[where[i]].end:
            return None
        return where[i]


def _inject(
    engine: Engine, at: Locator, q: SquadQuestion, *, chosen: list[int], pool: Sequence[int]
) -> None:
    """Put the sentence the group must learn from into ``chosen`` (in place): the gold one
    for an answerable question, the tempting one for an unanswerable one."""
    sents = engine.table.sentences
    if q.answerable:
        if any(holds(q, sents[p]) for p in chosen):
            return
        wanted = next((p for p in pool if holds(q, sents[p])), None)
        if wanted is None and q.spans:
            wanted = at(q.doc_id, q.spans[0][0])
    else:
        wanted = next(
            (p for s, _ in q.plausible if (p := at(q.doc_id, s)) is not None),
            None,
        )
        if wanted in chosen:
            return
    if wanted is not None:
        chosen[-1 if len(chosen) >= CANDIDATES else len(chosen) :] = [wanted]


def _phrase(q: SquadQuestion, s: Sentence, pair: PairInput) -> tuple[int, int] | None:
    for a, b in q.spans:
        if s.doc_id == q.doc_id and s.start <= a and b <= s.end:
            got = token_span(pair, a - s.start, b - s.start)
            if got is not None:
                return got
    return None


def make_groups(
    engine: Engine,
    ranked: Sequence[tuple[SquadQuestion, Sequence[int]]],
    *,
    inject: bool,
) -> list[Group]:
    """Groups for the questions, each from its candidates ranked best first."""
    tok = tokenizer()
    titles = {d.doc_id: d.title for d in engine.index.documents.values()}
    at = Locator(engine.table.sentences)
    out = []
    for q, order in ranked:
        chosen = list(order[:CANDIDATES])
        if inject:
            _inject(engine, at, q, chosen=chosen, pool=order)
        if not chosen:
            continue
        texts = [pair_text(engine.table, titles, q.question, pos=p, layout=LAYOUT) for p in chosen]
        inputs = encode_pairs(tok, texts)
        sents = [engine.table.sentences[p] for p in chosen]
        out.append(
            Group(
                q,
                tuple(chosen),
                tuple(inputs),
                tuple(int(holds(q, s)) for s in sents),
                tuple(_phrase(q, s, i) for s, i in zip(sents, inputs, strict=True)),
            )
        )
    return out


def _phrase_loss(start: Any, end: Any, g: Group, i: int, *, null_span: bool) -> Any:
    """Start and end cross-entropy of pair ``i``'s phrase over its sentence's tokens (and
    [CLS], the null phrase, with ``null_span``: the target of a pair that does not hold the
    answer); None when the pair teaches no phrase."""
    import torch

    span = g.phrases[i]
    if span is None and not (null_span and not g.labels[i]):
        return None
    lo, hi = g.inputs[i].first, g.inputs[i].first + len(g.inputs[i].offsets)
    where = ([0] if null_span else []) + list(range(lo, hi))
    s_log, e_log = start[where], end[where]
    if span is None:
        a = b = 0
    else:
        a, b = where.index(span[0]), where.index(span[1])
    return 0.5 * (torch.logsumexp(s_log, 0) - s_log[a] + torch.logsumexp(e_log, 0) - e_log[b])


def _loss(net: Any, groups: Sequence[Group], schedule: Schedule) -> Any:
    import torch

    inputs = [i for g in groups for i in g.inputs]
    feed = {k: torch.from_numpy(v) for k, v in batch_arrays(inputs).items()}
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=schedule.bf16):
        out = net(**feed)
    pair, start, end = (t.float() for t in out)
    total = pair.new_zeros(())
    row = 0
    for g in groups:
        n = len(g.inputs)
        a, null = pair[row : row + n, 0], pair[row : row + n, 1].mean()
        labels = torch.tensor(g.labels, dtype=pair.dtype)
        logits = torch.cat([a, null.reshape(1)])
        target = [i for i, y in enumerate(g.labels) if y] or [n]
        total = total + torch.logsumexp(logits, 0) - torch.logsumexp(logits[target], 0)
        total = total + torch.nn.functional.binary_cross_entropy_with_logits(a, labels)
        for i in range(n):
            got = _phrase_loss(start[row + i], end[row + i], g, i, null_span=schedule.null_span)
            if got is not None:
                total = total + got
        row += n
    return total / len(groups)


def _order(groups: Sequence[Group], schedule: Schedule, epoch: int) -> list[int]:
    """The groups of one epoch in their seeded order (unanswerable ones repeated)."""
    idx = [
        i
        for i, g in enumerate(groups)
        for _ in range(1 if g.question.answerable else schedule.unanswerable_repeat)
    ]
    rng = np.random.default_rng(schedule.seed + epoch)
    return [idx[i] for i in rng.permutation(len(idx))]


def total_steps(groups: Sequence[Group], schedule: Schedule) -> int:
    """Optimiser steps of a whole run."""
    per_epoch = len(_order(groups, schedule, 0))
    return max(1, math.ceil(schedule.epochs * per_epoch / schedule.groups_per_step))


def _batch_at(groups: Sequence[Group], schedule: Schedule, step: int) -> list[Group]:
    per_epoch = len(_order(groups, schedule, 0))
    first = step * schedule.groups_per_step
    out = []
    for k in range(first, first + schedule.groups_per_step):
        epoch, i = divmod(k, per_epoch)
        out.append(groups[_order(groups, schedule, epoch)[i]])
    return out


def _optimiser(net: Any, schedule: Schedule) -> Any:
    import torch

    body = [p for n, p in net.named_parameters() if p.requires_grad and n.startswith("body.")]
    heads = [p for n, p in net.named_parameters() if p.requires_grad and not n.startswith("body.")]
    return torch.optim.AdamW(
        [{"params": body, "lr": schedule.lr}, {"params": heads, "lr": schedule.head_lr}],
        weight_decay=0.01,
    )


def _rate(step: int, total: int, warmup: float) -> float:
    """Linear warm-up, then linear decay to zero."""
    w = max(1, int(warmup * total))
    return (step + 1) / w if step < w else max(0.0, (total - step) / max(1, total - w))


def _save_checkpoint(folder: Path, net: Any, opt: Any, *, state: dict[str, Any]) -> None:
    from safetensors.torch import save

    tensors = {n: p.detach().clone() for n, p in net.named_parameters() if p.requires_grad}
    names = {id(p): n for n, p in net.named_parameters()}
    for group in opt.param_groups:
        for p in group["params"]:
            st = opt.state.get(p)
            if st:
                tensors[f"m.{names[id(p)]}"] = st["exp_avg"]
                tensors[f"v.{names[id(p)]}"] = st["exp_avg_sq"]
                state.setdefault("adam_steps", {})[names[id(p)]] = float(st["step"])
    replace_atomically(folder / "checkpoint.safetensors", save(tensors))
    replace_atomically(folder / "checkpoint.json", json.dumps(state).encode())


def _load_checkpoint(folder: Path, net: Any, opt: Any, *, key: dict[str, Any]) -> tuple[int, float]:
    """The step to go on from and the seconds trained so far (0, 0 without a matching
    checkpoint)."""
    import torch
    from safetensors.torch import load_file

    meta = folder / "checkpoint.json"
    if not meta.is_file():
        return 0, 0.0
    state = json.loads(meta.read_text())
    if state.get("key") != key:
        log.warning("the checkpoint in %s is for other data or settings: starting over", folder)
        return 0, 0.0
    tensors = load_file(str(folder / "checkpoint.safetensors"))
    params = dict(net.named_parameters())
    with torch.no_grad():
        for n, p in params.items():
            if n in tensors:
                p.copy_(tensors[n])
    for group in opt.param_groups:
        for p in group["params"]:
            n = next(k for k, v in params.items() if v is p)
            if f"m.{n}" in tensors:
                opt.state[p] = {
                    "step": torch.tensor(state["adam_steps"][n]),
                    "exp_avg": tensors[f"m.{n}"].clone(),
                    "exp_avg_sq": tensors[f"v.{n}"].clone(),
                }
    return int(state["step"]), float(state.get("seconds", 0.0))


def cpu_bf16() -> bool:
    """This CPU multiplies bfloat16 natively (AVX-512 BF16 or AMX), so ``Schedule.bf16``
    speeds training up (Linux; False where it cannot tell)."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8").split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def train_reader(
    groups: Sequence[Group],
    folder: Path,
    *,
    schedule: Schedule,
    key: dict[str, Any],
    progress: Callable[[str], None] = print,
    keep: Sequence[int] = (),
) -> Path:
    """Train a reader on ``groups`` into ``folder`` (resuming a matching checkpoint there)
    and return the path of its weights; ``key`` identifies the data and settings. The
    weights after each step in ``keep`` are kept too, as ``reader.step-<step>.safetensors``
    (a learning curve from one run)."""
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / "reader.safetensors"
    done = folder / "done.json"
    full_key = {**key, "schedule": asdict(schedule)}
    if done.is_file() and json.loads(done.read_text()).get("key") == full_key:
        progress(f"{folder.name}: already trained")
        return weights
    if schedule.bf16 and not cpu_bf16():
        log.warning("this CPU has no native bfloat16: training in it is slower than in float32")
    torch.manual_seed(schedule.seed)
    net = build_net(schedule.frozen_layers).train()
    opt = _optimiser(net, schedule)
    total = total_steps(groups, schedule)
    step, before = _load_checkpoint(folder, net, opt, key=full_key)
    started, first = time.perf_counter(), step
    bases = [g["lr"] for g in opt.param_groups]
    while step < total:
        torch.manual_seed(schedule.seed * 1_000_003 + step)
        for g, base in zip(opt.param_groups, bases, strict=True):
            g["lr"] = base * _rate(step, total, schedule.warmup)
        loss = _loss(net, _batch_at(groups, schedule, step), schedule)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for p in net.parameters() if p.requires_grad], 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        step += 1
        if step in keep:
            save_weights(net, folder / f"reader.step-{step}.safetensors")
        if step % CHECKPOINT_EVERY == 0 or step == total:
            spent = before + time.perf_counter() - started
            _save_checkpoint(folder, net, opt,
                             state={"key": full_key, "step": step, "seconds": spent})  # fmt: skip
            rate = (step - first) / max(time.perf_counter() - started, 1e-9)
            left = (total - step) / max(rate, 1e-9) / 60
            progress(
                f"{folder.name}: step {step}/{total}, loss {loss.item():.3f}, "
                f"{rate * schedule.groups_per_step * CANDIDATES:.0f} pairs/s, ~{left:.0f} min left"
            )
    save_weights(net.eval(), weights)
    spent = round(before + time.perf_counter() - started, 1)  # over every session of the run
    replace_atomically(
        done, json.dumps({"key": full_key, "steps": total, "seconds": spent}).encode()
    )
    return weights


def pair_count(groups: Sequence[Group]) -> int:
    """How many pairs the groups hold."""
    return sum(len(g.inputs) for g in groups)
