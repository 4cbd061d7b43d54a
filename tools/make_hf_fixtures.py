#!/usr/bin/env python3
"""Makes the Hugging Face fixtures of tests/fixtures/hf/: one tiny random model per family, with
the logits and every parameter gradient that transformers computes for a fixed batch.

Run once by hand (the test suite itself needs no Python):

    python3 -m venv /tmp/fixvenv && /tmp/fixvenv/bin/pip install torch transformers safetensors
    /tmp/fixvenv/bin/python tools/make_hf_fixtures.py

Each folder gets what transformers' save_pretrained writes (config.json, model.safetensors), plus
tokens.json (a [batch, seq] list of token ids), expected.safetensors (`logits` [B, T, V] and
`grad.<HF parameter name>` for every parameter) and expected.json (the loss with
labels=input_ids: mean cross-entropy of positions 0..T-2 predicting 1..T-1). Gradients are named
as the tensors in model.safetensors.
"""
import json
import pathlib

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
}


def randomize(model, generator):
    """Larger random weights than HF's init (std 0.02 gives near-uniform logits, a weak test)."""
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "norm" in name or name.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight")):
                param.copy_(1.0 + 0.2 * torch.randn(param.shape, generator=generator))
            else:
                param.copy_(0.4 * torch.randn(param.shape, generator=generator))


def main():
    for index, (family, (config_class, model_class, kwargs)) in enumerate(FAMILIES.items()):
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


if __name__ == "__main__":
    main()
