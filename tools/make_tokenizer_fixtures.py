"""Writes tests/fixtures/tokenizers/: small tokenizer.json files of the kinds archlab reads, and the
ids and text Hugging Face's `tokenizers` gives for a list of texts
(tests/integration/hf_tokenizer.rs checks archlab's reader against them, without Python).

    python3 -m venv /tmp/tokvenv && /tmp/tokvenv/bin/pip install tokenizers==0.23.3
    /tmp/tokvenv/bin/python tools/make_tokenizer_fixtures.py

Each tokenizer is trained on a short text (so its vocabulary is small and the files a few KB),
then given the pipeline of the family it stands for.
"""

import json
import os
import random

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "tokenizers")

TRAINING_TEXT = """\
First Citizen: Before we proceed any further, hear me speak. We're all resolved rather to die
than to famish. You know Caius Marcius is chief enemy to the people. Let us kill him, and
we'll have corn at our own price. Is't a verdict? No more talking on't; let it be done: away!
The year 2024 had 366 days; 3.14159 is pi, and 42 is the answer. I'm sure they've gone.
你好，世界。我们在这里。 Café naïve résumé.
""" * 3

# What the tests encode: ASCII, contractions, Chinese, emoji, whitespace runs, digits, special
# tokens, leading spaces, characters outside the training text.
TEXTS = [
    "",
    "Hello world",
    "First Citizen: Before we proceed any further, hear me speak.",
    "We're sure they'll go; I'm NOT, you'D better 'tis",
    "你好，世界！中文文本",
    "emoji 🦀 crabs 👍🏽 and ✨",
    "a   b\t\tc \n  \n\nd    ",
    "   leading spaces",
    "trailing spaces   ",
    "digits 12345 3.14159 2026-12-01 007",
    "Café naïve résumé Ωμέγα",
    "line one\nline two\r\nline three",
    "x",
    " ",
    "\n",
    # Decomposed accents and the Angstrom sign, which NFC composes.
    "cafe\u0301 A\u030a \u212b",
]


def trained(model, pre_tokenizer, special, vocab_size, alphabet):
    tokenizer = Tokenizer(model)
    tokenizer.pre_tokenizer = pre_tokenizer
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=special,
        initial_alphabet=alphabet,
        show_progress=False,
    )
    tokenizer.train_from_iterator([TRAINING_TEXT], trainer=trainer)
    return tokenizer


def gpt2():
    """GPT-2: the ByteLevel pre-tokenizer with its own regex, <|endoftext|>."""
    tok = trained(
        models.BPE(),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ["<|endoftext|>"],
        400,
        pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.decoder = decoders.ByteLevel()
    return tok


LLAMA3_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def llama3():
    """LLaMA 3: the regex split (digits in threes), then ByteLevel without its regex;
    ignore_merges; special tokens."""
    pre = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(LLAMA3_SPLIT), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok = trained(
        models.BPE(ignore_merges=True),
        pre,
        ["<|begin_of_text|>", "<|end_of_text|>"],
        420,
        pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.decoder = decoders.ByteLevel()
    return tok


QWEN2_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def qwen2():
    """Qwen 2 and 3: NFC, the regex split (one digit per piece), then ByteLevel."""
    pre = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok = trained(
        models.BPE(),
        pre,
        ["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        400,
        pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.normalizer = normalizers.NFC()
    tok.decoder = decoders.ByteLevel()
    return tok


BYTES = ["<0x%02X>" % b for b in range(256)]


def sentencepiece(legacy):
    """LLaMA 2 (legacy: Prepend and Replace normalizers, the Replace/ByteFallback/Fuse/Strip
    decoder) or Mistral (Metaspace pre-tokenizer and decoder): <unk> <s> </s>, the 256 byte
    tokens next, then the learned pieces; byte fallback."""
    learned = trained(
        models.BPE(),
        pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True),
        [],
        300,
        [],
    )
    data = json.loads(learned.to_str())
    pieces = sorted(data["model"]["vocab"].items(), key=lambda kv: kv[1])
    vocab = {t: i for i, t in enumerate(["<unk>", "<s>", "</s>"] + BYTES)}
    for piece, _ in pieces:
        vocab.setdefault(piece, len(vocab))
    model = models.BPE(
        vocab=vocab,
        merges=[tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in data["model"]["merges"]],
        unk_token="<unk>",
        byte_fallback=True,
        fuse_unk=True,
    )
    tok = Tokenizer(model)
    tok.add_special_tokens(["<unk>", "<s>", "</s>"])
    if legacy:
        tok.normalizer = normalizers.Sequence(
            [normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")]
        )
        tok.decoder = decoders.Sequence(
            [
                decoders.Replace("▁", " "),
                decoders.ByteFallback(),
                decoders.Fuse(),
                decoders.Strip(content=" ", left=1, right=0),
            ]
        )
    else:
        tok.pre_tokenizer = pre_tokenizers.Metaspace(
            replacement="▁", prepend_scheme="first", split=False
        )
        tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="first", split=False)
    return tok


def cases(tok, specials):
    rng = random.Random(7)
    texts = TEXTS + [f"{specials[0]}Hello{specials[-1]}", f"say {specials[0]} and{specials[-1]}\n"]
    encoded = []
    for text in texts:
        ids = tok.encode(text, add_special_tokens=False).ids
        encoded.append({"text": text, "ids": ids, "decoded": tok.decode(ids, skip_special_tokens=False)})
    vocab = tok.get_vocab_size(with_added_tokens=True)
    decoded = []
    for _ in range(30):
        ids = [rng.randrange(vocab) for _ in range(rng.randrange(1, 12))]
        decoded.append({"ids": ids, "decoded": tok.decode(ids, skip_special_tokens=False)})
    return {"encode": encoded, "decode": decoded}


def main():
    os.makedirs(OUT, exist_ok=True)
    fixtures = {
        "gpt2": (gpt2(), ["<|endoftext|>"]),
        "llama3": (llama3(), ["<|begin_of_text|>", "<|end_of_text|>"]),
        "llama2": (sentencepiece(legacy=True), ["<s>", "</s>"]),
        "mistral": (sentencepiece(legacy=False), ["<s>", "</s>"]),
        "qwen2": (qwen2(), ["<|im_start|>", "<|im_end|>"]),
    }
    for name, (tok, specials) in fixtures.items():
        folder = os.path.join(OUT, name)
        os.makedirs(folder, exist_ok=True)
        # Compact, like the files models ship (a few KB here).
        with open(os.path.join(folder, "tokenizer.json"), "w") as f:
            f.write(tok.to_str())
        with open(os.path.join(folder, "cases.json"), "w") as f:
            json.dump(cases(tok, specials), f, ensure_ascii=False, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
