#!/usr/bin/env python3
"""Independent NumPy reference forward pass for Hugging Face causal-LM checkpoints.

Reads config.json and model.safetensors (or model.safetensors.index.json + shards) itself --
no torch, no transformers -- and prints the logits for the given token ids as JSON, computed in
float64. Families: gpt2, opt, llama / qwen2 / mistral (model_type in config.json). Used by the
parity tests of @allmrec/llm-bridge.

    python3 tools/parity/reference_forward.py CHECKPOINT_DIR --ids 5,9,12 [--ids 7,3]

Output: {"logits": [[[...V floats] per position] per --ids sequence]}
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np

DTYPES = {"F32": "<f4", "F64": "<f8", "F16": "<f2", "I32": "<i4", "I64": "<i8", "U8": "u1"}


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        buf = raw[base + begin:base + end]
        if info["dtype"] == "BF16":
            u16 = np.frombuffer(buf, dtype="<u2").astype(np.uint32) << 16
            arr = u16.view(np.float32)
        else:
            arr = np.frombuffer(buf, dtype=DTYPES[info["dtype"]])
        out[name] = arr.astype(np.float64).reshape(info["shape"])
    return out


def read_checkpoint(d):
    single = os.path.join(d, "model.safetensors")
    if os.path.exists(single):
        return read_safetensors(single)
    with open(os.path.join(d, "model.safetensors.index.json")) as f:
        weight_map = json.load(f)["weight_map"]
    out = {}
    for shard in sorted(set(weight_map.values())):
        out.update(read_safetensors(os.path.join(d, shard)))
    return out


class Weights:
    def __init__(self, tensors, prefixes):
        self.t = tensors
        self.prefixes = prefixes

    def has(self, name):
        return any(p + name in self.t for p in self.prefixes)

    def __getitem__(self, name):
        for p in self.prefixes:
            if p + name in self.t:
                return self.t[p + name]
        raise KeyError(name)


def layer_norm(x, g, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def rms_norm(x, g, eps):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * g


def softmax(s):
    s = s - s.max(-1, keepdims=True)
    e = np.exp(s)
    return e / e.sum(-1, keepdims=True)


def act(name, x):
    if name in ("gelu_new", "gelu_pytorch_tanh", "gelu_fast"):
        return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    if name == "gelu":
        erf = np.vectorize(math.erf)
        return 0.5 * x * (1 + erf(x / math.sqrt(2)))
    if name == "relu":
        return np.maximum(x, 0)
    if name in ("silu", "swish"):
        return x / (1 + np.exp(-x))
    raise ValueError(name)


def attention(q, k, v, scale):
    """q [heads, T, D]; k, v [kv_heads, T, D]; causal; returns [T, heads*D]."""
    heads, T, D = q.shape
    group = heads // k.shape[0]
    k = np.repeat(k, group, axis=0)
    v = np.repeat(v, group, axis=0)
    s = q @ k.transpose(0, 2, 1) * scale
    s = s + np.triu(np.full((T, T), -np.inf), 1)
    o = softmax(s) @ v
    return o.transpose(1, 0, 2).reshape(T, heads * D)


def gpt2(cfg, w, ids):
    H, nh = cfg["n_embd"], cfg["n_head"]
    D = H // nh
    eps = cfg.get("layer_norm_epsilon", 1e-5)
    T = len(ids)
    x = w["wte.weight"][ids] + w["wpe.weight"][np.arange(T)]
    for i in range(cfg["n_layer"]):
        p = "h.%d." % i
        h = layer_norm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps)
        qkv = h @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]  # Conv1D: [in, out]
        q, k, v = (qkv[:, j * H:(j + 1) * H].reshape(T, nh, D).transpose(1, 0, 2) for j in range(3))
        scale = 1 / math.sqrt(D) if cfg.get("scale_attn_weights", True) else 1.0
        if cfg.get("scale_attn_by_inverse_layer_idx", False):
            scale /= i + 1
        a = attention(q, k, v, scale)
        x = x + a @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        h = layer_norm(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps)
        m = act(cfg.get("activation_function", "gelu_new"), h @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"])
        x = x + m @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
    x = layer_norm(x, w["ln_f.weight"], w["ln_f.bias"], eps)
    head = w["lm_head.weight"] if (cfg.get("tie_word_embeddings", True) is False and w.has("lm_head.weight")) else w["wte.weight"]
    return x @ head.T


def lin(w, name, x, bias=True):
    """nn.Linear: weight [out, in]."""
    y = x @ w[name + ".weight"].T
    if bias and w.has(name + ".bias"):
        y = y + w[name + ".bias"]
    return y


def opt(cfg, w, ids):
    H, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    D = H // nh
    T = len(ids)
    pre = cfg.get("do_layer_norm_before", True)
    x = w["embed_tokens.weight"][ids]
    if w.has("project_in.weight"):
        x = lin(w, "project_in", x, bias=False)
    x = x + w["embed_positions.weight"][np.arange(T) + 2]
    a_name = cfg.get("activation_function", "relu")
    for i in range(cfg["num_hidden_layers"]):
        p = "layers.%d." % i
        ln1 = lambda t: layer_norm(t, w[p + "self_attn_layer_norm.weight"], w[p + "self_attn_layer_norm.bias"], 1e-5)
        ln2 = lambda t: layer_norm(t, w[p + "final_layer_norm.weight"], w[p + "final_layer_norm.bias"], 1e-5)
        h = ln1(x) if pre else x
        q = (lin(w, p + "self_attn.q_proj", h) * D ** -0.5).reshape(T, nh, D).transpose(1, 0, 2)
        k = lin(w, p + "self_attn.k_proj", h).reshape(T, nh, D).transpose(1, 0, 2)
        v = lin(w, p + "self_attn.v_proj", h).reshape(T, nh, D).transpose(1, 0, 2)
        x = x + lin(w, p + "self_attn.out_proj", attention(q, k, v, 1.0))
        if not pre:
            x = ln1(x)
        h = ln2(x) if pre else x
        x = x + lin(w, p + "fc2", act(a_name, lin(w, p + "fc1", h)))
        if not pre:
            x = ln2(x)
    if pre and w.has("final_layer_norm.weight"):
        x = layer_norm(x, w["final_layer_norm.weight"], w["final_layer_norm.bias"], 1e-5)
    if w.has("project_out.weight"):
        x = lin(w, "project_out", x, bias=False)
    head = w["lm_head.weight"] if w.has("lm_head.weight") else w["embed_tokens.weight"]
    return x @ head.T


def rope(x, positions, theta):
    """x [heads, T, D], rotate_half layout; inverse frequencies in float32 as transformers."""
    D = x.shape[-1]
    inv = (1.0 / (np.float32(theta) ** (np.arange(0, D, 2, dtype=np.float32) / np.float32(D)))).astype(np.float32)
    ang = np.outer(positions.astype(np.float32), inv).astype(np.float64)
    emb = np.concatenate([ang, ang], -1)
    cos, sin = np.cos(emb), np.sin(emb)
    x1, x2 = x[..., :D // 2], x[..., D // 2:]
    rot = np.concatenate([-x2, x1], -1)
    return x * cos + rot * sin


def llama(cfg, w, ids):
    H, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    kv = cfg.get("num_key_value_heads", nh)
    D = cfg.get("head_dim", H // nh)
    eps = cfg.get("rms_norm_eps", 1e-6)
    theta = cfg.get("rope_theta", 10000.0)
    T = len(ids)
    pos = np.arange(T)
    x = w["embed_tokens.weight"][ids]
    for i in range(cfg["num_hidden_layers"]):
        p = "layers.%d." % i
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = lin(w, p + "self_attn.q_proj", h).reshape(T, nh, D).transpose(1, 0, 2)
        k = lin(w, p + "self_attn.k_proj", h).reshape(T, kv, D).transpose(1, 0, 2)
        v = lin(w, p + "self_attn.v_proj", h).reshape(T, kv, D).transpose(1, 0, 2)
        q, k = rope(q, pos, theta), rope(k, pos, theta)
        x = x + lin(w, p + "self_attn.o_proj", attention(q, k, v, 1 / math.sqrt(D)))
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        g = act(cfg.get("hidden_act", "silu"), lin(w, p + "mlp.gate_proj", h))
        x = x + lin(w, p + "mlp.down_proj", g * lin(w, p + "mlp.up_proj", h))
    x = rms_norm(x, w["norm.weight"], eps)
    tied = cfg.get("tie_word_embeddings", False)
    head = w["embed_tokens.weight"] if tied or not w.has("lm_head.weight") else w["lm_head.weight"]
    return x @ head.T


FAMILIES = {
    "gpt2": (gpt2, ["transformer.", ""]),
    "opt": (opt, ["model.decoder.", "decoder.", ""]),
    "llama": (llama, ["model.", ""]),
    "qwen2": (llama, ["model.", ""]),
    "mistral": (llama, ["model.", ""]),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--ids", action="append", required=True, help="comma-separated token ids (repeatable)")
    args = ap.parse_args()
    with open(os.path.join(args.checkpoint, "config.json")) as f:
        cfg = json.load(f)
    fn, prefixes = FAMILIES[cfg["model_type"]]
    w = Weights(read_checkpoint(args.checkpoint), prefixes)
    out = [fn(cfg, w, np.array([int(t) for t in s.split(",")], dtype=np.int64)).tolist() for s in args.ids]
    json.dump({"logits": out}, sys.stdout)


if __name__ == "__main__":
    main()
