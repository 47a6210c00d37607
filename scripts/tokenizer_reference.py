"""Reference tokenizers for LatteTokenizers parity fixtures and benchmarks (HF `tokenizers`).

Shared by scripts/make_tokenizer_fixtures.py and scripts/bench_tokenizers.py.
Needs `pip install tokenizers gguf` (developer machines only; CI never runs this).
"""
import os

from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

LATTE_HOME = os.environ.get("LATTE_HOME", os.path.expanduser("~/.cache/latteflow"))
SMOLLM2_GGUF = os.path.join(LATTE_HOME, "smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
MINILM_JSON = os.path.join(LATTE_HOME, "minilm", "tokenizer.json")


def load_minilm(path=MINILM_JSON):
    """MiniLM's tokenizer.json with its padding/truncation to 128 switched off (transformers ignores them
    too, and LatteTokenizers never pads or truncates: callers do)."""
    tok = Tokenizer.from_file(path)
    tok.no_padding()
    tok.no_truncation()
    return tok


def gguf_vocabulary(path=SMOLLM2_GGUF):
    import gguf

    reader = gguf.GGUFReader(path)

    def field(name):
        f = reader.fields.get(name)
        return None if f is None else f.contents()

    return {
        "tokens": field("tokenizer.ggml.tokens"),
        "merges": field("tokenizer.ggml.merges"),
        "token_type": field("tokenizer.ggml.token_type"),
        "pre": field("tokenizer.ggml.pre"),
        "bos": field("tokenizer.ggml.bos_token_id"),
        "eos": field("tokenizer.ggml.eos_token_id"),
        "add_bos": field("tokenizer.ggml.add_bos_token"),
        "chat_template": field("tokenizer.chat_template"),
    }


def tokenizer_from_gguf(path=SMOLLM2_GGUF):
    """Byte-level BPE from a GGUF's tokenizer.ggml.* fields with llama.cpp's `smollm` pre-tokenizer:
    every digit split on its own, then the GPT-2 split. transformers' GGUF loader does not know `smollm`
    and falls back to plain GPT-2 splitting, which is wrong (see docs/tokenizers.md)."""
    v = gguf_vocabulary(path)
    assert v["pre"] == "smollm", v["pre"]
    assert not v["add_bos"], "the SmolLM2 GGUF adds no BOS"
    vocab = {t: i for i, t in enumerate(v["tokens"])}
    assert len(vocab) == len(v["tokens"]), "duplicate tokens"
    merges = [tuple(m.split(" ", 1)) for m in v["merges"]]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, byte_fallback=False, fuse_unk=False))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
    ])
    tok.decoder = decoders.ByteLevel()
    # token_type 3 = CONTROL in llama.cpp: special tokens, matched in raw text before splitting.
    specials = [AddedToken(t, special=True, normalized=False)
                for t, ty in zip(v["tokens"], v["token_type"]) if ty == 3]
    tok.add_special_tokens(specials)
    return tok
