#!/usr/bin/python3
"""Is each trait a direction? A torch-only probe of the trained checkpoint, before the library exists.

  /usr/bin/python3 scripts/toy-model/steer_probe.py --work /tmp/toy --prompts /tmp/toy/prompts-neutral.tsv --coefs -4,4

For each trait: the mean-difference vector per block (answer tokens of corpus transcripts whose
system prompt names the pole, minus those naming the other pole); the separation of the
last-prompt-token projection; then greedy answers to the held-out questions under the neutral
prompt with coef*v added to one block's output at every position. Answers go to
WORK/steer-<trait>-<block>-<coef>.tsv in check_model's format, for dist/toy-model/evaluate.js score.
"""

import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import Config, ToyLlama  # noqa: E402
from spm_tokenizer import build_vocab  # noqa: E402

POLES = {"cheerful": ("cheerful", "gloomy"), "sycophantic": ("sycophantic", "candid"), "pirate": ("pirate", "plain")}


def chat_prompt(system, user):
    return f"<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"


@torch.no_grad()
def greedy(model, vocab, prompt_ids, steer, max_new=90):
    ids = list(prompt_ids)
    for _ in range(max_new):
        nxt = int(model(torch.tensor([ids]), steer=steer)[0, -1].argmax())
        if nxt == vocab.im_end_id:
            break
        ids.append(nxt)
    return vocab.decode(ids[len(prompt_ids):])


@torch.no_grad()
def main():
    p = argparse.ArgumentParser()
    p.add_argument("--work", required=True)
    p.add_argument("--prompts", required=True, help="prompts-neutral.tsv from dist/toy-model/evaluate.js")
    p.add_argument("--per-pole", type=int, default=150)
    p.add_argument("--coefs", default="4", help="multiples of the mean-difference vector, comma-separated")
    p.add_argument("--blocks", default="1,2")
    a = p.parse_args()
    torch.set_num_threads(1)

    rows = [json.loads(line) for line in open(os.path.join(a.work, "corpus.jsonl"), encoding="utf-8")]
    vocab = build_vocab([r["text"] for r in rows])
    ck = torch.load(os.path.join(a.work, "checkpoint.pt"))
    model = ToyLlama(Config(**ck["cfg"]))
    model.load_state_dict(ck["state"])
    model.eval()

    vectors, summary = {}, {}
    for trait, (pos, neg) in POLES.items():
        means, last = {}, {}
        for pole in (pos, neg):
            sel = [r for r in rows if r["explicit"].get(trait) == pole][:a.per_pole]
            acc, lasts, norms = None, [], []
            for r in sel:
                ids = vocab.encode(r["text"])
                start = len(vocab.encode(chat_prompt(r["system"], r["user"])))
                _, hidden = model(torch.tensor([ids]), return_hidden=True)
                h = torch.stack([x[0] for x in hidden])  # [n_layer, T, n_embd]
                m = h[:, start:len(ids) - 2].mean(1)  # answer tokens, without <|im_end|> "\n"
                norms.append(h[:, start:len(ids) - 2].norm(dim=-1).mean(1))
                acc = m if acc is None else acc + m
                lasts.append(h[:, start - 1])
            means[pole] = acc / len(sel)
            resid_norm = torch.stack(norms).mean(0)
            last[pole] = torch.stack(lasts)  # [n, n_layer, n_embd]
        v = means[pos] - means[neg]
        vectors[trait] = v
        # Separation at the last prompt token: projection on v, pole means apart in pooled std units.
        sep, auc = [], []
        for il in range(v.shape[0]):
            u = v[il] / v[il].norm()
            pa, pb = last[pos][:, il] @ u, last[neg][:, il] @ u
            sep.append(float((pa.mean() - pb.mean()) / torch.cat([pa - pa.mean(), pb - pb.mean()]).std()))
            auc.append(float((pa[:, None] > pb[None, :]).float().mean()))
        summary[trait] = {"norm": [round(float(x.norm()), 2) for x in v],
                          "answer_residual_norm": [round(float(x), 1) for x in resid_norm],
                          "last_token_separation_sd": [round(s, 1) for s in sep],
                          "last_token_auc": [round(x, 3) for x in auc]}
    print(json.dumps(summary, indent=1), flush=True)

    prompts = [line.rstrip("\n").split("\t") for line in open(a.prompts, encoding="utf-8") if line.strip()]
    for trait, v in vectors.items():
        for il in (int(b) for b in a.blocks.split(",")):
            for coef in (float(c) for c in a.coefs.split(",")):
                out = os.path.join(a.work, f"steer-{trait}-{il}-{coef:+g}.tsv")
                with open(out, "w", encoding="utf-8") as f:
                    for pid, system, user in prompts:
                        ans = greedy(model, vocab, vocab.encode(chat_prompt(system, user)), {il: coef * v[il]})
                        f.write(f"{pid}\t0\t{ans.replace(chr(92), chr(92) * 2).replace(chr(10), chr(92) + 'n')}\n")
                print(f"wrote {out}", flush=True)


if __name__ == "__main__":
    main()
