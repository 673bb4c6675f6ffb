"""A llama-architecture decoder in torch whose forward pass is llama.cpp's for arch "llama".

RoPE is written in llama.cpp's own layout (rope type NORM: rotate adjacent pairs
(x[2i], x[2i+1]) by pos * base^(-2i/head_dim)), so the q/k weights go into the GGUF file
unpermuted; HF checkpoints need the permutation in convert_hf_to_gguf.py only because HF
rotates the two halves instead. check_model.cpp compares logits with this module's to confirm.
"""

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Config:
    n_vocab: int
    n_embd: int = 128
    n_layer: int = 4
    n_head: int = 4
    n_ff: int = 384
    n_ctx: int = 256
    rope_base: float = 10000.0
    rms_eps: float = 1e-5

    @property
    def head_dim(self):
        return self.n_embd // self.n_head


class RMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(n))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(cfg, T, device=None):
    d = cfg.head_dim
    inv = cfg.rope_base ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
    ang = torch.arange(T, dtype=torch.float64)[:, None] * inv[None, :]
    return ang.cos().float().to(device), ang.sin().float().to(device)


def apply_rope(x, cos, sin):
    """x: [B, T, H, D]; rotates the interleaved pairs (0,1), (2,3), ... like ggml_rope NORM."""
    x0, x1 = x[..., 0::2], x[..., 1::2]
    c, s = cos[None, :, None, :], sin[None, :, None, :]
    return torch.stack((x0 * c - x1 * s, x0 * s + x1 * c), dim=-1).flatten(-2)


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        e, f = cfg.n_embd, cfg.n_ff
        self.cfg = cfg
        self.attn_norm = RMSNorm(e, cfg.rms_eps)
        self.wq = nn.Linear(e, e, bias=False)
        self.wk = nn.Linear(e, e, bias=False)
        self.wv = nn.Linear(e, e, bias=False)
        self.wo = nn.Linear(e, e, bias=False)
        self.ffn_norm = RMSNorm(e, cfg.rms_eps)
        self.w_gate = nn.Linear(e, f, bias=False)
        self.w_up = nn.Linear(e, f, bias=False)
        self.w_down = nn.Linear(f, e, bias=False)

    def forward(self, x, cos, sin, mask):
        B, T, E = x.shape
        H, D = self.cfg.n_head, self.cfg.head_dim
        h = self.attn_norm(x)
        q = apply_rope(self.wq(h).view(B, T, H, D), cos, sin).transpose(1, 2)
        k = apply_rope(self.wk(h).view(B, T, H, D), cos, sin).transpose(1, 2)
        v = self.wv(h).view(B, T, H, D).transpose(1, 2)
        att = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(D)) + mask
        y = (att.softmax(-1) @ v).transpose(1, 2).reshape(B, T, E)
        x = x + self.wo(y)
        h = self.ffn_norm(x)
        return x + self.w_down(F.silu(self.w_gate(h)) * self.w_up(h))


class ToyLlama(nn.Module):
    """Tied embeddings: the GGUF file omits output.weight and llama.cpp reuses token_embd."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.tok_embd = nn.Embedding(cfg.n_vocab, cfg.n_embd)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.output_norm = RMSNorm(cfg.n_embd, cfg.rms_eps)
        nn.init.normal_(self.tok_embd.weight, std=0.02)
        for b in self.blocks:
            for lin in (b.wq, b.wk, b.wv, b.w_gate, b.w_up):
                nn.init.normal_(lin.weight, std=0.02)
            # Residual-branch outputs start small so the stream is dominated by the embedding.
            for lin in (b.wo, b.w_down):
                nn.init.normal_(lin.weight, std=0.02 / math.sqrt(2 * cfg.n_layer))

    def forward(self, ids, return_hidden=False, steer=None):
        """steer: {block index: vector added to that block's output}, like llama.cpp's control vectors."""
        B, T = ids.shape
        cos, sin = rope_tables(self.cfg, T, ids.device)
        mask = torch.full((T, T), float("-inf"), device=ids.device).triu(1)
        x = self.tok_embd(ids)
        hidden = []
        for il, b in enumerate(self.blocks):
            x = b(x, cos, sin, mask)
            if steer is not None and il in steer:
                x = x + steer[il]
            hidden.append(x)
        logits = self.output_norm(x) @ self.tok_embd.weight.t()
        return (logits, hidden) if return_hidden else logits
