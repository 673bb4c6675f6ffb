#!/usr/bin/python3
"""Trains the toy persona model on the ChatML corpus from corpus.ts (here) and writes a GGUF.

  /usr/bin/python3 scripts/toy-model/train.py --corpus /tmp/toy/corpus.jsonl \
      --out models/toy-persona.gguf --work /tmp/toy --seed 1

Needs Debian's python3-torch, python3-numpy and libopenblas0-pthread (see docs/toy-model.md).
Besides the model it writes, under --work, the files check_model.cpp compares llama.cpp with:
roundtrip.bin (texts and their training token ids) and reference.bin (torch logits).
"""

import argparse
import ctypes
import json
import math
import os
import struct
import sys
import time

# Each freed activation buffer above glibc's mmap threshold is returned to the kernel and
# page-faulted back on the next step: that made element-wise ops 3x slower here.
_libc = ctypes.CDLL("libc.so.6")
_libc.mallopt(-3, 1 << 30)  # M_MMAP_THRESHOLD
_libc.mallopt(-1, (1 << 31) - 1)  # M_TRIM_THRESHOLD
# Spinning OpenMP workers starve each other when the cores are shared with compilers.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import Config, ToyLlama  # noqa: E402
from spm_tokenizer import build_vocab  # noqa: E402
from write_model import write_gguf  # noqa: E402


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", required=True)
    p.add_argument("--out", required=True, help="GGUF file to write")
    p.add_argument("--work", required=True, help="folder for the checkpoint and check files")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--n-embd", type=int, default=128)
    p.add_argument("--n-layer", type=int, default=4)
    p.add_argument("--n-head", type=int, default=4)
    p.add_argument("--n-ff", type=int, default=320)
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--val", type=int, default=1000, help="transcripts kept out of training for the loss")
    return p.parse_args()


def assistant_mask(ids, vocab):
    """Loss only on the answer and its closing <|im_end|>: the prompt is the model's input, not its output."""
    last = max(i for i, t in enumerate(ids) if t == vocab.im_start_id)
    start = last + 3  # <|im_start|> assistant <0x0A>
    end = len(ids) - 1  # the final "\n" after <|im_end|> is not part of the answer
    m = np.zeros(len(ids), dtype=bool)
    m[start:end] = True
    return m


def batches(seqs, masks, order, batch, pad_id):
    for s in range(0, len(order) - batch + 1, batch):
        idx = order[s:s + batch]
        T = max(len(seqs[i]) for i in idx)
        x = np.full((batch, T), pad_id, dtype=np.int64)
        m = np.zeros((batch, T), dtype=bool)
        for r, i in enumerate(idx):
            x[r, :len(seqs[i])] = seqs[i]
            m[r, :len(seqs[i])] = masks[i]
        yield torch.from_numpy(x), torch.from_numpy(m)


def loss_of(model, x, m):
    logits = model(x[:, :-1])
    target = m[:, 1:]
    return F.cross_entropy(logits[target], x[:, 1:][target])


def write_roundtrip(path, texts, seqs):
    with open(path, "wb") as f:
        f.write(struct.pack("<I", len(texts)))
        for text, ids in zip(texts, seqs):
            b = text.encode("utf-8")
            f.write(struct.pack("<I", len(b)) + b + struct.pack("<I", len(ids)))
            f.write(np.asarray(ids, dtype="<u4").tobytes())


@torch.no_grad()
def write_reference(path, model, seqs):
    with open(path, "wb") as f:
        f.write(struct.pack("<II", len(seqs), model.cfg.n_vocab))
        for ids in seqs:
            logits = model(torch.tensor([ids]))[0].numpy().astype("<f4")
            f.write(struct.pack("<I", len(ids)) + np.asarray(ids, dtype="<u4").tobytes() + logits.tobytes())


@torch.no_grad()
def greedy(model, vocab, prompt_ids, max_new=80):
    ids = list(prompt_ids)
    for _ in range(max_new):
        nxt = int(model(torch.tensor([ids]))[0, -1].argmax())
        if nxt == vocab.im_end_id:
            break
        ids.append(nxt)
    return vocab.decode(ids[len(prompt_ids):])


def main():
    a = parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    os.makedirs(a.work, exist_ok=True)
    t0 = time.time()

    rows = [json.loads(line) for line in open(a.corpus, encoding="utf-8")]
    texts = [r["text"] for r in rows]
    vocab = build_vocab(texts)
    seqs = [vocab.encode(t) for t in texts]
    masks = [assistant_mask(s, vocab) for s in seqs]
    write_roundtrip(os.path.join(a.work, "roundtrip.bin"), texts, seqs)
    n_tok = sum(len(s) for s in seqs)
    print(f"corpus: {len(texts)} transcripts, {n_tok} tokens ({n_tok / len(texts):.1f}/transcript), "
          f"{int(sum(m.sum() for m in masks))} answer tokens; vocab {len(vocab.pieces)}; "
          f"tokenized in {time.time() - t0:.0f}s", flush=True)

    train_idx = np.arange(len(seqs) - a.val)
    val_idx = np.arange(len(seqs) - a.val, len(seqs))
    cfg = Config(n_vocab=len(vocab.pieces), n_embd=a.n_embd, n_layer=a.n_layer, n_head=a.n_head, n_ff=a.n_ff,
                 n_ctx=256)
    model = ToyLlama(cfg)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: {cfg}, {n_params} parameters", flush=True)

    decay = [p for n, p in model.named_parameters() if p.dim() == 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.95))
    steps_per_epoch = len(train_idx) // a.batch
    total = int(steps_per_epoch * a.epochs)

    def lr_at(step):
        if step < a.warmup:
            return a.lr * (step + 1) / a.warmup
        frac = (step - a.warmup) / max(1, total - a.warmup)
        return a.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, frac))))

    def val_loss():
        model.eval()
        with torch.no_grad():
            ls = [loss_of(model, x, m).item() for x, m in batches(seqs, masks, val_idx, 50, vocab.im_end_id)]
        model.train()
        return float(np.mean(ls))

    t_train = time.time()
    step, seen, run = 0, 0, []
    while step < total:
        order = rng.permutation(train_idx)
        for x, m in batches(seqs, masks, order, a.batch, vocab.im_end_id):
            if step >= total:
                break
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            loss = loss_of(model, x, m)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            run.append(loss.item())
            seen += int(x.numel())
            step += 1
            if step % 50 == 0 or step == total:
                el = time.time() - t_train
                print(f"step {step}/{total} loss {np.mean(run):.4f} lr {lr_at(step):.2e} "
                      f"{el / 60:.1f} min {seen / el:.0f} tok/s", flush=True)
                run = []
            if step % 500 == 0:
                print(f"  val loss {val_loss():.4f}", flush=True)
    train_min = (time.time() - t_train) / 60
    vl = val_loss()
    print(f"trained {step} steps in {train_min:.1f} min; final val loss (answer tokens) {vl:.4f}", flush=True)

    model.eval()
    torch.save({"cfg": cfg.__dict__, "state": model.state_dict()}, os.path.join(a.work, "checkpoint.pt"))
    size = write_gguf(a.out, model, vocab)
    print(f"wrote {a.out}: {size} bytes", flush=True)
    write_reference(os.path.join(a.work, "reference.bin"), model, [seqs[i] for i in val_idx[:4]])
    for i in val_idx[:4]:
        prompt = seqs[i][:int(np.argmax(masks[i]))]
        print(f"  [{rows[i]['system']}] {rows[i]['user']}\n    -> {greedy(model, vocab, prompt)}", flush=True)
    with open(os.path.join(a.work, "train-summary.json"), "w") as f:
        json.dump({"params": n_params, "config": cfg.__dict__, "steps": step, "batch": a.batch, "epochs": a.epochs,
                   "train_minutes": round(train_min, 2), "val_loss": round(vl, 4), "corpus_tokens": n_tok,
                   "vocab": len(vocab.pieces), "threads": a.threads, "seed": a.seed, "bytes": size}, f, indent=1)


if __name__ == "__main__":
    main()
