"""Training a scorer on a dataset folder: pre-training, alignment, the emotion classifier.

Read top to bottom (``Options``, every knob ``--set KEY=VALUE`` can turn, are in
``encoder_options``): the data (``Corpus``: the records of a dataset folder), batches, the
two losses, evaluation, the emotion classifier, then ``train`` (``train_request`` is the
``musegen train --family music-encoder`` entry of the family, ``scoring.family``):

1. **pretrain**: masked-patch reconstruction of the music encoder (M3's objective);
2. **align**: symmetric InfoNCE between piece embeddings and embeddings of their
   descriptions (`descriptions.describe` with a random subset of phrases), learned
   temperature. A description names only some properties, so several pieces of a batch may
   fit it: all of them count as positives (a multi-positive InfoNCE), which keeps
   "a fast tune" from pushing the other fast tunes of the batch away;
3. **emotion**: a class-balanced multinomial logistic regression from piece embeddings of
   the train split to the analyzer's ``labels["quadrant"]``.

Output directory layout::

    OUT/musegen.json, OUT/model.safetensors      the finished scorer (`scorer.load_scorer(OUT)`)
    OUT/best/                                    the align-stage weights of lowest validation loss
    OUT/last/                                    the latest weights, and training_state.{json,safetensors}

Nothing is pickled. Batches, masks and crops depend only on (seed, stage, step), and torch's
RNG state is saved, so ``resume`` continues exactly (same device and thread count).
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from musegen_cli.plugin import (
    STATE_JSON,
    Clock,
    LengthBatches,
    ProgressCallback,
    ProgressWindow,
    RunFolder,
    SavedState,
    TrainingFamily,
    TrainRequest,
    UserError,
    atomic_write,
    collate,
    decay_groups,
    load_weights,
    optimizer_step,
    read_manifest,
    read_split,
    set_learning_rate,
    start_run,
    warmup_cosine,
)
from musegen_cli.scoring import descriptions
from musegen_cli.scoring.encoder_options import PRESET_OPTIONS, Options
from musegen_cli.scoring.music_encoder import piece_patches
from musegen_cli.scoring.scorer import (
    FAMILY,
    PRESETS,
    QUADRANTS,
    Scorer,
    ScorerNet,
    build_net,
    save_scorer,
    scorer_config,
)

STAGES = ("pretrain", "align")
LAST, BEST = "last", "best"
Progress = ProgressCallback


def learning_rate(step: int, steps: int, options: Options) -> float:
    """Linear warmup, then cosine decay to ``lr * min_lr_ratio`` at the stage's last step."""
    return warmup_cosine(step, steps, options.lr, options.warmup, options.min_lr_ratio)


#: What `musegen_cli.training.start` needs to resume or start a scorer run.
FAMILY_START = TrainingFamily(name=FAMILY, noun="a scorer", read_options=Options.from_mapping,
                              presets={name: scorer_config(name, *shapes) for name, shapes in PRESETS.items()},
                              config_of=lambda manifest: manifest["config"], saved_config=lambda info: info["config"],
                              preset_options=PRESET_OPTIONS, preset_word="scorer preset")


# ----- data ---------------------------------------------------------------------------------


@dataclass
class Corpus:
    """The records of a dataset folder (``{split}.jsonl``) and its manifest hash."""

    folder: Path
    train: list[dict[str, Any]]
    valid: list[dict[str, Any]]
    test: list[dict[str, Any]]
    manifest_hash: str | None


def load_corpus(data: str | Path) -> Corpus:
    """A dataset folder, or anything `musegen_cli.data.resolve` builds into one (``corpus``, music files)."""
    from musegen_cli.plugin import dataset_folder

    folder = dataset_folder(str(data))
    manifest_hash = None
    if (folder / "manifest.json").is_file():
        try:
            manifest_hash = json.loads((folder / "manifest.json").read_text(encoding="utf-8")).get("hash")
        except json.JSONDecodeError:
            manifest_hash = None
    corpus = Corpus(folder, *(read_split(folder, split) for split in ("train", "valid", "test")), manifest_hash)
    if len(corpus.train) < 2:
        raise UserError(f"{data} has fewer than 2 training pieces; the scorer needs more music")
    return corpus


# ----- losses -------------------------------------------------------------------------------


def positives(chosen: Sequence[Sequence[str]], records: Sequence[Mapping[str, Any]]) -> torch.Tensor:
    """[texts, pieces] bool: piece j fits description i when it has every phrase i names."""
    full = [set(descriptions.phrases(r)) for r in records]
    return torch.tensor([[set(c) <= f for f in full] for c in chosen])


def contrastive_loss(music: torch.Tensor, text: torch.Tensor, logit_scale: torch.Tensor,
                     fits: torch.Tensor) -> torch.Tensor:
    """Symmetric multi-positive InfoNCE: each text against all pieces and each piece against
    all texts, the target spread evenly over the pairs that fit (the diagonal always does)."""
    fits = fits.to(music.device) | torch.eye(len(music), dtype=torch.bool, device=music.device)
    logits = logit_scale.exp().clamp(max=100) * text @ music.T
    t2m = fits / fits.sum(1, keepdim=True)
    m2t = fits.T / fits.T.sum(1, keepdim=True)
    loss_t = -(t2m * F.log_softmax(logits, 1)).sum(1).mean()
    loss_m = -(m2t * F.log_softmax(logits.T, 1)).sum(1).mean()
    return (loss_t + loss_m) / 2


def _align_loss(net: ScorerNet, records: Sequence[Mapping[str, Any]], rows: list[list[list[int]]],
                chosen: Sequence[Sequence[str]], device: torch.device) -> torch.Tensor:
    ids, mask = collate(rows, device)
    music = net.music(ids, mask)
    tokens, token_mask = net.text.tokenize([descriptions.join(list(c)) for c in chosen], device)
    text = net.text(tokens, token_mask)
    return contrastive_loss(music, text, net.logit_scale, positives(chosen, records))


def _generator(seed: int, stage: str, step: int) -> torch.Generator:
    """The masking randomness of one step, from (seed, stage, step) alone."""
    return torch.Generator().manual_seed((seed * 1_000_003 + STAGES.index(stage) * 100_003 + step) % 2**62)


# ----- evaluation ---------------------------------------------------------------------------


@torch.no_grad()
def evaluate_pretrain(net: ScorerNet, records: Sequence[Mapping[str, Any]], options: Options,
                      device: torch.device) -> dict[str, float]:
    """Masked-patch loss on held-out pieces (the same masks every time)."""
    was_training = net.training
    net.eval()
    c = net.music.config
    generator = torch.Generator().manual_seed(12345)
    total, batches = 0.0, 0
    for start in range(0, len(records), options.batch_size):
        chunk = records[start : start + options.batch_size]
        rows = [piece_patches(r["abc"], c.patch_size, c.max_patches) for r in chunk]
        ids, mask = collate(rows, device)
        total += float(net.music.masked_patch_loss(ids, mask, options.mask_ratio, generator))
        batches += 1
    net.train(was_training)
    return {"valid_mask_loss": total / max(1, batches)}


@torch.no_grad()
def evaluate_align(net: ScorerNet, config: Mapping[str, Any], records: Sequence[Mapping[str, Any]],
                   batch_size: int, device: torch.device) -> dict[str, float]:
    """Contrastive loss (full descriptions, batches of ``batch_size``) and text -> music
    retrieval among all given pieces: is a piece among the top 1 / top 5 for its own description?"""
    was_training = net.training
    scorer = Scorer(net, config, device)
    music = scorer.embed_pieces([r["abc"] for r in records], batch_size)
    texts = [descriptions.describe(r) for r in records]
    text = scorer.embed_texts(texts)
    full = [descriptions.phrases(r) for r in records]
    losses = []
    for start in range(0, len(records) - 1, batch_size):
        end = min(len(records), start + batch_size)
        if end - start < 2:
            break
        fits = positives(full[start:end], records[start:end])
        losses.append(float(contrastive_loss(music[start:end], text[start:end], net.logit_scale.cpu(), fits)))
    net.train(was_training)
    ranks = retrieval_ranks(text, music)
    count = len(records)
    return {
        "loss": sum(losses) / max(1, len(losses)),
        "top1": float((ranks < 1).float().mean()),
        "top5": float((ranks < 5).float().mean()),
        "chance_top1": min(1.0, 1 / count),
        "chance_top5": min(1.0, 5 / count),
        "pieces": count,
    }


def retrieval_ranks(text: torch.Tensor, music: torch.Tensor) -> torch.Tensor:
    """For text i, how many pieces score strictly higher than piece i (0 = found first)."""
    sims = text @ music.T
    own = sims.diagonal()[:, None]
    return (sims > own).sum(1)


# ----- the emotion classifier ------------------------------------------------------------------


def fit_emotion(embeddings: torch.Tensor, quadrants: Sequence[str], iterations: int,
                l2: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Weight [4, D] and bias [4] of a class-balanced multinomial logistic regression.

    Features are standardised for the fit (L-BFGS converges in a few dozen steps then), and
    the scaling is folded back into the weights, so the classifier reads raw embeddings.
    """
    x = embeddings.double()
    y = torch.tensor([QUADRANTS.index(q) for q in quadrants])
    mean, std = x.mean(0), x.std(0).clamp_min(1e-6)
    z = (x - mean) / std
    counts = torch.bincount(y, minlength=len(QUADRANTS)).double()
    class_weights = torch.where(counts > 0, len(y) / (len(QUADRANTS) * counts.clamp_min(1)), 0.0)
    weight = torch.zeros(len(QUADRANTS), x.shape[1], dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(len(QUADRANTS), dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], max_iter=max(1, iterations), line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = F.cross_entropy(z @ weight.T + bias, y, weight=class_weights) + l2 * weight.pow(2).sum()
        loss.backward()
        return loss

    if iterations:
        optimizer.step(closure)
    with torch.no_grad():
        raw_weight = weight / std
        raw_bias = bias - raw_weight @ mean
    return raw_weight.float(), raw_bias.float()


def emotion_metrics(scorer: Scorer, embeddings: torch.Tensor, quadrants: Sequence[str]) -> dict[str, float]:
    """Accuracy against the analyzer's quadrants, balanced accuracy, and the majority baseline."""
    if not quadrants:
        return {}
    y = torch.tensor([QUADRANTS.index(q) for q in quadrants])
    predicted = scorer.emotion_probs(embeddings).argmax(1)
    recalls = [float((predicted[y == k] == k).float().mean()) for k in range(len(QUADRANTS)) if (y == k).any()]
    return {
        "emotion_accuracy": float((predicted == y).float().mean()),
        "emotion_balanced_accuracy": sum(recalls) / len(recalls),
        "emotion_majority_baseline": float(torch.bincount(y).max()) / len(y),
    }


def _labelled(records: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [r for r in records if (r.get("labels") or {}).get("quadrant") in QUADRANTS]


# ----- checkpoints --------------------------------------------------------------------------


def _optimizer(net: ScorerNet, stage: str, options: Options) -> torch.optim.AdamW:
    """AdamW over what a stage trains: the music encoder (with its reconstruction head) in
    pre-training; both encoders and the temperature in alignment. Matrices decay, the rest not."""
    if stage == "pretrain":
        params = list(net.music.named_parameters(prefix="music"))
    else:
        head = ("music.state_to_char", "music.char_embed", "music.char_decoder", "music.char_head", "music.mask_embed")
        params = [(n, p) for n, p in net.named_parameters() if not n.startswith((*head, "emotion"))]
    return torch.optim.AdamW(decay_groups((p for _, p in params), options.weight_decay), lr=options.lr,
                             betas=(0.9, 0.98))


# ----- the loop -----------------------------------------------------------------------------


def train_request(request: TrainRequest, on_progress: Progress) -> Path:
    """``musegen train --family music-encoder``: `train` with the request's settings."""
    return train(request.data, request.output, request.preset, request.seed, request.options, on_progress,
                 resume=request.resume, device=request.device, init_from=request.init_from)


def train(data: str | Path, output: Path, preset: str, seed: int, options: Mapping[str, Any], on_progress: Progress,
          resume: bool = False, device: str | torch.device = "cpu", init_from: Path | None = None) -> Path:
    """Train a scorer (module doc) and save it in ``output``, from fresh weights or, with
    ``init_from``, another scorer's; return ``output``."""
    clock = Clock()
    device = torch.device(device)
    folder = RunFolder.at(Path(output), best=BEST)
    out = folder.out
    begun = start_run(FAMILY_START, out, preset=preset, seed=seed, values=options, resume=resume, init_from=init_from)
    preset, seed, config, opts, state = begun.preset, begun.seed, begun.config, begun.options, begun.saved
    saved: dict[str, Any] | None = state.info if state is not None else None
    corpus = load_corpus(data)
    valid = corpus.valid or corpus.train  # a handful of tunes may leave valid empty
    eval_records = valid[: opts.eval_pieces]

    torch.manual_seed(seed)
    net = build_net(config).to(device)
    if begun.weights is not None:  # the last checkpoint (resume) or the --init-from scorer
        net.load_state_dict(load_weights(begun.weights, device))
    if state is not None:
        state.restore_rng()
    net.train()
    progress_state: dict[str, Any] = dict(saved or {"stage": STAGES[0], "step": 0, "stage_done": False,
                                                    "best_align_loss": None, "best_step": None,
                                                    "training_seconds": 0.0, "pretrain_metrics": {}})
    clock.before = float(progress_state["training_seconds"])

    steps = {"pretrain": opts.pretrain_steps, "align": opts.align_steps}
    total_steps = sum(steps.values())
    earlier = read_manifest(out).get("provenance", {}) if saved is not None and (out / "musegen.json").is_file() else {}
    provenance = {
        # every command that made this scorer, oldest first (a resumed run adds its own)
        "commands": [*earlier.get("commands", [earlier["command"]] if "command" in earlier else []), list(sys.argv)],
        "data": str(data), "data_manifest_hash": corpus.manifest_hash, "train_pieces": len(corpus.train),
        "valid_pieces": len(corpus.valid), "test_pieces": len(corpus.test), "seed": seed, "preset": preset,
        "options": asdict(opts), "device": str(device), "torch": torch.__version__,
    }
    if progress_state["stage"] != "done":
        for stage in STAGES[STAGES.index(progress_state["stage"]):]:
            if progress_state["stage"] != stage:
                progress_state.update(stage=stage, step=0, stage_done=False)
            _run_stage(stage, net, config, corpus, eval_records, opts, seed, steps, total_steps, device,
                       progress_state, state if saved is not None and saved["stage"] == stage else None,
                       clock, provenance, folder, on_progress)
            saved = None
        if (out / BEST / "model.safetensors").is_file():
            net.load_state_dict(load_weights(out / BEST, device))
    else:
        net.load_state_dict(load_weights(out, device))

    net.eval()
    on_progress({"stage": "emotion", "step": total_steps, "total_steps": total_steps})
    scorer = Scorer(net, config, device)
    labelled = _labelled(corpus.train)[: opts.emotion_pieces]
    if labelled:
        train_embeddings = scorer.embed_pieces([r["abc"] for r in labelled])
        weight, bias = fit_emotion(train_embeddings, [r["labels"]["quadrant"] for r in labelled],
                                   opts.emotion_iterations, opts.emotion_l2)
        with torch.no_grad():
            net.emotion.weight.copy_(weight.to(device))
            net.emotion.bias.copy_(bias.to(device))
    scorer = Scorer(net, config, device)  # a fresh version: the weights changed
    metrics = final_metrics(scorer, corpus, net, config, opts, device)
    metrics.update(progress_state["pretrain_metrics"])
    metrics.update({"steps": progress_state.get("steps_done", {}), "emotion_train_pieces": len(labelled),
                    "best_align_step": progress_state["best_step"]})
    seconds = clock.seconds
    save_scorer(scorer, out, {**provenance, "training_seconds": round(seconds, 2)}, metrics)
    atomic_write(folder.last / STATE_JSON, json.dumps({**progress_state, "stage": "done", "preset": preset,
                                                    "seed": seed, "config": config, "options": asdict(opts),
                                                    "training_seconds": seconds, "param_groups": []},
                                                   indent=2, sort_keys=True) + "\n")
    on_progress({"stage": "done", "step": total_steps, "total_steps": total_steps, **_headline(metrics)})
    return out


def _headline(metrics: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("test_top1", "test_top5", "test_emotion_accuracy")
    return {k: metrics[k] for k in keys if k in metrics}


def final_metrics(scorer: Scorer, corpus: Corpus, net: ScorerNet, config: Mapping[str, Any], opts: Options,
                  device: torch.device) -> dict[str, Any]:
    """Retrieval, contrastive loss and emotion accuracy on the valid and test splits."""
    metrics: dict[str, Any] = {}
    for split, records in (("valid", corpus.valid), ("test", corpus.test)):
        if len(records) < 2:
            continue
        figures = evaluate_align(net, config, records, opts.batch_size, device)
        metrics.update({f"{split}_{name}": value for name, value in figures.items()})
        labelled = _labelled(records)
        if labelled:
            embeddings = scorer.embed_pieces([r["abc"] for r in labelled])
            quadrants = [r["labels"]["quadrant"] for r in labelled]
            metrics.update({f"{split}_{k}": v for k, v in emotion_metrics(scorer, embeddings, quadrants).items()})
    return metrics


def _run_stage(stage: str, net: ScorerNet, config: Mapping[str, Any], corpus: Corpus,
               eval_records: list[dict[str, Any]], opts: Options, seed: int, steps: Mapping[str, int],
               total_steps: int, device: torch.device, state: dict[str, Any], saved: SavedState | None,
               clock: Clock, provenance: Mapping[str, Any], folder: RunFolder, on_progress: Progress) -> None:
    """One stage's loop: steps, periodic evaluation and checkpoints, stopping at the stage's
    step count or its share of ``max_minutes``."""
    c = net.music.config
    stage_steps = steps[stage]
    offset = steps["pretrain"] if stage == "align" else 0
    optimizer = _optimizer(net, stage, opts)
    if saved is not None:
        saved.restore_optimizer(optimizer)
    step = int(state["step"])
    deadline = None
    if opts.max_minutes is not None:
        share = opts.pretrain_share if stage == "pretrain" else 1 - opts.reserve_share
        deadline = opts.max_minutes * 60 * share
    batches = LengthBatches([len(r["abc"]) for r in corpus.train], opts.batch_size, f"{seed}-{stage}", run=16,
                            drop_last=True)
    stop = state["stage_done"] or step >= stage_steps
    log_every = max(1, min(opts.eval_every, 10))
    window = ProgressWindow()

    def checkpoint(figures: Mapping[str, Any], is_best: bool) -> None:
        state.update(training_seconds=clock.seconds, steps_done={**state.get("steps_done", {}), stage: step})
        info = {**state, "preset": provenance["preset"], "seed": seed, "config": dict(config), "options": asdict(opts)}
        record = {**provenance, "stage": stage, "stage_step": step, "training_seconds": round(clock.seconds, 2)}
        folder.checkpoint(family=FAMILY, config=config, weights=net.state_dict(), provenance=record, metrics=figures,
                          is_best=is_best, optimizer=optimizer, state=info)

    while not stop:
        lr = learning_rate(step, stage_steps, opts)
        set_learning_rate(optimizer, lr)
        rng = random.Random(f"{seed}-{stage}-batch-{step}")
        records = [corpus.train[i] for i in batches[step]]
        rows = [piece_patches(r["abc"], c.patch_size, c.max_patches, rng) for r in records]
        if stage == "pretrain":
            ids, mask = collate(rows, device)
            loss = net.music.masked_patch_loss(ids, mask, opts.mask_ratio, _generator(seed, stage, step))
        else:
            chosen = [descriptions.sample_phrases(r, rng) for r in records]
            loss = _align_loss(net, records, rows, chosen, device)
        loss.backward()
        optimizer_step(optimizer, opts.grad_clip)
        step += 1
        state["step"] = step
        window.add(float(loss.detach()), len(records))
        out_of_time = deadline is not None and clock.seconds >= deadline
        stop = step >= stage_steps or out_of_time
        if step % log_every == 0 or stop:
            mean_loss, pieces_per_s = window.report()
            on_progress({"stage": stage, "step": offset + step, "total_steps": total_steps, "loss": mean_loss,
                         "pieces_per_s": pieces_per_s, "lr": lr})
        if step % opts.eval_every == 0 or stop:
            state["stage_done"] = stop
            if stage == "pretrain":
                figures: dict[str, Any] = evaluate_pretrain(net, eval_records, opts, device)
                state["pretrain_metrics"] = {"pretrain_valid_mask_loss": figures["valid_mask_loss"],
                                             "pretrain_steps": step}
                is_best = False
            else:
                held_out = evaluate_align(net, config, eval_records, opts.batch_size, device)
                figures = {f"valid_{k}": held_out[k] for k in ("loss", "top1", "top5")}
                best = state["best_align_loss"]
                is_best = best is None or figures["valid_loss"] < best
                if is_best:
                    state.update(best_align_loss=figures["valid_loss"], best_step=step)
            on_progress({"stage": stage, "step": offset + step, **figures})
            checkpoint(figures, is_best)
