#!/usr/bin/env python3
"""transformers' greedy ids for the real checkpoint in ../shared/models/tinystories-656k, with and
without a repetition penalty, written to packages/llm-bridge/src/__fixtures__/tinystories-generate.json
(the checkpoint itself is not committed; its SOURCE.md holds the penalty-1.0 reference only).

    python3 tools/parity/tinystories_reference.py           # rewrite the fixture
    python3 tools/parity/tinystories_reference.py --check   # exit 1 if the committed fixture differs

Needs torch and transformers (the local package index serves them); run from the repository root.
"""
import argparse
import json
import os
import sys

import torch
import transformers

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.path.join(ROOT, "..", "shared", "models", "tinystories-656k")
OUT = os.path.join(ROOT, "packages", "llm-bridge", "src", "__fixtures__", "tinystories-generate.json")
PROMPTS = ["Once upon a time", "Once upon a time, there was a little girl named Lily. She loved", "Tom and his dog"]
PENALTIES = [1.0, 1.3, 1.5]


def build():
    torch.manual_seed(0)
    tok = transformers.AutoTokenizer.from_pretrained(MODEL)
    model = transformers.AutoModelForCausalLM.from_pretrained(MODEL, dtype=torch.float32, attn_implementation="eager").eval()
    cases = []
    with torch.no_grad():
        for prompt in PROMPTS:
            ids = tok(prompt, return_tensors="pt").input_ids
            for p in PENALTIES:
                out = model.generate(ids, max_new_tokens=24, do_sample=False, repetition_penalty=p)
                new = out[0, ids.shape[1]:].tolist()
                cases.append({"prompt": prompt, "repetition_penalty": p, "prompt_ids": ids[0].tolist(), "new_ids": new,
                              "text": tok.decode(new, skip_special_tokens=True)})
    return {"model": "tinystories-656k", "transformers": transformers.__version__, "torch": torch.__version__,
            "max_new_tokens": 24, "cases": cases}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    text = json.dumps(build(), indent=1, sort_keys=True) + "\n"
    if args.check:
        same = os.path.exists(OUT) and open(OUT).read() == text
        print("tinystories-generate.json", "matches" if same else "DIFFERS")
        sys.exit(0 if same else 1)
    with open(OUT, "w") as f:
        f.write(text)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
