#!/usr/bin/env python3
"""Run llama.cpp's convert_hf_to_gguf.py on a Hugging Face Gemma 3 folder
without transformers, for the hf package's conversion golden.

    python3 tools/hf/convert_reference.py LLAMA_CPP_DIR HF_DIR OUT.gguf OUTTYPE

LLAMA_CPP_DIR is a llama.cpp checkout (its convert_hf_to_gguf.py,
conversion/ and gguf-py/); OUTTYPE one of auto, f32, f16, bf16. Needs torch,
numpy and pyyaml (Debian: python3-torch python3-numpy python3-yaml).

Two stand-ins replace what transformers would do, so that nothing else of
the converter changes:
  - transformers.AutoConfig raises, so the converter reads config.json
    itself (its documented fallback); the test folders spell out every key
    AutoConfig would add;
  - Gemma3Model.set_vocab writes no vocabulary: without tokenizer.model the
    converter would need transformers' AutoTokenizer. The tokenizer.ggml.*
    entries are checked separately (tokenizer.ParseHF's tests, against the
    converter's _create_vocab_sentencepiece and llama.cpp itself);
  - the folder is given an empty tokenizer.model (when it has none) and
    _create_vocab_sentencepiece returns vocab_size placeholder tokens, its
    length for any Gemma 3 tokenizer.model: so the embedding is cut to
    vocab_size rows as for Google's folders, which ship tokenizer.model,
    instead of to the token count of tokenizer.json (which the converter
    uses when tokenizer.model is absent, and which for Google's
    tokenizer.json exceeds vocab_size anyway).
And torch builds without float8 types (Debian 12's 1.13) get uint8 in
their place, which only FP8 checkpoints would touch.
"""
import sys
import types
from pathlib import Path

llama, src, out, outtype = sys.argv[1:5]
sys.path.insert(0, str(Path(llama)))
sys.path.insert(0, str(Path(llama) / "gguf-py"))

stub = types.ModuleType("transformers")


class AutoConfig:
    @staticmethod
    def from_pretrained(*args, **kwargs):
        raise RuntimeError("transformers is not installed: read config.json")


stub.AutoConfig = AutoConfig
sys.modules["transformers"] = stub

import torch  # noqa: E402

for name in ("float8_e4m3fn", "float8_e5m2"):
    if not hasattr(torch, name):
        setattr(torch, name, torch.uint8)

import convert_hf_to_gguf  # noqa: E402
from conversion.gemma import Gemma3Model  # noqa: E402

Gemma3Model.set_vocab = lambda self: None


def placeholder_vocab(self):
    n = self.find_hparam(["vocab_size"])
    return [b"[PAD%d]" % i for i in range(n)], [-10000.0] * n, [0] * n


Gemma3Model._create_vocab_sentencepiece = placeholder_vocab
spm = Path(src) / "tokenizer.model"
if not spm.exists():
    spm.write_bytes(b"")

sys.argv = ["convert_hf_to_gguf.py", src, "--outfile", out, "--outtype", outtype]
convert_hf_to_gguf.main()
