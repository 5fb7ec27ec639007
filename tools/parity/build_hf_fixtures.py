#!/usr/bin/env python3
"""Build tiny Hugging Face causal-LM checkpoints WITH TRANSFORMERS ITSELF and record transformers' output.

For every case below this script
  1. builds a tiny model of a real transformers class (`<Family>Config` + `AutoModelForCausalLM.from_config`),
  2. re-initialises every parameter from a seeded normal (so logits spread over several units),
  3. writes it with `save_pretrained` (config.json, generation_config.json, model.safetensors or shards + index),
     plus a tiny WordLevel tokenizer saved with `PreTrainedTokenizerFast(...).save_pretrained`,
  4. optionally rewrites config.json / the safetensors file (the "v4" config layouts, the tied-weight layouts),
  5. RELOADS the directory with `AutoModelForCausalLM.from_pretrained(dir, dtype=torch.float32,
     attn_implementation="eager")` and records, from the reloaded model, the full logits of two unpadded batch-1
     forwards and 8 greedy ids from `generate`, into expected.json.
A case's own asserts (e.g. "sliding window changes the logits", "the rewritten config reproduces the logits")
run before anything is written; a failed assert aborts the run.

Output: packages/llm-bridge/src/__fixtures__/hf/<case>/ , hf/MANIFEST.json and hf/README.md. The TypeScript
loader of @allmrec/llm-bridge is tested against these files on machines without Python.

Run from the repository root:
    python3 tools/parity/build_hf_fixtures.py              # rebuild every case (rewrites hf/ entirely)
    python3 tools/parity/build_hf_fixtures.py --case llama # rebuild one case (and MANIFEST.json / README.md)
    python3 tools/parity/build_hf_fixtures.py --check      # rebuild into a temp dir, compare byte for byte with
                                                           # the committed files, exit 1 on any difference
    python3 tools/parity/build_hf_fixtures.py --list       # list the cases
`--check --atol 1e-5` additionally accepts expected.json files whose only differences are logits within that
absolute tolerance (last-digit float noise on another CPU); every other byte must still match.

Deterministic: fixed seeds, one torch thread, sorted-key JSON, logits rounded to 7 significant digits.
Expected versions (the committed files were produced with these; others warn and will likely fail --check):
    python 3.11, torch 2.13.0+cpu, transformers 5.18.0, safetensors 0.8.0, tokenizers 0.23.2, numpy 2.x
"""
import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402
import transformers  # noqa: E402
from safetensors import safe_open  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402
from tokenizers import Tokenizer, models as tok_models, pre_tokenizers  # noqa: E402
from transformers import (  # noqa: E402
    AutoConfig,
    AutoModelForCausalLM,
    GPT2Config,
    Gemma2Config,
    GemmaConfig,
    GPTNeoXConfig,
    LlamaConfig,
    MistralConfig,
    OPTConfig,
    Phi3Config,
    PreTrainedTokenizerFast,
    Qwen2Config,
    Qwen3Config,
)

EXPECTED_VERSIONS = {"transformers": "5.18.0", "torch": "2.13.0+cpu"}
REPO = Path(__file__).resolve().parents[2]
OUT_DIR = REPO / "packages" / "llm-bridge" / "src" / "__fixtures__" / "hf"
SIZE_LIMIT = 3_000_000  # bytes, sum of file sizes (decimal MB, the stricter reading)

# ---- shared tiny dimensions -------------------------------------------------------------------------------
# 34 cases at vocab 96 / intermediate 64 would not fit the 3 MB budget of hf/, so vocab is 64 and the
# intermediate size 40 (still != hidden, so no MLP matrix is square).
V = 64          # vocab size == tokenizer size
H = 32          # hidden size
L = 2           # layers
FF = 40         # intermediate size
NH = 4          # attention heads
NKV = 2         # key/value heads where GQA applies
HD = 8          # head dim
MAXPOS = 64     # max_position_embeddings (rope models)
LEARNED_POS = 32  # n_positions / max_position_embeddings for learned-position models (gpt2, opt): 12 + 8 <= 32

BOS, EOS, PAD = 1, 2, 0
SPECIAL = dict(bos_token_id=BOS, eos_token_id=EOS, pad_token_id=PAD)

IDS = [[5, 17, 42, 8, 33, 21, 60, 12, 3, 47, 29, 14], [9, 51, 26, 38, 11]]
IDS_LONG = [IDS[0] + [55, 6], IDS[1]]  # 14 and 5 ids
NEW_TOKENS = 8
MIN_MARGIN = 2e-3
MIN_DISTINCT = 4  # a seed whose 8 greedy ids hold fewer distinct ids (e.g. the last prompt token repeated) is skipped
SIG_DIGITS = 7


# ---- helpers ---------------------------------------------------------------------------------------------------
def rope(theta=10000.0, rope_type="default", **extra):
    return {"rope_type": rope_type, "rope_theta": theta, **extra}


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def write_json(path, obj):
    """Same layout as save_pretrained: indent 2, sorted keys, trailing newline."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(obj, indent=2, sort_keys=True) + "\n")


def round_sig(x):
    return float(f"{float(x):.{SIG_DIGITS}g}")


def dump_expected(obj):
    """Sorted-key JSON; the logits get one [T,V] row per line, everything else is compact."""
    lines = ["{"]
    keys = sorted(obj)
    for i, key in enumerate(keys):
        comma = "," if i + 1 < len(keys) else ""
        if key == "logits":
            seqs = []
            for seq in obj[key]:
                rows = [json.dumps(row, separators=(",", ":")) for row in seq]
                seqs.append("[\n" + ",\n".join(rows) + "]")
            lines.append(json.dumps(key) + ":[\n" + ",\n".join(seqs) + "]" + comma)
        else:
            lines.append(json.dumps(key) + ":" + json.dumps(obj[key], sort_keys=True, separators=(",", ":")) + comma)
    lines.append("}")
    return "\n".join(lines) + "\n"


def dir_bytes(path):
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def save_tokenizer(path):
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for i in range(3, V):
        vocab[f"w{i}"] = i
    tok = Tokenizer(tok_models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="<unk>", bos_token="<s>", eos_token="</s>", pad_token="<unk>"
    )
    assert len(fast) == V
    fast.save_pretrained(path)


def load(path, config=None):
    kwargs = {"dtype": torch.float32, "attn_implementation": "eager"}
    if config is not None:
        kwargs["config"] = config
    return AutoModelForCausalLM.from_pretrained(path, **kwargs).eval()


def logits_of(path, ids, config=None):
    """One unpadded batch-1 forward per sequence. A fresh model per call: dynamic / longrope rotary embeddings
    keep state between calls (their inv_freq buffer follows the longest position seen)."""
    out = []
    for seq in ids:
        model = load(path, config)
        with torch.no_grad():
            out.append(model(input_ids=torch.tensor([seq])).logits[0].float())
    return out


def greedy_of(path, prompt, config=None):
    model = load(path, config)
    input_ids = torch.tensor([prompt])
    with torch.no_grad():
        gen = model.generate(
            input_ids,
            attention_mask=torch.ones_like(input_ids),
            max_new_tokens=NEW_TOKENS,
            min_new_tokens=NEW_TOKENS,
            do_sample=False,
            repetition_penalty=1.0,
            pad_token_id=PAD,
            output_logits=True,
            return_dict_in_generate=True,
        )
    new_ids = gen.sequences[0, len(prompt):].tolist()
    assert len(new_ids) == NEW_TOKENS, new_ids
    margins, raw_argmax_ok = [], True
    for step, step_logits in enumerate(gen.logits):
        row = step_logits[0].float()
        top = torch.topk(row, 2).values
        margins.append(float(top[0] - top[1]))
        if int(row.argmax()) != new_ids[step]:
            raw_argmax_ok = False  # a logits processor (min_new_tokens' EOS ban) changed the pick
    return new_ids, min(margins), raw_argmax_ok


def max_diff(a, b):
    return max(float((x - y).abs().max()) for x, y in zip(a, b))


def variant_logits(path, ids, mutate):
    config = AutoConfig.from_pretrained(path)
    mutate(config)
    return logits_of(path, ids, config)


def assert_differs(ref, other, what, tol=1e-3):
    d = max_diff(ref, other)
    assert d > tol, f"{what}: logits differ by only {d:.3g}"
    return d


def assert_same(ref, other, what, tol=1e-6):
    d = max_diff(ref, other)
    assert d < tol, f"{what}: logits differ by {d:.3g}"
    return d


def rewrite_config(path, drop=(), set_=None, to_torch_dtype=True):
    """Rewrite config.json into the transformers 4.x layout: drop 5.x keys, add legacy keys, and (as 4.x before
    4.56 did) spell the dtype key `torch_dtype`."""
    cfg = read_json(path / "config.json")
    for key in drop:
        cfg.pop(key)
    if to_torch_dtype:
        cfg["torch_dtype"] = cfg.pop("dtype")
    cfg.update(set_ or {})
    write_json(path / "config.json", cfg)


def safetensors_keys(path):
    with safe_open(str(path / "model.safetensors"), "pt") as f:
        return sorted(f.keys())


# ---- initialisation ----------------------------------------------------------------------------------------------
def reinit(model, seed, w_std=0.35, emb_std=0.5, pos_std=0.3, bias_std=0.05, norm_std=0.2, qk_std=None,
           norm_scale=None):
    """Seeded normal re-initialisation of every parameter (tied parameters once).
    2-D weights N(0, w_std); token embeddings / lm_head N(0, emb_std); learned position tables N(0, pos_std);
    biases N(0, bias_std); norm weights 1 + N(0, norm_std), or N(0, norm_std) for Gemma's (1 + weight) RMSNorm;
    q_proj / k_proj weights N(0, qk_std) if qk_std is given; norms whose name contains a key of norm_scale get
    that mean multiplier instead of 1."""
    gen = torch.Generator().manual_seed(seed)
    zero_centered_norm = model.config.model_type in ("gemma", "gemma2")
    with torch.no_grad():
        for name, param in model.named_parameters():
            noise = torch.randn(param.shape, generator=gen, dtype=torch.float32)
            if param.ndim == 1:
                if name.endswith("bias"):
                    value = bias_std * noise
                else:  # LayerNorm / RMSNorm weight
                    scale = next((v for k, v in (norm_scale or {}).items() if k in name), 1.0)
                    value = (scale - 1.0 if zero_centered_norm else scale) + norm_std * noise
            elif any(k in name for k in ("wpe", "embed_positions")):
                value = pos_std * noise
            elif any(k in name for k in ("embed", "wte", "lm_head")):
                value = emb_std * noise
            elif qk_std is not None and any(k in name for k in ("q_proj", "k_proj")):
                value = qk_std * noise
            else:
                value = w_std * noise
            param.copy_(value)


# ---- cases ---------------------------------------------------------------------------------------------------------
@dataclass
class Case:
    name: str
    description: str
    make_config: Callable
    dtype: str = "F32"               # stored dtype: F32 / F16 / BF16
    shards: int = 0                  # max_shard_size in bytes (0: single file)
    ids: list = field(default_factory=lambda: IDS)
    rewrite: Callable | None = None  # rewrite(dir) after save_pretrained
    check: Callable | None = None    # check(dir, ref_logits, ctx) -> dict of notes; asserts
    init: dict = field(default_factory=dict)


CASES = []


def case(*args, **kwargs):
    CASES.append(Case(*args, **kwargs))


TORCH_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


# gpt2 --------------------------------------------------------------------------------------------------------------
def gpt2_config():
    return GPT2Config(vocab_size=V, n_positions=LEARNED_POS, n_embd=H, n_layer=L, n_head=NH, n_inner=FF,
                      activation_function="gelu_new", resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                      layer_norm_epsilon=1e-5, tie_word_embeddings=True, **SPECIAL)


def check_gpt2(path, ref, ctx):
    keys = ctx["keys"]
    assert "transformer.wte.weight" in keys and "lm_head.weight" not in keys, keys
    return {}


case("gpt2", "GPT2LMHeadModel, tied wte/lm_head (only transformer.wte.weight stored), gelu_new, learned "
     f"positions (n_positions {LEARNED_POS}), Conv1D weights stored [in, out].", gpt2_config, check=check_gpt2)
case("gpt2-f16", "gpt2 stored float16 (model.half() then save_pretrained); reference = float32 forward on the "
     "upcast weights.", gpt2_config, dtype="F16", check=check_gpt2)
case("gpt2-sharded", "gpt2 stored as several safetensors shards + model.safetensors.index.json.", gpt2_config,
     shards=40_000, check=check_gpt2)


# opt ---------------------------------------------------------------------------------------------------------------
def opt_config(**kw):
    args = dict(vocab_size=V, hidden_size=H, num_hidden_layers=L, ffn_dim=FF, max_position_embeddings=LEARNED_POS,
                do_layer_norm_before=True, word_embed_proj_dim=H, dropout=0.0, attention_dropout=0.0,
                num_attention_heads=NH, activation_function="relu", enable_bias=True, tie_word_embeddings=True,
                **SPECIAL)
    args.update(kw)
    return lambda: OPTConfig(**args)


def check_opt_350m(path, ref, ctx):
    keys = ctx["keys"]
    assert any("project_in" in k for k in keys) and any("project_out" in k for k in keys), keys
    assert not any("final_layer_norm" in k and "layers" not in k for k in keys), keys
    return {}


case("opt", "OPTForCausalLM, pre-norm (do_layer_norm_before true), word_embed_proj_dim = hidden, relu, learned "
     "positions with OPT's offset of 2 (embed_positions has max_position_embeddings + 2 rows), tied lm_head.",
     opt_config())
case("opt-350m-style", "OPT post-norm (do_layer_norm_before false, so no decoder.final_layer_norm) with "
     "word_embed_proj_dim 16 != hidden 32: project_in [32,16] after the embedding, project_out [16,32] before the "
     "tied lm_head.", opt_config(do_layer_norm_before=False, word_embed_proj_dim=16), check=check_opt_350m)
case("opt-bf16", "opt stored bfloat16; reference = float32 forward on the upcast weights.", opt_config(),
     dtype="BF16")


# llama ---------------------------------------------------------------------------------------------------------------
def llama_config(**kw):
    args = dict(vocab_size=V, hidden_size=H, intermediate_size=FF, num_hidden_layers=L, num_attention_heads=NH,
                num_key_value_heads=NKV, head_dim=HD, hidden_act="silu", max_position_embeddings=MAXPOS,
                rms_norm_eps=1e-6, tie_word_embeddings=False, rope_parameters=rope(), attention_bias=False,
                mlp_bias=False, pretraining_tp=1, **SPECIAL)
    args.update(kw)
    return lambda: LlamaConfig(**args)


def default_rope_variant(cfg):
    cfg.rope_parameters = rope(cfg.rope_parameters.get("rope_theta", 10000.0))


def check_theta(theta):
    def check(path, ref, ctx):
        cfg = AutoConfig.from_pretrained(path)
        assert cfg.rope_parameters["rope_theta"] == theta, cfg.rope_parameters
        d = assert_differs(ref, variant_logits(path, ctx["ids"], lambda c: c.rope_parameters.update(
            rope_theta=10000.0)), "rope_theta 10000 vs %s" % theta)
        return {"max |logit diff| if rope_theta were 10000": d}
    return check


def check_rope_differs(path, ref, ctx):
    cfg = AutoConfig.from_pretrained(path)
    d = assert_differs(ref, variant_logits(path, ctx["ids"], default_rope_variant), "scaled vs default rope")
    return {"rope_parameters (as loaded)": cfg.rope_parameters, "max |logit diff| vs default rope": d}


def greedy_without_cache(path, prompt):
    """Greedy ids recomputed with one full forward (fresh model) per step, no KV cache."""
    seq = list(prompt)
    for _ in range(NEW_TOKENS):
        seq.append(int(logits_of(path, [seq])[0][-1].argmax()))
    return seq[len(prompt):]


def check_dynamic(path, ref, ctx):
    other = variant_logits(path, ctx["ids"], default_rope_variant)
    d_long = assert_differs(ref[:1], other[:1], "dynamic rope, 14 tokens > max_position_embeddings 8")
    d_short = assert_same(ref[1:], other[1:], "dynamic rope, 5 tokens <= max_position_embeddings 8")
    no_cache = greedy_without_cache(path, ctx["ids"][0])
    if no_cache == ctx["new_ids"]:
        suffix = " Here a cache-free recomputation (full forward per step) gives the same 8 ids."
    else:
        suffix = (" Here a cache-free recomputation (full forward per step, so every key re-rotated with the "
                  f"current seq_len) gives {no_cache} instead of generate's {ctx['new_ids']}.")
    return {"max |logit diff| vs default rope, 14-token sequence": d_long,
            "max |logit diff| vs default rope, 5-token sequence": d_short,
            "greedy ids without KV cache": no_cache, "description_suffix": suffix}


def check_llama3(path, ref, ctx):
    cfg = AutoConfig.from_pretrained(path)
    rp = cfg.rope_parameters
    dim = cfg.head_dim
    inv = 1.0 / (rp["rope_theta"] ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    wavelen = 2 * math.pi / inv
    low_wl = rp["original_max_position_embeddings"] / rp["low_freq_factor"]
    high_wl = rp["original_max_position_embeddings"] / rp["high_freq_factor"]
    bands = {"high (kept)": int((wavelen < high_wl).sum()),
             "medium (smoothed)": int(((wavelen >= high_wl) & (wavelen <= low_wl)).sum()),
             "low (divided by factor)": int((wavelen > low_wl).sum())}
    assert all(n > 0 for n in bands.values()), bands
    notes = check_rope_differs(path, ref, ctx)
    notes["llama3 frequency bands (count of the head_dim/2 frequencies)"] = bands
    return notes


def check_yarn(path, ref, ctx):
    model = load(path)
    att = float(model.model.rotary_emb.attention_scaling)
    assert abs(att - 1.0) > 1e-3, att
    inv = model.model.rotary_emb.inv_freq
    dim = model.config.head_dim
    base = 1.0 / (10000.0 ** (torch.arange(0, dim, 2).float() / dim))
    factor = model.config.rope_parameters["factor"]
    blend = [float((inv[i] - base[i] / factor) / (base[i] - base[i] / factor)) for i in range(dim // 2)]
    assert abs(blend[0] - 1) < 1e-6 and abs(blend[1] - 0.5) < 1e-6 and max(abs(b) for b in blend[2:]) < 1e-6, blend
    notes = check_rope_differs(path, ref, ctx)
    notes["yarn attention_factor (cos/sin multiplier)"] = att
    notes["yarn extrapolation share per frequency"] = blend
    notes["yarn inv_freq"] = inv.tolist()
    return notes


def check_same_as_before(what):
    def check(path, ref, ctx):
        return {f"max |logit diff| vs the directory before the {what} rewrite": assert_same(ref, ctx["before"], what)}
    return check


def combine(*checks):
    def check(path, ref, ctx):
        notes = {}
        for c in checks:
            notes.update(c(path, ref, ctx) or {})
        return notes
    return check


def rewrite_llama_v4(path):
    rewrite_config(path, drop=["rope_parameters"], set_={"rope_theta": 500000.0, "rope_scaling": None})


def rewrite_llama_v4_scaling(path):
    rewrite_config(path, drop=["rope_parameters"],
                   set_={"rope_theta": 10000.0, "rope_scaling": {"type": "linear", "factor": 2.0}})


def check_v4_scaling(path, ref, ctx):
    cfg = AutoConfig.from_pretrained(path)
    assert cfg.rope_parameters["rope_type"] == "linear" and cfg.rope_parameters["factor"] == 2.0, cfg.rope_parameters
    notes = check_same_as_before("4.x rope_scaling")(path, ref, ctx)
    notes.update(check_rope_differs(path, ref, ctx))
    return notes


def untie_rewrite(keep):
    """Rewrite model.safetensors of a tied llama so it holds the tied matrix under `keep` only / under both names."""
    def rewrite(path):
        file = path / "model.safetensors"
        with safe_open(str(file), "pt") as f:
            metadata = f.metadata()
        tensors = load_file(str(file))
        emb = tensors.pop("model.embed_tokens.weight")
        assert "lm_head.weight" not in tensors
        if keep in ("lm_head", "both"):
            tensors["lm_head.weight"] = emb.clone()
        if keep in ("embed", "both"):
            tensors["model.embed_tokens.weight"] = emb
        assert metadata == {"format": "pt"}, metadata
        save_file(tensors, str(file), metadata={"format": "pt"})
    return rewrite


def check_tied(expect_keys):
    def check(path, ref, ctx):
        keys = [k for k in ctx["keys"] if k in ("lm_head.weight", "model.embed_tokens.weight")]
        assert keys == expect_keys, keys
        tensors = load_file(str(path / "model.safetensors"))
        stored = tensors.get("lm_head.weight", tensors.get("model.embed_tokens.weight"))
        model = load(path)
        emb, head = model.model.embed_tokens.weight, model.lm_head.weight
        assert emb.data_ptr() == head.data_ptr(), "not tied after loading"
        assert torch.equal(emb, stored) and torch.equal(head, stored)
        notes = check_same_as_before("tied-tensor")(path, ref, ctx) if "before" in ctx else {}
        notes["stored tied tensor names"] = keys
        return notes
    return check


case("llama", "LlamaForCausalLM, GQA (4 heads, 2 KV heads, head_dim 8), untied lm_head, SiLU-gated MLP, "
     "transformers-5 config (rope_parameters {rope_theta 10000, rope_type default}).", llama_config())
case("llama-v4-config", "llama with config.json rewritten into the 4.x layout: top-level rope_theta 500000.0, "
     "\"rope_scaling\": null, no rope_parameters, torch_dtype instead of dtype. Asserted: transformers 5.18 loads it "
     "to the same logits as the 5.x-form directory, and rope_theta 10000 would give different logits.",
     llama_config(rope_parameters=rope(500000.0)), rewrite=rewrite_llama_v4,
     check=combine(check_same_as_before("4.x config"), check_theta(500000.0)))
case("llama-v5-theta", "llama, transformers-5 form rope_parameters {rope_theta 500000.0, rope_type default} "
     "(asserted: differs from theta 10000).", llama_config(rope_parameters=rope(500000.0)),
     check=check_theta(500000.0))
case("llama-rope-linear", "llama, rope_parameters rope_type linear, factor 2.0 (positions divided by 2).",
     llama_config(rope_parameters=rope(rope_type="linear", factor=2.0)), check=check_rope_differs)
case("llama-rope-dynamic", "llama, rope_type dynamic (NTK), factor 2.0, max_position_embeddings 8; sequences of "
     "14 and 5 ids. transformers recomputes inv_freq per forward from seq_len = max(position_ids)+1: if seq_len > "
     "8, base = theta * (factor*seq_len/8 - (factor-1)) ** (dim/(dim-2)); at <= 8 it is plain rope. So the "
     "14-token logits use seq_len 14 for every position, the 5-token logits equal default rope (asserted), and "
     "during generate each decode step at position p >= 14 recomputes with seq_len p+1 while keys already in the "
     "KV cache keep the rotation of the step that cached them.",
     llama_config(rope_parameters=rope(rope_type="dynamic", factor=2.0), max_position_embeddings=8),
     ids=IDS_LONG, check=check_dynamic)
case("llama-rope-llama3", "llama, rope_type llama3, factor 8, low_freq_factor 1, high_freq_factor 4, "
     "original_max_position_embeddings 32 (not 16: with 16 the high-frequency band, wavelength < 16/4 = 4 < 2*pi, "
     "is empty for any theta), head_dim 16 with 2 heads / 1 KV head: of the 8 frequencies, 1 is kept, 1 smoothed, "
     "6 divided by 8 (asserted).",
     llama_config(rope_parameters=rope(rope_type="llama3", factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
                                       original_max_position_embeddings=32),
                  head_dim=16, num_attention_heads=2, num_key_value_heads=1), check=check_llama3)
case("llama-rope-yarn", "llama, rope_type yarn, factor 4.0, original_max_position_embeddings 16, "
     "max_position_embeddings 64 (= 4 * 16), beta_fast 32, beta_slow 0.25 (not the default 1: with 1 the "
     "correction range is [0, 1] and no frequency is blended), truncate default true: correction range "
     "[floor(-1.10)->0, ceil(1.008)=2], so of the 4 frequencies i=0 is kept (extrapolated), i=1 is a 50/50 blend, "
     "i=2,3 are divided by 4 (asserted); attention_factor = 0.1*ln(4)+1 = 1.138629 multiplies cos and sin.",
     llama_config(rope_parameters=rope(rope_type="yarn", factor=4.0, original_max_position_embeddings=16,
                                       beta_fast=32.0, beta_slow=0.25)),
     check=check_yarn)
case("llama-rope-v4-scaling", "llama with config.json in the 4.x layout: top-level rope_theta 10000.0 and "
     "\"rope_scaling\": {\"type\": \"linear\", \"factor\": 2.0} (old key \"type\", no rope_type), no rope_parameters, "
     "torch_dtype. Asserted: same logits as the 5.x-form linear-factor-2 directory, different from unscaled rope.",
     llama_config(rope_parameters=rope(rope_type="linear", factor=2.0)), rewrite=rewrite_llama_v4_scaling,
     check=check_v4_scaling)
case("llama-head-dim", "llama with explicit head_dim 16, hidden 32, 4 heads, 2 KV heads: q_proj [64,32], "
     "k/v_proj [32,32], o_proj [32,64] (heads * head_dim != hidden).", llama_config(head_dim=16))
case("llama-bias", "llama with attention_bias true (q/k/v/o biases) and mlp_bias true (gate/up/down biases).",
     llama_config(attention_bias=True, mlp_bias=True))
case("llama-tied-lm-head-only", "llama, tie_word_embeddings true, model.safetensors rewritten (safetensors "
     "save_file, metadata {format: pt}) to hold the tied matrix ONLY as lm_head.weight. transformers swaps the tie "
     "and loads embed_tokens from it (asserted: same storage, same logits as the untouched directory).",
     llama_config(tie_word_embeddings=True), rewrite=untie_rewrite("lm_head"), check=check_tied(["lm_head.weight"]))
case("llama-tied-embed-only", "llama, tie_word_embeddings true, stored as save_pretrained writes it: only "
     "model.embed_tokens.weight.", llama_config(tie_word_embeddings=True),
     check=check_tied(["model.embed_tokens.weight"]))
case("llama-tied-both", "llama, tie_word_embeddings true, model.safetensors rewritten to hold both "
     "lm_head.weight and model.embed_tokens.weight (identical values). transformers ties them because they are "
     "equal (if they differed it would warn and NOT tie).", llama_config(tie_word_embeddings=True),
     rewrite=untie_rewrite("both"), check=check_tied(["lm_head.weight", "model.embed_tokens.weight"]))
case("llama-bf16-sharded", "llama stored bfloat16 and sharded (index + shards); reference = float32 forward on "
     "the upcast weights.", llama_config(), dtype="BF16", shards=20_000)


# mistral ------------------------------------------------------------------------------------------------------------
def check_sliding(mutate):
    def check(path, ref, ctx):
        d = assert_differs(ref, variant_logits(path, ctx["ids"], mutate), "sliding window vs none")
        return {"max |logit diff| vs no sliding window": d}
    return check


case("mistral", "MistralForCausalLM, GQA, sliding_window 4 on every layer (a query at position i sees keys j "
     "with i-4 < j <= i, i.e. itself and 3 before), sequences longer than 4 (asserted: differs from "
     "sliding_window null).",
     lambda: MistralConfig(vocab_size=V, hidden_size=H, intermediate_size=FF, num_hidden_layers=L,
                           num_attention_heads=NH, num_key_value_heads=NKV, head_dim=HD, hidden_act="silu",
                           max_position_embeddings=MAXPOS, rms_norm_eps=1e-6, tie_word_embeddings=False,
                           rope_parameters=rope(), sliding_window=4, **SPECIAL),
     check=check_sliding(lambda c: setattr(c, "sliding_window", None)))


# qwen2 ---------------------------------------------------------------------------------------------------------------
def qwen2_config(**kw):
    args = dict(vocab_size=V, hidden_size=H, intermediate_size=FF, num_hidden_layers=L, num_attention_heads=NH,
                num_key_value_heads=NKV, hidden_act="silu", max_position_embeddings=MAXPOS, rms_norm_eps=1e-6,
                tie_word_embeddings=True, rope_parameters=rope(), use_sliding_window=False, sliding_window=None,
                max_window_layers=L, **SPECIAL)
    args.update(kw)
    return lambda: Qwen2Config(**args)


def check_qwen2_sliding(path, ref, ctx):
    saved = read_json(path / "config.json")
    assert saved["layer_types"] == ["full_attention", "sliding_attention"], saved["layer_types"]
    notes = check_sliding(lambda c: setattr(c, "layer_types", ["full_attention"] * L))(path, ref, ctx)
    notes["saved layer_types"] = saved["layer_types"]
    return notes


def rewrite_qwen2_v4(path):
    rewrite_config(path, drop=["rope_parameters", "layer_types"],
                   set_={"rope_theta": 1000000.0, "rope_scaling": None, "use_sliding_window": False,
                         "sliding_window": 4096, "max_window_layers": 21})


def check_qwen2_v4(path, ref, ctx):
    cfg = AutoConfig.from_pretrained(path)
    assert cfg.layer_types == ["full_attention"] * L and cfg.sliding_window is None, (cfg.layer_types,
                                                                                      cfg.sliding_window)
    notes = check_same_as_before("4.x config")(path, ref, ctx)
    notes.update(check_theta(1000000.0)(path, ref, ctx))
    notes["loaded layer_types / sliding_window"] = [cfg.layer_types, cfg.sliding_window]
    return notes


case("qwen2", "Qwen2ForCausalLM (q/k/v biases, no o bias), GQA, tied embeddings, no sliding window.",
     qwen2_config())
case("qwen2-sliding", "qwen2 with use_sliding_window true, sliding_window 4, max_window_layers 1: saved "
     "layer_types [full_attention, sliding_attention] (layer i slides iff i >= max_window_layers); asserted: "
     "differs from all-full attention.",
     qwen2_config(use_sliding_window=True, sliding_window=4, max_window_layers=1), check=check_qwen2_sliding)
case("qwen2-v4-config", "qwen2 with config.json in the 4.x layout: no layer_types, top-level rope_theta 1000000.0, "
     "\"rope_scaling\": null, use_sliding_window false, sliding_window 4096, max_window_layers 21, torch_dtype. "
     "transformers 5.18 nulls sliding_window because use_sliding_window is false and derives layer_types all "
     "full_attention (asserted); same logits as before the rewrite; theta 10000 would differ.",
     qwen2_config(rope_parameters=rope(1000000.0), max_window_layers=21), rewrite=rewrite_qwen2_v4,
     check=check_qwen2_v4)


# qwen3 ---------------------------------------------------------------------------------------------------------------
case("qwen3", "Qwen3ForCausalLM: per-head RMSNorm q_norm / k_norm (weight [head_dim]) applied before rope, no "
     "q/k/v bias, head_dim 16 != hidden/heads (4 heads, 2 KV heads, q_proj [64,32]), tied embeddings.",
     lambda: Qwen3Config(vocab_size=V, hidden_size=H, intermediate_size=FF, num_hidden_layers=L,
                         num_attention_heads=NH, num_key_value_heads=NKV, head_dim=16, hidden_act="silu",
                         max_position_embeddings=MAXPOS, rms_norm_eps=1e-6, tie_word_embeddings=True,
                         rope_parameters=rope(), attention_bias=False, use_sliding_window=False,
                         sliding_window=None, max_window_layers=L, **SPECIAL))


# gemma ---------------------------------------------------------------------------------------------------------------
case("gemma", "GemmaForCausalLM: embeddings times sqrt(hidden) (sqrt(32) as a float32 tensor cast to the weight "
     "dtype), RMSNorm computed in float32 as x*rsqrt(mean(x^2)+eps)*(1+weight), gelu_pytorch_tanh gated MLP, "
     "head_dim 16, 2 heads, 1 KV head (MQA), tied embeddings.",
     lambda: GemmaConfig(vocab_size=V, hidden_size=H, intermediate_size=FF, num_hidden_layers=L,
                         num_attention_heads=2, num_key_value_heads=1, head_dim=16,
                         hidden_act="gelu_pytorch_tanh", max_position_embeddings=MAXPOS, rms_norm_eps=1e-6,
                         tie_word_embeddings=True, rope_parameters=rope(), attention_bias=False, **SPECIAL))


# gemma2 --------------------------------------------------------------------------------------------------------------
def gemma2_config():
    return Gemma2Config(vocab_size=V, hidden_size=H, intermediate_size=FF, num_hidden_layers=L,
                        num_attention_heads=NH, num_key_value_heads=NKV, head_dim=HD,
                        hidden_activation="gelu_pytorch_tanh", max_position_embeddings=MAXPOS, rms_norm_eps=1e-6,
                        tie_word_embeddings=True, rope_parameters=rope(), attention_bias=False,
                        query_pre_attn_scalar=16, sliding_window=4, attn_logit_softcapping=50.0,
                        final_logit_softcapping=30.0, **SPECIAL)


# Large q/k so the attention softcap bites; post-attention/feedforward norms scaled x4 so the layers are not
# drowned by the sqrt(hidden)-scaled embedding (else greedy just repeats the last prompt token); final norm x3 so
# the logits reach the final softcap's curved range.
GEMMA2_INIT = {"emb_std": 0.5, "qk_std": 0.8,
               "norm_scale": {"post_attention_layernorm": 4.0, "post_feedforward_layernorm": 4.0, "model.norm": 3.0}}


def check_gemma2(path, ref, ctx):
    saved = read_json(path / "config.json")
    assert saved["layer_types"] == ["sliding_attention", "full_attention"], saved["layer_types"]
    ids = ctx["ids"]
    d_both = assert_differs(ref, variant_logits(path, ids, lambda c: (
        setattr(c, "attn_logit_softcapping", None), setattr(c, "final_logit_softcapping", None))), "softcapping")
    d_attn = assert_differs(ref, variant_logits(path, ids, lambda c: setattr(c, "attn_logit_softcapping", None)),
                            "attention softcapping", tol=1e-4)
    d_final = assert_differs(ref, variant_logits(path, ids, lambda c: setattr(c, "final_logit_softcapping", None)),
                             "final softcapping")
    d_slide = assert_differs(ref, variant_logits(path, ids, lambda c: setattr(
        c, "layer_types", ["full_attention"] * L)), "gemma2 sliding layer")
    d_scalar = assert_differs(ref, variant_logits(path, ids, lambda c: setattr(c, "query_pre_attn_scalar", HD)),
                              "query_pre_attn_scalar")
    return {"saved layer_types": saved["layer_types"],
            "max |logit diff| without both softcaps": d_both,
            "max |logit diff| without attn softcap": d_attn,
            "max |logit diff| without final softcap": d_final,
            "max |logit diff| with no sliding layer": d_slide,
            "max |logit diff| with query_pre_attn_scalar = head_dim": d_scalar}


def rewrite_gemma2_v4(path):
    # use_bidirectional_attention is a 5.x-only key (null here); 4.x gemma-2 configs did not have it
    rewrite_config(path, drop=["rope_parameters", "layer_types", "use_bidirectional_attention"],
                   set_={"rope_theta": 10000.0, "hidden_act": "gelu_pytorch_tanh",
                         "hidden_activation": "gelu_pytorch_tanh", "cache_implementation": "hybrid"})


def check_gemma2_v4(path, ref, ctx):
    cfg = AutoConfig.from_pretrained(path)
    assert cfg.layer_types == ["sliding_attention", "full_attention"], cfg.layer_types
    assert cfg.sliding_window == 4 and cfg.rope_parameters["rope_theta"] == 10000.0
    notes = check_same_as_before("4.x config")(path, ref, ctx)
    notes["loaded layer_types"] = cfg.layer_types
    return notes


case("gemma2", "Gemma2ForCausalLM: attn_logit_softcapping 50 (scores*scaling, then tanh(s/50)*50, then mask), "
     "final_logit_softcapping 30 (tanh(logits/30)*30), query_pre_attn_scalar 16 (scaling 16**-0.5 != head_dim 8 "
     "**-0.5), sliding_window 4 with the default alternating layer_types [sliding_attention, full_attention] "
     "(layer i slides iff i is even), pre- and post- attention/feedforward RMSNorms (1+weight), embeddings times "
     "sqrt(hidden), tied. Asserted: each softcap, the sliding layer and query_pre_attn_scalar change the logits.",
     gemma2_config, check=check_gemma2, init=GEMMA2_INIT)
case("gemma2-v4-config", "gemma2 with config.json in the 4.x layout as gemma-2 checkpoints shipped it: no "
     "layer_types, no rope_parameters, top-level rope_theta 10000.0, hidden_act and hidden_activation both "
     "gelu_pytorch_tanh, \"cache_implementation\": \"hybrid\", torch_dtype, no use_bidirectional_attention. "
     "transformers 5.18 derives the same "
     "alternating layer_types and sliding_window 4 (asserted) and reproduces the logits of the 5.x-form directory.",
     gemma2_config, rewrite=rewrite_gemma2_v4, check=check_gemma2_v4, init=GEMMA2_INIT)


# phi3 ----------------------------------------------------------------------------------------------------------------
def phi3_config(**kw):
    args = dict(vocab_size=V, hidden_size=H, intermediate_size=FF, num_hidden_layers=L, num_attention_heads=NH,
                num_key_value_heads=NKV, resid_pdrop=0.0, embd_pdrop=0.0, attention_dropout=0.0, hidden_act="silu",
                max_position_embeddings=MAXPOS, original_max_position_embeddings=MAXPOS, rms_norm_eps=1e-5,
                tie_word_embeddings=False, rope_parameters=rope(), sliding_window=None, **SPECIAL)
    args.update(kw)
    return lambda: Phi3Config(**args)


def check_phi3_sliding_partial(path, ref, ctx):
    saved = read_json(path / "config.json")
    assert saved["rope_parameters"].get("partial_rotary_factor") == 0.5, saved["rope_parameters"]
    ids = ctx["ids"]
    d_slide = assert_differs(ref, variant_logits(path, ids, lambda c: setattr(c, "sliding_window", None)),
                             "phi3 sliding window")
    d_rot = assert_differs(ref, variant_logits(path, ids, lambda c: c.rope_parameters.update(
        partial_rotary_factor=1.0)), "phi3 partial rotary")
    return {"saved rope_parameters": saved["rope_parameters"], "max |logit diff| vs no sliding window": d_slide,
            "max |logit diff| vs full rotary": d_rot}


LONG_FACTOR = [1.0, 1.5, 3.0, 6.0]
SHORT_FACTOR = [1.0, 1.05, 1.1, 1.2]


def check_longrope(path, ref, ctx):
    model = load(path)
    att = float(model.model.rotary_emb.attention_scaling)
    ids = ctx["ids"]
    as_long = variant_logits(path, ids, lambda c: c.rope_parameters.update(short_factor=list(LONG_FACTOR)))
    as_short = variant_logits(path, ids, lambda c: c.rope_parameters.update(long_factor=list(SHORT_FACTOR)))
    # sequence 0 (14 > original 8) uses long_factor, sequence 1 (5 <= 8) short_factor
    assert_same(ref[:1], as_long[:1], "14-token sequence uses long_factor")
    assert_differs(ref[:1], as_short[:1], "14-token sequence with short factors")
    assert_same(ref[1:], as_short[1:], "5-token sequence uses short_factor")
    assert_differs(ref[1:], as_long[1:], "5-token sequence with long factors")
    return {"longrope attention_factor (cos/sin multiplier, both factor sets)": att}


case("phi3", "Phi3ForCausalLM: fused qkv_proj [q;k;v rows] and gate_up_proj [gate;up rows], GQA, "
     "sliding_window null, untied.", phi3_config())
case("phi3-sliding-partial", "phi3 with sliding_window 4 (every layer) and rope_parameters.partial_rotary_factor "
     "0.5 (rope on the first 4 of 8 head dims, rotate_half within those 4), sequences longer than 4. Asserted: "
     "both matter.", phi3_config(sliding_window=4, rope_parameters=rope(partial_rotary_factor=0.5)),
     check=check_phi3_sliding_partial)
case("phi3-longrope", "phi3, rope_type longrope, short_factor %s, long_factor %s (length rotary_dim/2 = 4), "
     "original_max_position_embeddings 8 (top-level, which phi3 copies into rope_parameters), "
     "max_position_embeddings 32, no explicit factor, so factor = 32/8 = 4 and attention_factor = "
     "sqrt(1 + ln 4 / ln 8) = 1.290994 multiplies cos/sin for BOTH factor sets. inv_freq = 1/(ext * theta^(2i/d)), "
     "ext = long_factor when max(position_ids)+1 > 8 else short_factor, chosen per forward: the 14-id sequence uses "
     "the long factors, the 5-id sequence the short ones (both asserted); generate from the 14-id prompt is long "
     "throughout." % (SHORT_FACTOR, LONG_FACTOR),
     phi3_config(max_position_embeddings=32, original_max_position_embeddings=8,
                 rope_parameters=rope(rope_type="longrope", short_factor=list(SHORT_FACTOR),
                                      long_factor=list(LONG_FACTOR), original_max_position_embeddings=8)),
     ids=IDS_LONG, check=check_longrope)


# gpt_neox ------------------------------------------------------------------------------------------------------------
def neox_config(**kw):
    args = dict(vocab_size=V, hidden_size=H, num_hidden_layers=L, num_attention_heads=2, intermediate_size=FF,
                hidden_act="gelu", attention_dropout=0.0, hidden_dropout=0.0, max_position_embeddings=MAXPOS,
                layer_norm_eps=1e-5, tie_word_embeddings=False, use_parallel_residual=True,
                rope_parameters=rope(partial_rotary_factor=0.25), attention_bias=True, **SPECIAL)
    args.update(kw)
    return lambda: GPTNeoXConfig(**args)


def check_neox(path, ref, ctx):
    keys = ctx["keys"]
    assert "embed_out.weight" in keys and "lm_head.weight" not in keys, keys
    return {"lm_head stored as": "embed_out.weight"}


def rewrite_neox_v4(path):
    rewrite_config(path, drop=["rope_parameters"], set_={"rotary_pct": 0.5, "rotary_emb_base": 1000,
                                                         "rope_scaling": None})


def check_neox_v4(path, ref, ctx):
    cfg = AutoConfig.from_pretrained(path)
    assert cfg.rope_parameters["partial_rotary_factor"] == 0.5 and cfg.rope_parameters["rope_theta"] == 1000, \
        cfg.rope_parameters
    notes = check_same_as_before("4.x config")(path, ref, ctx)
    d = assert_differs(ref, variant_logits(path, ctx["ids"], lambda c: c.rope_parameters.update(
        partial_rotary_factor=0.25, rope_theta=10000.0)), "rotary_pct/rotary_emb_base vs defaults")
    notes["max |logit diff| vs rotary_pct 0.25 / base 10000"] = d
    notes["loaded rope_parameters"] = cfg.rope_parameters
    return notes


case("gpt-neox", "GPTNeoXForCausalLM, use_parallel_residual true (x + attn(ln1(x)) + mlp(ln2(x))), hidden 32, "
     "2 heads of head_dim 16, rope_parameters.partial_rotary_factor 0.25 so rotary_dim 4, fused "
     "query_key_value with per-head interleaved [q,k,v] rows, untied lm_head stored as embed_out.weight "
     "(save_pretrained writes the original name; transformers 5 renames it to lm_head on load).",
     neox_config(), check=check_neox)
case("gpt-neox-sequential", "gpt-neox with use_parallel_residual false (x = x + attn(ln1(x)); x = x + "
     "mlp(ln2(x))).", neox_config(use_parallel_residual=False), check=check_neox)
case("gpt-neox-v4-config", "gpt-neox with config.json in the 4.x layout: top-level rotary_pct 0.5 and "
     "rotary_emb_base 1000 (an int, as pythia configs have it), \"rope_scaling\": null, no rope_parameters, "
     "torch_dtype. Non-default values on purpose (rotary_dim 8 of 16): asserted to load to the logits of the 5.x "
     "form directory and to differ from the defaults 0.25 / 10000.",
     neox_config(rope_parameters=rope(1000.0, partial_rotary_factor=0.5)), rewrite=rewrite_neox_v4,
     check=check_neox_v4)


# ---- build -----------------------------------------------------------------------------------------------------------
def build_case(c, out_root, verbose=True):
    ids = c.ids
    for seed in range(100):
        work = Path(tempfile.mkdtemp(prefix="hf-fixture-"))
        path = work / c.name
        try:
            config = c.make_config()
            torch.manual_seed(seed)
            model = AutoModelForCausalLM.from_config(config, attn_implementation="eager")
            reinit(model, seed, **c.init)
            model.eval()
            if c.dtype != "F32":
                model = model.to(TORCH_DTYPES[c.dtype])
            save_kwargs = {"safe_serialization": True}
            if c.shards:
                save_kwargs["max_shard_size"] = c.shards
            model.save_pretrained(path, **save_kwargs)
            del model
            save_tokenizer(path)
            ctx = {"ids": ids}
            if c.rewrite is not None:
                ctx["before"] = logits_of(path, ids)
                c.rewrite(path)
            logits = logits_of(path, ids)
            new_ids, margin, argmax_ok = greedy_of(path, ids[0])
            distinct = len(set(new_ids))
            if margin < MIN_MARGIN or not argmax_ok or distinct < MIN_DISTINCT:
                if verbose:
                    print(f"  {c.name}: seed {seed} rejected (min_margin {margin:.2e}, raw argmax == pick: "
                          f"{argmax_ok}, distinct new ids {distinct})")
                continue
            index = path / "model.safetensors.index.json"
            if c.shards:
                assert index.exists()
                weight_map = read_json(index)["weight_map"]
                assert len(set(weight_map.values())) >= 2, "expected at least 2 shards"
                ctx["keys"] = sorted(weight_map)
            else:
                assert not index.exists()
                ctx["keys"] = safetensors_keys(path)
            ctx["new_ids"] = new_ids
            notes = c.check(path, logits, ctx) if c.check is not None else {}
            description = c.description + notes.pop("description_suffix", "")
            saved = read_json(path / "config.json")
            stored = saved.get("dtype", saved.get("torch_dtype"))
            assert stored == {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}[c.dtype], stored
            max_logit = max(float(x.abs().max()) for x in logits)
            expected = {
                "case": c.name,
                "model_type": saved["model_type"],
                "description": description,
                "stored_dtype": c.dtype,
                "transformers": transformers.__version__,
                "torch": torch.__version__,
                "seed": seed,
                "ids": ids,
                "logits": [[[round_sig(v) for v in row.tolist()] for row in seq] for seq in logits],
                "greedy": {"prompt_ids": ids[0], "new_ids": new_ids, "min_margin": round_sig(margin)},
            }
            with open(path / "expected.json", "w", encoding="utf-8") as f:
                f.write(dump_expected(expected))
            dest = Path(out_root) / c.name
            if dest.exists():
                shutil.rmtree(dest)
            shutil.move(str(path), str(dest))
            info = {"model_type": saved["model_type"], "description": description, "bytes": dir_bytes(dest)}
            if verbose:
                print(f"{c.name:26s} {saved['model_type']:9s} {c.dtype:4s} {info['bytes']:7d} B  "
                      f"max|logit| {max_logit:7.3f}  min_margin {margin:.4f}  seed {seed}")
                for k, v in notes.items():
                    print(f"    {k}: {v}")
            return info, {"max_logit": max_logit, "min_margin": margin, "seed": seed, "notes": notes}
        finally:
            shutil.rmtree(work, ignore_errors=True)
    raise RuntimeError(f"{c.name}: no seed in 0..99 gave min_margin >= {MIN_MARGIN} with {MIN_DISTINCT} distinct ids")


def write_index_files(out_root, infos):
    manifest = {"transformers": transformers.__version__, "torch": torch.__version__,
                "cases": {name: infos[name] for name in sorted(infos)}}
    write_json(Path(out_root) / "MANIFEST.json", manifest)
    lines = [
        "# Hugging Face transformers fixtures",
        "",
        "Tiny causal-LM checkpoints written by Hugging Face transformers itself (`save_pretrained`), with the",
        "logits and greedy ids that transformers computes after reloading each directory",
        "(`AutoModelForCausalLM.from_pretrained(dir, dtype=torch.float32, attn_implementation=\"eager\")`).",
        f"Generated with transformers {transformers.__version__} and torch {torch.__version__} by",
        "`tools/parity/build_hf_fixtures.py`. Do not edit by hand; regenerate from the repository root with",
        "",
        "    python3 tools/parity/build_hf_fixtures.py            # all cases",
        "    python3 tools/parity/build_hf_fixtures.py --case NAME",
        "    python3 tools/parity/build_hf_fixtures.py --check    # prove the committed files are transformers' output",
        "",
        "Each `<case>/` holds config.json (+ generation_config.json) and the safetensors weights as save_pretrained",
        "wrote them (the `*-v4-*` cases have config.json rewritten into the transformers 4.x layout, the `llama-tied-*`",
        "cases a rewritten model.safetensors), a 64-token WordLevel tokenizer (tokenizer.json, tokenizer_config.json;",
        "ids 0/1/2 = <unk>(pad)/<s>/</s>), and expected.json: `ids` (two sequences), `logits` (full [T, V] float32",
        "logits of one unpadded batch-1 forward per sequence, 7 significant digits), `greedy` (8 ids from",
        "`generate(max_new_tokens=8, min_new_tokens=8, do_sample=False)` on the first sequence, and the smallest",
        "top-1/top-2 logit gap over those steps). Half-precision cases: the reference is the float32 forward on the",
        "upcast stored weights. MANIFEST.json lists every case with its size.",
        "",
        "| case | model_type | what it exercises |",
        "| --- | --- | --- |",
    ]
    for name in sorted(infos):
        lines.append(f"| `{name}` | {infos[name]['model_type']} | {infos[name]['description']} |")
    with open(Path(out_root) / "README.md", "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def existing_infos(out_root):
    path = Path(out_root) / "MANIFEST.json"
    return read_json(path)["cases"] if path.exists() else {}


def build(out_root, names, verbose=True):
    """Build the named cases into a staging dir; only when every case succeeded, move them into out_root (a full
    rebuild replaces out_root's whole content, so removed cases disappear) and rewrite MANIFEST.json / README.md."""
    out_root = Path(out_root)
    full = set(names) == {c.name for c in CASES}
    staging = Path(tempfile.mkdtemp(prefix="hf-fixtures-staging-"))
    try:
        infos = {} if full else existing_infos(out_root)
        stats = {}
        for c in [c for c in CASES if c.name in names]:
            infos[c.name], stats[c.name] = build_case(c, staging, verbose)
        infos = {k: v for k, v in infos.items() if k in {c.name for c in CASES}}
        out_root.mkdir(parents=True, exist_ok=True)
        if full:
            for child in out_root.iterdir():
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        for child in staging.iterdir():
            dest = out_root / child.name
            if dest.exists():
                shutil.rmtree(dest)
            shutil.move(str(child), str(dest))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    write_index_files(out_root, infos)
    total = dir_bytes(out_root)
    if verbose:
        print(f"total size of {out_root}: {total} bytes = {total / 1e6:.3f} MB = {total / 2**20:.3f} MiB "
              f"(sum of file sizes; limit 3 MB)")
    assert total < SIZE_LIMIT, f"hf/ is {total} bytes, over the 3 MB limit"
    return stats


def expected_close(a_path, b_path, atol):
    """True iff the two expected.json files are equal except for logits within atol."""
    a, b = read_json(a_path), read_json(b_path)
    la, lb = a.pop("logits"), b.pop("logits")
    if a != b:
        return False, None
    ta, tb = torch.tensor(sum(la, [])), torch.tensor(sum(lb, []))
    if ta.shape != tb.shape:
        return False, None
    d = float((ta - tb).abs().max())
    return d <= atol, d


def check(atol=None):
    tmp = Path(tempfile.mkdtemp(prefix="hf-fixtures-check-"))
    try:
        build(tmp, [c.name for c in CASES], verbose=False)
        committed = {p.relative_to(OUT_DIR).as_posix() for p in OUT_DIR.rglob("*") if p.is_file()}
        rebuilt = {p.relative_to(tmp).as_posix() for p in tmp.rglob("*") if p.is_file()}
        problems, tolerated = [], 0
        for rel in sorted(committed - rebuilt):
            problems.append(f"only committed: {rel}")
        for rel in sorted(rebuilt - committed):
            problems.append(f"missing from the committed files: {rel}")
        for rel in sorted(committed & rebuilt):
            if (OUT_DIR / rel).read_bytes() == (tmp / rel).read_bytes():
                continue
            if rel.endswith("expected.json"):
                ok, d = expected_close(OUT_DIR / rel, tmp / rel, atol if atol is not None else -1.0)
                if ok:
                    print(f"note: {rel}: logits differ by at most {d:.3g} (<= --atol {atol})")
                    tolerated += 1
                    continue
                problems.append(f"differs: {rel}" + (f" (max |logit diff| {d:.3g})" if d is not None else
                                                     " (non-logit fields differ)"))
            else:
                problems.append(f"differs: {rel}")
        if problems:
            print("hf fixtures differ from a fresh build:")
            for p in problems:
                print("  " + p)
            return 1
        how = "byte for byte" if not tolerated else f"byte for byte except {tolerated} expected.json within --atol"
        print(f"OK: {len(committed)} files in {OUT_DIR.relative_to(REPO)} match a fresh build ({how}) with "
              f"transformers {transformers.__version__}, torch {torch.__version__}")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--case", action="append", help="rebuild only this case (repeatable)")
    parser.add_argument("--check", action="store_true", help="rebuild into a temp dir and compare")
    parser.add_argument("--atol", type=float, default=None, help="with --check: tolerate logit differences")
    parser.add_argument("--list", action="store_true", help="list the cases")
    parser.add_argument("--verbose", action="store_true", help="show transformers warnings")
    args = parser.parse_args()

    for key, want in EXPECTED_VERSIONS.items():
        have = {"transformers": transformers.__version__, "torch": torch.__version__}[key]
        if have != want:
            print(f"warning: {key} {have} installed, fixtures were made with {want}", file=sys.stderr)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    if not args.verbose:
        transformers.logging.set_verbosity_error()
        warnings.filterwarnings("ignore")
    transformers.logging.disable_progress_bar()

    if args.list:
        for c in CASES:
            print(f"{c.name:26s} {c.dtype:4s} {c.description}")
        return 0
    if args.check:
        return check(args.atol)
    names = [c.name for c in CASES]
    if args.case:
        unknown = set(args.case) - set(names)
        if unknown:
            parser.error(f"unknown case(s): {sorted(unknown)}")
        names = args.case
    build(OUT_DIR, names)
    return 0


if __name__ == "__main__":
    sys.exit(main())
