"""BVLC GoogLeNet files made here, with random weights: no real weights can be downloaded in
the tests. Everything is written independently of dreamd's own reader and network:

- a caffemodel in the 2014 layout (``layers``, V1 messages, 4-D legacy blob dims) and in
  the current one (``layer``, ``BlobShape``), with the auxiliary classifiers the real file
  carries, encoded by a protobuf writer written here;
- Caffe's deploy.prototxt for the network (what OpenCV's importer reads with the weights);
- neural-dream's converted state dict (``conv1_7x7_s2.weight`` …);
- a plain functional forward of the deploy net, to compute the notebook's step.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

# block: input channels, #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj
INCEPTION = {
    "3a": (192, 64, 96, 128, 16, 32, 32),
    "3b": (256, 128, 128, 192, 32, 96, 64),
    "4a": (480, 192, 96, 208, 16, 48, 64),
    "4b": (512, 160, 112, 224, 24, 64, 64),
    "4c": (512, 128, 128, 256, 24, 64, 64),
    "4d": (512, 112, 144, 288, 32, 64, 64),
    "4e": (528, 256, 160, 320, 32, 128, 128),
    "5a": (832, 256, 160, 320, 32, 128, 128),
    "5b": (832, 384, 192, 384, 48, 128, 128),
}
MEAN_BGR = np.array([104.0, 116.0, 122.0], np.float32)

Layer = tuple[str, str, list[np.ndarray]]  # name, type, blobs (weight, bias)


def _conv(rng: np.random.Generator, name: str, cin: int, cout: int, k: int) -> Layer:
    # He-normal: activations keep their size through the depth, so LRN really acts
    w = rng.normal(0.0, np.sqrt(2.0 / (cin * k * k)), (cout, cin, k, k)).astype(np.float32)
    return name, "Convolution", [w, rng.normal(0.0, 0.1, cout).astype(np.float32)]


def _fc(rng: np.random.Generator, name: str, cin: int, cout: int) -> Layer:
    w = rng.normal(0.0, np.sqrt(1.0 / cin), (cout, cin)).astype(np.float32)
    return name, "InnerProduct", [w, rng.normal(0.0, 0.1, cout).astype(np.float32)]


def random_layers(classes: int = 1000, seed: int = 0, aux: bool = True) -> list[Layer]:
    """Every weighted layer of the train net, in file order (aux heads after 4a and 4d)."""
    rng = np.random.default_rng(seed)
    out = [
        _conv(rng, "conv1/7x7_s2", 3, 64, 7),
        _conv(rng, "conv2/3x3_reduce", 64, 64, 1),
        _conv(rng, "conv2/3x3", 64, 192, 3),
    ]
    for block, (cin, c1, c3r, c3, c5r, c5, cp) in INCEPTION.items():
        p = f"inception_{block}/"
        out += [
            _conv(rng, p + "1x1", cin, c1, 1),
            _conv(rng, p + "3x3_reduce", cin, c3r, 1),
            _conv(rng, p + "3x3", c3r, c3, 3),
            _conv(rng, p + "5x5_reduce", cin, c5r, 1),
            _conv(rng, p + "5x5", c5r, c5, 5),
            _conv(rng, p + "pool_proj", cin, cp, 1),
        ]
        if aux and block in ("4a", "4d"):
            n, cin_aux = ("loss1", 512) if block == "4a" else ("loss2", 528)
            out += [
                _conv(rng, f"{n}/conv", cin_aux, 128, 1),
                _fc(rng, f"{n}/fc", 2048, 1024),
                _fc(rng, f"{n}/classifier", 1024, classes),
            ]
    out.append(_fc(rng, "loss3/classifier", 1024, classes))
    return out


# ---- protobuf wire format, written from caffe.proto's field numbers --------------------------


def _varint(v: int) -> bytes:
    out = bytearray()
    while v > 0x7F:
        out.append(v & 0x7F | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _number(number: int, v: int) -> bytes:
    return _varint(number << 3) + _varint(v)


V1_TYPE = {"Convolution": 4, "InnerProduct": 14}


def _blob(a: np.ndarray, legacy: bool) -> bytes:
    data = _field(5, a.astype("<f4").tobytes())  # packed float data
    if legacy:  # num, channels, height, width = fields 1-4
        dims = (1,) * (4 - a.ndim) + a.shape
        return b"".join(_number(i + 1, d) for i, d in enumerate(dims)) + data
    shape = _field(1, b"".join(_varint(d) for d in a.shape))  # BlobShape.dim, packed
    return _field(7, shape) + data


def caffemodel_bytes(layers: list[Layer], legacy: bool) -> bytes:
    """NetParameter: name (1), then ``layers`` (2, V1) or ``layer`` (100)."""
    out = bytearray(_field(1, b"GoogleNet"))
    for name, kind, blobs in layers:
        if legacy:  # V1LayerParameter: name 4, type 5 (enum), blobs 6
            msg = _field(4, name.encode()) + _number(5, V1_TYPE[kind])
            msg += b"".join(_field(6, _blob(b, True)) for b in blobs)
            out += _field(2, msg)
        else:  # LayerParameter: name 1, type 2, blobs 7
            msg = _field(1, name.encode()) + _field(2, kind.encode())
            msg += b"".join(_field(7, _blob(b, False)) for b in blobs)
            out += _field(100, msg)
    return bytes(out)


def write_caffemodel(path: Path, layers: list[Layer], legacy: bool) -> Path:
    path.write_bytes(caffemodel_bytes(layers, legacy))
    return path


def write_neural_dream_pth(path: Path, layers: list[Layer]) -> Path:
    """The state dict neural-dream's converter produced: ``/`` → ``_``, Linear layers with a
    ``_1`` suffix."""
    state = {}
    for name, kind, (w, b) in layers:
        key = name.replace("/", "_") + ("_1" if kind == "InnerProduct" else "")
        state[f"{key}.weight"] = torch.from_numpy(w.copy())
        state[f"{key}.bias"] = torch.from_numpy(b.copy())
    torch.save(state, path)
    return path


# ---- deploy.prototxt ---------------------------------------------------------------------------


def _conv_txt(name: str, bottom: str, num: int, k: int, pad: int = 0, stride: int = 1) -> str:
    relu = name.replace("/", "/relu_", 1)
    return (
        f'layer {{ name: "{name}" type: "Convolution" bottom: "{bottom}" top: "{name}"\n'
        f"  convolution_param {{ num_output: {num} pad: {pad} kernel_size: {k} "
        f"stride: {stride} }} }}\n"
        f'layer {{ name: "{relu}" type: "ReLU" bottom: "{name}" top: "{name}" }}\n'
    )


def _pool_txt(name: str, bottom: str, k: int, stride: int, pad: int = 0, kind: str = "MAX") -> str:
    return (
        f'layer {{ name: "{name}" type: "Pooling" bottom: "{bottom}" top: "{name}"\n'
        f"  pooling_param {{ pool: {kind} kernel_size: {k} stride: {stride} pad: {pad} }} }}\n"
    )


def _lrn_txt(name: str, bottom: str) -> str:
    return (
        f'layer {{ name: "{name}" type: "LRN" bottom: "{bottom}" top: "{name}"\n'
        "  lrn_param { local_size: 5 alpha: 0.0001 beta: 0.75 } }\n"
    )


def deploy_prototxt(
    classes: int = 1000, height: int = 224, width: int = 224, head: bool = True
) -> str:
    """The deploy net; ``head``: with pool5 (7×7, so ≥ 224 px) and the classifier."""
    t = f'name: "GoogleNet"\ninput: "data"\ninput_dim: 1\ninput_dim: 3\ninput_dim: {height}\n'
    t += f"input_dim: {width}\n"
    t += _conv_txt("conv1/7x7_s2", "data", 64, 7, 3, 2)
    t += _pool_txt("pool1/3x3_s2", "conv1/7x7_s2", 3, 2)
    t += _lrn_txt("pool1/norm1", "pool1/3x3_s2")
    t += _conv_txt("conv2/3x3_reduce", "pool1/norm1", 64, 1)
    t += _conv_txt("conv2/3x3", "conv2/3x3_reduce", 192, 3, 1)
    t += _lrn_txt("conv2/norm2", "conv2/3x3")
    t += _pool_txt("pool2/3x3_s2", "conv2/norm2", 3, 2)
    bottom = "pool2/3x3_s2"
    for block, (_, c1, c3r, c3, c5r, c5, cp) in INCEPTION.items():
        if block in ("4a", "5a"):
            pool = f"pool{int(block[0]) - 1}/3x3_s2"
            t += _pool_txt(pool, bottom, 3, 2)
            bottom = pool
        p = f"inception_{block}/"
        t += _conv_txt(p + "1x1", bottom, c1, 1)
        t += _conv_txt(p + "3x3_reduce", bottom, c3r, 1)
        t += _conv_txt(p + "3x3", p + "3x3_reduce", c3, 3, 1)
        t += _conv_txt(p + "5x5_reduce", bottom, c5r, 1)
        t += _conv_txt(p + "5x5", p + "5x5_reduce", c5, 5, 2)
        t += _pool_txt(p + "pool", bottom, 3, 1, 1)
        t += _conv_txt(p + "pool_proj", p + "pool", cp, 1)
        t += f'layer {{ name: "{p}output" type: "Concat"\n'
        t += "".join(f'  bottom: "{p}{b}"\n' for b in ("1x1", "3x3", "5x5", "pool_proj"))
        t += f'  top: "{p}output" }}\n'
        bottom = p + "output"
    if not head:
        return t
    t += _pool_txt("pool5/7x7_s1", bottom, 7, 1, 0, "AVE")
    t += (
        'layer { name: "loss3/classifier" type: "InnerProduct" bottom: "pool5/7x7_s1"\n'
        f'  top: "loss3/classifier" inner_product_param {{ num_output: {classes} }} }}\n'
    )
    return t


# ---- the deploy net as plain functions, for the notebook's step --------------------------------


def reference_blobs(layers: list[Layer], x: torch.Tensor, end: str) -> torch.Tensor:
    """``net.forward(end=end)``'s blob for a BGR, mean-subtracted (N, 3, H, W) input: the
    layers in deploy order, each conv followed by its in-place ReLU unless it is ``end``."""
    w = {name: [torch.from_numpy(b) for b in blobs] for name, _, blobs in layers}

    def conv(name: str, t: torch.Tensor, pad: int = 0, stride: int = 1) -> torch.Tensor:
        y = F.conv2d(t, w[name][0], w[name][1], stride, pad)
        blobs[name] = y if name == end else F.relu(y)
        return blobs[name]

    def pool(t: torch.Tensor, k: int, s: int, p: int = 0) -> torch.Tensor:
        return F.max_pool2d(t, k, s, p, ceil_mode=True)

    def lrn(t: torch.Tensor) -> torch.Tensor:
        return F.local_response_norm(t, 5, 1e-4, 0.75, 1.0)

    blobs: dict[str, torch.Tensor] = {}
    t = blobs["conv1/7x7_s2"] = conv("conv1/7x7_s2", x, 3, 2)
    t = blobs["pool1/3x3_s2"] = pool(t, 3, 2)
    t = blobs["pool1/norm1"] = lrn(t)
    t = blobs["conv2/3x3_reduce"] = conv("conv2/3x3_reduce", t)
    t = blobs["conv2/3x3"] = conv("conv2/3x3", t, 1)
    t = blobs["conv2/norm2"] = lrn(t)
    t = blobs["pool2/3x3_s2"] = pool(t, 3, 2)
    for block in INCEPTION:
        if end in blobs:
            break
        if block in ("4a", "5a"):
            t = blobs[f"pool{int(block[0]) - 1}/3x3_s2"] = pool(t, 3, 2)
        p = f"inception_{block}/"
        b1 = conv(p + "1x1", t)
        b3 = conv(p + "3x3", conv(p + "3x3_reduce", t), 1)
        b5 = conv(p + "5x5", conv(p + "5x5_reduce", t), 2)
        bp = conv(p + "pool_proj", pool(t, 3, 1, 1))
        t = blobs[p + "output"] = torch.cat([b1, b3, b5, bp], 1)
    return blobs[end]


def notebook_step(
    layers: list[Layer], rgb: np.ndarray, end: str, step_size: float = 1.5
) -> np.ndarray:
    """One step of the notebook's make_step with jitter 0, on an (H, W, 3) RGB image in
    [0, 1]: objective L2 at ``end``, ``src += step_size / mean|g| · g``, clip to
    [-mean, 255 - mean]. Returns the new RGB image in [0, 1]."""
    src = torch.from_numpy(
        (rgb[..., ::-1] * 255.0 - MEAN_BGR).transpose(2, 0, 1)[None].copy()
    ).double()
    src.requires_grad_(True)
    dst = reference_blobs(
        [(n, k, [b.astype(np.float64) for b in bl]) for n, k, bl in layers], src, end
    )
    dst.backward(dst.detach())  # objective_L2: dst.diff = dst.data
    g = src.grad.numpy()[0]
    out = src.detach().numpy()[0] + step_size / np.abs(g).mean() * g
    out = np.clip(out, -MEAN_BGR[:, None, None], 255.0 - MEAN_BGR[:, None, None])
    return ((out.transpose(1, 2, 0) + MEAN_BGR) / 255.0)[..., ::-1].astype(np.float32)
