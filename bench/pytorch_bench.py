"""PyTorch CPU side of `cargo xtask bench`: full training steps (forward, backward, AdamW) of
the model `archlab bench` trains, at the same three sizes, timed after warm-up.

LLaMA-style as archlab's `llama_style` config (src/bin/archlab/bench.rs): pre-RMSNorm (eps
1e-5, with a final norm), SwiGLU with d_ff = 8/3 d_model rounded up to a multiple of 8, RoPE
(theta 10000), no biases, untied embeddings, vocabulary 65; AdamW with archlab's defaults.
Attention is PyTorch's own `scaled_dot_product_attention` (causal), its fastest CPU path.

Prints one row per size: name, parameter count, ms/step, tokens/s (read by xtask/src/bench.rs).
"""

import argparse
import time

import torch
import torch.nn.functional as F
from torch import nn

VOCAB = 65
# (name, d_model, layers, heads, context, batch): the sizes of src/bin/archlab/bench.rs.
SIZES = [
    ("small", 64, 2, 4, 64, 16),
    ("default", 128, 4, 4, 128, 32),
    ("large", 256, 6, 8, 128, 32),
]


def d_ff(d_model):
    # archlab's ModelConfig::d_ff for a gated MLP: ceil(8 d_model / 3) rounded up to 8.
    return ((8 * d_model + 2) // 3 + 7) // 8 * 8


def rope_tables(context, d_head, theta=10000.0):
    inv_freq = theta ** (-torch.arange(0, d_head, 2, dtype=torch.float32) / d_head)
    angles = torch.outer(torch.arange(context, dtype=torch.float32), inv_freq)
    return angles.cos(), angles.sin()


def rope(x, cos, sin):
    # Rotates the pairs (x[2i], x[2i+1]) of each head by position * frequency i.
    even, odd = x[..., 0::2], x[..., 1::2]
    return torch.stack((even * cos - odd * sin, even * sin + odd * cos), dim=-1).flatten(-2)


class Block(nn.Module):
    def __init__(self, d_model, heads):
        super().__init__()
        self.heads = heads
        self.attn_norm = nn.RMSNorm(d_model, eps=1e-5)
        self.wq = nn.Linear(d_model, d_model, bias=False)
        self.wk = nn.Linear(d_model, d_model, bias=False)
        self.wv = nn.Linear(d_model, d_model, bias=False)
        self.wo = nn.Linear(d_model, d_model, bias=False)
        self.mlp_norm = nn.RMSNorm(d_model, eps=1e-5)
        self.w_gate = nn.Linear(d_model, d_ff(d_model), bias=False)
        self.w_up = nn.Linear(d_model, d_ff(d_model), bias=False)
        self.w_down = nn.Linear(d_ff(d_model), d_model, bias=False)

    def forward(self, x, cos, sin):
        b, t, c = x.shape
        h = self.attn_norm(x)
        split = lambda y: y.view(b, t, self.heads, c // self.heads).transpose(1, 2)
        q, k, v = split(self.wq(h)), split(self.wk(h)), split(self.wv(h))
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        att = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.wo(att.transpose(1, 2).reshape(b, t, c))
        h = self.mlp_norm(x)
        return x + self.w_down(F.silu(self.w_gate(h)) * self.w_up(h))


class Model(nn.Module):
    def __init__(self, d_model, layers, heads, context):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, d_model)
        self.blocks = nn.ModuleList(Block(d_model, heads) for _ in range(layers))
        self.final_norm = nn.RMSNorm(d_model, eps=1e-5)
        self.head = nn.Linear(d_model, VOCAB, bias=False)
        cos, sin = rope_tables(context, d_model // heads)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)

    def forward(self, tokens):
        x = self.embed(tokens)
        for block in self.blocks:
            x = block(x, self.cos, self.sin)
        return self.head(self.final_norm(x))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3, help="timed steps per size")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", help="only the sizes whose name contains this")
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    print(f"pytorch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{'size':<8} {'params':>10} {'ms/step':>10} {'tokens/s':>12}")
    for name, d_model, layers, heads, context, batch in SIZES:
        if args.only and args.only not in name:
            continue
        model = Model(d_model, layers, heads, context)
        params = sum(p.numel() for p in model.parameters())
        optimizer = torch.optim.AdamW(
            model.parameters(), lr=3e-3, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1
        )
        # The batch archlab bench uses: token i is 7 i mod 65, its target the next residue.
        i = torch.arange(batch * context)
        inputs = (i * 7 % VOCAB).view(batch, context)
        targets = ((i * 7 + 1) % VOCAB).view(batch, context)

        def step():
            optimizer.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(inputs).view(-1, VOCAB), targets.view(-1))
            loss.backward()
            optimizer.step()

        step()  # warm-up: allocations and kernel selection
        started = time.perf_counter()
        for _ in range(args.steps):
            step()
        seconds = (time.perf_counter() - started) / max(args.steps, 1)
        tokens = batch * context
        print(f"{name:<8} {params:>10} {seconds * 1e3:>10.1f} {tokens / seconds:>12.0f}")


if __name__ == "__main__":
    main()
