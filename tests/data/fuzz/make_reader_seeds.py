#!/usr/bin/env python3
# Writes the seed corpora of the ncnn, waifu2x and .plab fuzzers (tests/fuzz/) into
# tests/data/fuzz/{ncnn,waifu2x,plab}: tiny models in the real files' structure, each < 20 KB.
# Usage: tests/data/fuzz/make_reader_seeds.py [build/bin/prunelab-cli] [waifu2x noise1_model.json]
# (the CLI prunes the ncnn seeds into .plab seeds; waifu2x's real numbers come from the JSON).
import json
import math
import os
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
FP16_TAG = 0x01306B47


def floats(values):
    return struct.pack("<%df" % len(values), *values)


def ramp(n, scale=0.05):
    # Deterministic weights with both signs and some exact zeros (kept zeros in a .plab).
    return [0.0 if i % 7 == 3 else scale * math.sin(1.3 * i + 0.4) for i in range(n)]


def fp32_blob(values, tag=0):
    return struct.pack("<I", tag) + floats(values)


def fp16_blob(values):
    data = struct.pack("<I", FP16_TAG) + struct.pack("<%de" % len(values), *values)
    return data + b"\0" * (-len(data) % 4)  # ncnn pads fp16 blobs to 4 bytes


def table_blob(values):
    # Any other tag: a 256-float table, then one uint8 index per weight, padded to 4.
    table = [(i - 128) / 512.0 for i in range(256)]
    idx = bytes(max(0, min(255, int(round(v * 512 + 128)))) for v in values)
    return struct.pack("<I", 0x1234) + floats(table) + idx + b"\0" * (-len(idx) % 4)


def ncnn_seeds():
    seeds = {}
    # Real-ESRGAN animevideov3's structure with 4 channels: conv + PReLU blocks, PixelShuffle,
    # the nearest upscale of the input and the residual add.
    param = """7767517
10 11
Input            input.1          0 1 data
Split            splitncnn_input0 1 2 data d0 d1
Convolution      Conv_0           1 1 d1 54 0=4 1=3 4=1 5=1 6=108
PReLU            PRelu_1          1 1 54 56 0=4
Convolution      Conv_2           1 1 56 57 0=4 1=3 4=1 5=1 6=144
PReLU            PRelu_3          1 1 57 59 0=1
Convolution      Conv_34          1 1 59 105 0=12 1=3 4=1 5=1 6=432
PixelShuffle     DepthToSpace_35  1 1 105 106 0=2
Interp           Resize_37        1 1 d0 111 0=1 1=2.000000e+00 2=2.000000e+00
BinaryOp         Add_38           2 1 106 111 output
"""
    binary = (fp32_blob(ramp(108)) + floats(ramp(4, 0.01)) + floats([0.25] * 4) +
              fp16_blob(ramp(144)) + floats(ramp(4, 0.01)) + floats([0.1]) +
              table_blob(ramp(432)) + floats(ramp(12, 0.01)))
    seeds["realesrgan_tiny"] = (param, binary)
    # The importer test's synthetic model: pooling, depthwise conv with a fused leaky ReLU,
    # element-wise sum, global pooling and an fp16 InnerProduct.
    param = """7767517
8 10
Input data 0 1 data 0=7 1=7 2=2
Split split 1 3 data a b c
Pooling pool 1 1 a p 0=0 1=2 2=2
ConvolutionDepthWise dw 1 1 b d 0=2 1=3 4=1 5=1 6=18 7=2 9=2 -23310=1,1.000000e-01
ReLU leaky 1 1 c r 0=2.000000e-01
Eltwise sum 2 1 d r s 0=1
Pooling gap 1 1 s g 0=1 4=1
InnerProduct fc 1 1 g f 0=3 1=1 2=6 9=4
"""
    binary = (fp32_blob(ramp(18)) + floats([0.25, -0.5]) + fp16_blob([1, -2, 0.5, 0, -1, 3]) +
              floats([0.1, 0.2, 0.3]))
    seeds["synthetic"] = (param, binary)
    # The layers that move data, each on its own branch of the input (every unread blob is an
    # output): deconvolution, crop, padding, pooling, concat, reshape, permute, softmax, ...
    param = """7767517
16 23
Input        in    0 1 data 0=9 1=7 2=4
Split        sp    1 8 data a b c e f g h i
Deconvolution up   1 1 a u 0=2 1=2 3=2 5=1 6=32 9=1
Crop         crop  1 1 u cr -23309=2,1,1 -23310=2,-1,-1 -23311=2,1,2
Padding      pad   1 1 b pd 0=1 1=0 2=2 3=1 4=2
Pooling      pool  1 1 pd pl 0=1 1=3 2=2 5=1
Sigmoid      sig   1 1 c sg
Clip         clip  1 1 e cl 0=-5.000000e-01 1=5.000000e-01
Concat       cat   2 1 sg cl cc 0=0
BinaryOp     mulsc 1 1 f ms 0=2 1=1 2=3.000000e+00
Reshape      rs    1 1 g r 0=63 1=4
Permute      pm    1 1 r p 0=1
Softmax      sm    1 1 p s 0=0 1=1
Flatten      fl    1 1 h fo
InnerProduct fc    1 1 fo y 0=3 1=1 2=756 9=1
HardSwish    hs    1 1 i hw
"""
    binary = (fp32_blob(ramp(32)) + floats([0.5, -0.5]) + table_blob(ramp(756, 0.2)) +
              floats([0.0, 0.1, -0.1]))
    seeds["shape_layers"] = (param, binary)
    return seeds


def waifu2x_seeds(real_json):
    # vgg_7's structure (3x3 convs, model_config on the first layer) with 3 -> 4 -> 4 -> 3
    # planes; numbers from the real model's first weights when it is at hand.
    numbers = []
    if real_json and os.path.exists(real_json):
        with open(real_json) as f:
            layer = json.load(f)[1]
        for o in layer["weight"]:
            for i in o:
                for row in i:
                    numbers.extend(row)
    if not numbers:
        numbers = ramp(1000, 0.3)
    planes = [3, 4, 4, 3]
    layers, n = [], 0
    for li in range(3):
        cin, cout = planes[li], planes[li + 1]
        weight = []
        for o in range(cout):
            weight.append([[[numbers[(n + (o * cin + c) * 9 + y * 3 + x) % len(numbers)]
                             for x in range(3)] for y in range(3)] for c in range(cin)])
        n += cout * cin * 9
        layer = {"class_name": "nn.SpatialConvolutionMM", "nInputPlane": cin,
                 "nOutputPlane": cout, "kW": 3, "kH": 3, "dW": 1, "dH": 1, "padW": 0,
                 "padH": 0, "weight": weight, "bias": [0.01 * (o - 1) for o in range(cout)]}
        if li == 0:
            layer["model_config"] = {"arch_name": "vgg_7", "scale_factor": 1, "channels": 3,
                                     "offset": 3}
        layers.append(layer)
    seeds = {"vgg7_tiny": json.dumps(layers)}
    # A 1x1 model with strides and padding (the optional keys), no model_config.
    one = [{"nInputPlane": 1, "nOutputPlane": 2, "kW": 1, "kH": 1, "dW": 2, "dH": 1, "padW": 1,
            "padH": 0, "weight": [[[[0.5]]], [[[-1.25]]]], "bias": [0, 1e-3]},
           {"class_name": "nn.SpatialConvolution", "nInputPlane": 2, "nOutputPlane": 1, "kW": 2,
            "kH": 1, "weight": [[[[1, 2]], [[3, -4]]]], "bias": [0.5]}]
    seeds["strided"] = json.dumps(one)
    return seeds


def main():
    cli = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "../../../build/bin/prunelab-cli")
    real = sys.argv[2] if len(sys.argv) > 2 else os.path.expanduser(
        "~/.cache/prunelab/models/waifu2x/noise1_model.json")
    with tempfile.TemporaryDirectory() as tmp:
        for name, (param, binary) in ncnn_seeds().items():
            with open(os.path.join(HERE, "ncnn", name + ".ncnn"), "wb") as f:
                f.write(param.encode() + b"\0" + binary)
            # The CLI checks that the seed imports, and prunes it into .plab seeds.
            p, b = os.path.join(tmp, name + ".param"), os.path.join(tmp, name + ".bin")
            open(p, "w").write(param)
            open(b, "wb").write(binary)
            subprocess.run([cli, "info", p, "--size", "9x7"], check=True, stdout=subprocess.DEVNULL)
            if name == "synthetic":
                continue  # no 3x3 dense conv worth pruning
            for preset in ("patdnn-8", "tile-75", "uniform-50"):
                out = os.path.join(HERE, "plab", "%s_%s.plab" % (name, preset))
                subprocess.run([cli, "prune", p, "--size", "9x7", "--preset", preset, "--out", out],
                               check=True, stdout=subprocess.DEVNULL)
        for name, text in waifu2x_seeds(real).items():
            path = os.path.join(HERE, "waifu2x", name + ".json")
            open(path, "w").write(text)
            subprocess.run([cli, "info", path, "--size", "20x24"], check=True,
                           stdout=subprocess.DEVNULL)
    for folder in ("ncnn", "waifu2x", "plab"):
        for name in sorted(os.listdir(os.path.join(HERE, folder))):
            size = os.path.getsize(os.path.join(HERE, folder, name))
            print("%s/%s: %d bytes" % (folder, name, size))
            assert size < 20000, "seeds stay small"


if __name__ == "__main__":
    main()
