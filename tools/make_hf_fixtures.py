#!/usr/bin/env python3
"""Makes the Hugging Face fixtures of tests/fixtures/hf/: one tiny random model per family, with
the logits and every parameter gradient that transformers computes for a fixed batch; and, with
--exports, what transformers computes on `archlab export`s of the presets.

Run once by hand (the test suite itself needs no Python):

    python3 -m venv /tmp/fixvenv && /tmp/fixvenv/bin/pip install torch transformers safetensors
    /tmp/fixvenv/bin/python tools/make_hf_fixtures.py
    cargo build --bin archlab
    /tmp/fixvenv/bin/python tools/make_hf_fixtures.py --exports target/debug/archlab

--only NAME... makes only the named families (presets with --exports), leaving the other
folders as they are (a family's random draws depend only on its place in FAMILIES).

--exports trains every preset that has a Hugging Face class for a few steps at a tiny size
(`archlab train --preset P --set ...`, settings in settings.json), exports it (`archlab
export`) into tests/fixtures/hf/export/P/, loads that folder with AutoModelForCausalLM (eager
attention, float32; any missing, unexpected or mismatched tensor is an error) and records its logits
on tokens.json as expected.safetensors (`logits` [B, T, V]), and the class it loaded as in
expected.json. tests/integration/checkpoint.rs checks that archlab exports the same files today and
computes the same logits. The family fixtures above are left as they are.

Each folder gets what transformers' save_pretrained writes (config.json, model.safetensors), plus
tokens.json (a [batch, seq] list of token ids), expected.safetensors (`logits` [B, T, V] and
`grad.<HF parameter name>` for every parameter) and expected.json (the loss with
labels=input_ids: mean cross-entropy of positions 0..T-2 predicting 1..T-1). Gradients are named
as the tensors in model.safetensors.

Training trajectories (tests/integration/trajectory.rs) are a separate part that reads the committed
model.safetensors, config.json and tokens.json and writes only trajectory.json beside them:

    /tmp/fixvenv/bin/python tools/make_hf_fixtures.py --trajectories

For each family of TRAJECTORIES it trains the folder's model in float64 for STEPS steps of
torch.optim.AdamW on tokens.json as every step's batch (labels=input_ids), with the settings of
TRAJECTORY_SETTINGS (named as archlab's `train.*` keys), and records each step's loss before its
update and its gradient norm before clipping.
"""
import argparse
import json
import math
import pathlib
import shutil
import subprocess
import tempfile

import torch
import transformers
from safetensors.torch import load_file, save_file

ROOT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "hf"
VOCAB, HIDDEN, LAYERS, HEADS, KV_HEADS, FF, POSITIONS = 48, 16, 2, 4, 2, 24, 32
BATCH, SEQ = 2, 8

LLAMA_LIKE = dict(
    vocab_size=VOCAB, hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
    num_key_value_heads=KV_HEADS, intermediate_size=FF, max_position_embeddings=POSITIONS,
    rms_norm_eps=1e-5, rope_theta=10000.0, hidden_act="silu",
)

FAMILIES = {
    # Biases on attention and MLP, tied embeddings.
    "llama": (transformers.LlamaConfig, transformers.LlamaForCausalLM,
              dict(LLAMA_LIKE, attention_bias=True, mlp_bias=True, tie_word_embeddings=True)),
    # GQA and a sliding window of 3 (shorter than the sequence, so the mask matters).
    "mistral": (transformers.MistralConfig, transformers.MistralForCausalLM,
                dict(LLAMA_LIKE, sliding_window=3, tie_word_embeddings=False)),
    # QK-norm per head, GQA.
    "qwen3": (transformers.Qwen3Config, transformers.Qwen3ForCausalLM,
              dict(LLAMA_LIKE, head_dim=HIDDEN // HEADS, tie_word_embeddings=False)),
    # Norms after each sub-layer inside the residual branch, QK-norm over the projections.
    "olmo2": (transformers.Olmo2Config, transformers.Olmo2ForCausalLM,
              dict(LLAMA_LIKE, tie_word_embeddings=False)),
    "gpt2": (transformers.GPT2Config, transformers.GPT2LMHeadModel,
             dict(vocab_size=VOCAB, n_embd=HIDDEN, n_layer=LAYERS, n_head=HEADS,
                  n_positions=POSITIONS, activation_function="gelu_new",
                  resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, layer_norm_epsilon=1e-5)),
    # Parallel residual with its two norms, full rotary.
    "gpt_neox": (transformers.GPTNeoXConfig, transformers.GPTNeoXForCausalLM,
                 dict(vocab_size=VOCAB, hidden_size=HIDDEN, num_hidden_layers=LAYERS,
                      num_attention_heads=HEADS, intermediate_size=FF,
                      max_position_embeddings=POSITIONS, rotary_pct=1.0, hidden_act="gelu",
                      use_parallel_residual=True, layer_norm_eps=1e-5,
                      tie_word_embeddings=False)),
    # Norms before and after each sub-layer (gains stored as 1 + w), tanh GeGLU, embeddings
    # scaled by sqrt(hidden_size), tied head, layer 0 sliding (window 3) and layer 1 global,
    # GQA, and both soft-caps at values this model's large random logits reach (Gemma 2's own
    # 50 and 30 would barely bend them), with pad_token_id 0 as PyTorch's padding_idx.
    "gemma2": (transformers.Gemma2Config, transformers.Gemma2ForCausalLM,
               dict(vocab_size=VOCAB, hidden_size=HIDDEN, num_hidden_layers=LAYERS,
                    num_attention_heads=HEADS, num_key_value_heads=KV_HEADS,
                    head_dim=HIDDEN // HEADS, query_pre_attn_scalar=HIDDEN // HEADS,
                    intermediate_size=FF, max_position_embeddings=POSITIONS, rms_norm_eps=1e-5,
                    rope_theta=10000.0, hidden_activation="gelu_pytorch_tanh", sliding_window=3,
                    attn_logit_softcapping=2.0, final_logit_softcapping=5.0,
                    tie_word_embeddings=True, pad_token_id=0)),
}


def randomize(model, generator):
    """Larger random weights than HF's init (std 0.02 gives near-uniform logits, a weak test)."""
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "norm" in name or name.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight")):
                param.copy_(1.0 + 0.2 * torch.randn(param.shape, generator=generator))
            else:
                param.copy_(0.4 * torch.randn(param.shape, generator=generator))


def main(only):
    for index, (family, (config_class, model_class, kwargs)) in enumerate(FAMILIES.items()):
        if only and family not in only:
            continue
        generator = torch.Generator().manual_seed(1000 + index)
        config = config_class(**kwargs)
        config._attn_implementation = "eager"
        model = model_class(config).float().eval()
        randomize(model, generator)
        tokens = torch.randint(0, VOCAB, (BATCH, SEQ), generator=generator)
        out = model(input_ids=tokens, labels=tokens)
        out.loss.backward()

        folder = ROOT / family
        folder.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(folder, safe_serialization=True)
        (folder / "tokens.json").write_text(json.dumps(tokens.tolist()) + "\n")
        expected = {"logits": out.logits.detach().contiguous()}
        saved = load_file(folder / "model.safetensors")
        for name, param in model.named_parameters():
            # Gradients under the names the file uses (transformers may rename a parameter in
            # memory, as GPT-NeoX's embed_out -> lm_head, and map it back when saving).
            if name not in saved:
                (name,) = [k for k, v in saved.items() if v.shape == param.shape and torch.equal(v, param.detach())]
            expected["grad." + name] = param.grad.detach().contiguous()
        save_file(expected, folder / "expected.safetensors")
        (folder / "expected.json").write_text(json.dumps({"loss": out.loss.item()}) + "\n")
        # save_pretrained may add a generation config we do not need.
        (folder / "generation_config.json").unlink(missing_ok=True)
        print(f"{family}: loss {out.loss.item():.6f}, {sum(p.numel() for p in model.parameters())} parameters")
    print(f"torch {torch.__version__}, transformers {transformers.__version__}")


# Presets whose export transformers loads, and the class it should load as.
EXPORTS = {
    "default": "LlamaForCausalLM",
    "gpt2": "GPT2LMHeadModel",
    "gptj": "GPTNeoXForCausalLM",
    "llama": "LlamaForCausalLM",
    "mistral": "MistralForCausalLM",
    "olmo2": "Olmo2ForCausalLM",
    "qwen3": "Qwen3ForCausalLM",
    "gemma2": "Gemma2ForCausalLM",
}
# Tiny, with large random weights (init 0.3: logits far from uniform) after a few steps of
# training (norm gains and biases off their 1 / 0 init); RoPE's base is not the default, so a
# lost rope_theta shows; the sequence (24) is longer than Mistral's window (16).
EXPORT_SETTINGS = {
    "model.d_model": "16",
    "model.n_layers": "2",
    "model.context_len": "32",
    "model.init_std": "0.3",
    "model.rope_theta": "1000",
    "train.steps": "4",
    "train.batch_size": "2",
    "train.seq_len": "32",
    "train.lr": "0.01",
    "train.warmup_steps": "0",
    "train.eval_interval": "100",
}
EXPORT_BATCH, EXPORT_SEQ = 2, 24


def exports(archlab, only):
    archlab = str(pathlib.Path(archlab).resolve())
    for index, (preset, architecture) in enumerate(EXPORTS.items()):
        if only and preset not in only:
            continue
        folder = ROOT / "export" / preset
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        with tempfile.TemporaryDirectory() as run:
            sets = [arg for key, value in EXPORT_SETTINGS.items() for arg in ("--set", f"{key}={value}")]
            subprocess.run([archlab, "train", "--preset", preset, *sets, "--backend", "cpu",
                            "--out", run], check=True, stdout=subprocess.DEVNULL)
            subprocess.run([archlab, "export", "--model", run, "--out", str(folder)], check=True)
        (folder / "settings.json").write_text(
            json.dumps({"preset": preset, "set": EXPORT_SETTINGS}, indent=2) + "\n")

        model, info = transformers.AutoModelForCausalLM.from_pretrained(
            folder, attn_implementation="eager", dtype=torch.float32, output_loading_info=True)
        problems = {k: v for k, v in info.items() if v}
        assert not problems, f"{preset}: {problems}"
        assert type(model).__name__ == architecture, f"{preset}: {type(model).__name__}"
        model.eval()
        generator = torch.Generator().manual_seed(2000 + index)
        tokens = torch.randint(0, model.config.vocab_size, (EXPORT_BATCH, EXPORT_SEQ), generator=generator)
        with torch.no_grad():
            out = model(input_ids=tokens, labels=tokens)
        (folder / "tokens.json").write_text(json.dumps(tokens.tolist()) + "\n")
        save_file({"logits": out.logits.contiguous()}, folder / "expected.safetensors")
        (folder / "expected.json").write_text(json.dumps({
            "architecture": type(model).__name__,
            "loss": out.loss.item(),
            "transformers": transformers.__version__,
            "torch": torch.__version__,
        }, indent=2) + "\n")
        print(f"{preset}: {type(model).__name__}, loss {out.loss.item():.6f}, "
              f"max |logit| {out.logits.abs().max().item():.3f}")


# The trajectories: families that between them have tied embeddings and biases (llama), an
# untied head, GQA and a sliding window (mistral), learned positions, LayerNorm with biases and
# Conv1D (gpt2), and QK-norm (qwen3).
TRAJECTORIES = ["llama", "mistral", "gpt2", "qwen3"]
STEPS = 20
# Constant lr, no warm-up: archlab's `train.*` keys. The lr (2^-7, exact in f32 as archlab holds
# it) makes the loss fall by about half in 20 steps while the clipping at 1.0 acts on most steps
# (the random weights start with gradient norms of 5 to 20) and lets go of some.
TRAJECTORY_SETTINGS = dict(
    lr=2.0 ** -7, schedule="constant", warmup_steps=0, beta1=0.9, beta2=0.95, eps=1e-8,
    weight_decay=0.1, decay_embeddings=False, grad_clip=1.0, z_loss=0.0, steps=STEPS,
)


def clip_like_archlab(params, max_norm):
    """The global gradient norm before clipping, and the clip archlab does: scale by exactly
    max_norm / norm when norm > max_norm. torch.nn.utils.clip_grad_norm_ scales by
    max_norm / (norm + 1e-6) and always: a relative difference of 1e-6 / norm in the gradient,
    far below the tests' 1e-4, but there is no reason to carry it."""
    norm = math.sqrt(sum(float(p.grad.double().pow(2).sum()) for p in params))
    if max_norm > 0 and norm > max_norm:
        for p in params:
            p.grad.mul_(max_norm / norm)
    return norm


def trajectory(family):
    """Trains the committed fixture of `family` in float64 and returns its trajectory."""
    (config_class, model_class, _) = FAMILIES[family]
    folder = ROOT / family
    model = model_class.from_pretrained(folder, attn_implementation="eager", dtype=torch.float64)
    model.train()
    for module in model.modules():
        assert not isinstance(module, torch.nn.Dropout) or module.p == 0.0, module
    for name in ["attention_dropout", "attn_pdrop", "resid_pdrop", "embd_pdrop"]:
        assert getattr(model.config, name, 0.0) == 0.0, name
    tokens = torch.tensor(json.loads((folder / "tokens.json").read_text()))
    settings = TRAJECTORY_SETTINGS

    # archlab's weight-decay groups (src/model/layout.rs, ParamKind): matrices (linear and
    # Conv1D weights, an untied lm_head) decay; token and position embeddings (a tied lm_head
    # is the embedding), norm gains and biases do not.
    embeddings = {id(m.weight) for m in model.modules() if isinstance(m, torch.nn.Embedding)}
    params = list(model.parameters())  # a tied head appears once, as the embedding
    decay = [p for p in params if p.ndim == 2 and id(p) not in embeddings]
    no_decay = [p for p in params if p.ndim != 2 or id(p) in embeddings]
    assert all(p.dtype == torch.float64 for p in params)
    optimizer = torch.optim.AdamW(
        [dict(params=decay, weight_decay=settings["weight_decay"]),
         dict(params=no_decay, weight_decay=0.0)],
        lr=settings["lr"], betas=(settings["beta1"], settings["beta2"]), eps=settings["eps"],
    )
    losses, norms = [], []
    for _ in range(STEPS):
        optimizer.zero_grad(set_to_none=True)
        loss = model(input_ids=tokens, labels=tokens).loss
        losses.append(loss.item())  # before this step's update
        loss.backward()
        norms.append(clip_like_archlab(params, settings["grad_clip"]))
        optimizer.step()
    with torch.no_grad():
        final = model(input_ids=tokens, labels=tokens).loss.item()
    clipped = sum(n > settings["grad_clip"] for n in norms)
    return {
        "family": family,
        "made_by": f"tools/make_hf_fixtures.py --trajectories: torch {torch.__version__}, "
                   f"transformers {transformers.__version__}, float64",
        "settings": settings,
        "decaying_tensors": sum(p.numel() > 0 for p in decay),
        "loss": losses,
        "grad_norm": norms,
        "loss_after_last_step": final,
        "clipped_steps": clipped,
    }


def trajectories():
    for family in TRAJECTORIES:
        result = trajectory(family)
        (ROOT / family / "trajectory.json").write_text(json.dumps(result, indent=1) + "\n")
        print(f"{family}: loss {result['loss'][0]:.4f} -> {result['loss_after_last_step']:.4f}, "
              f"clipped on {result['clipped_steps']} of {STEPS} steps, grad norm "
              f"{result['grad_norm'][0]:.2f} -> {result['grad_norm'][-1]:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--exports", metavar="ARCHLAB",
                        help="make the preset export fixtures with this archlab binary instead")
    parser.add_argument("--trajectories", action="store_true",
                        help="write only trajectory.json from the committed fixtures")
    parser.add_argument("--only", nargs="+", metavar="NAME",
                        help="make only these families (or, with --exports, presets); the "
                             "other folders are left as they are")
    args = parser.parse_args()
    if args.exports:
        exports(args.exports, args.only)
    elif args.trajectories:
        trajectories()
    else:
        main(args.only)
