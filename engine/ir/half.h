// IEEE 754 half precision (binary16) <-> float32 on the host, for fp16 weights in model files and
// the GPU's fp16 storage. Plain bit arithmetic, so it behaves the same on every compiler and CPU.
#pragma once

#include <bit>
#include <cstdint>

namespace prunelab::engine {

// Exact: every half is a float. Subnormals, infinities and NaN included.
inline float halfToFloat(uint16_t h) {
    const uint32_t sign = uint32_t(h & 0x8000u) << 16;
    const uint32_t exponent = (h >> 10) & 0x1fu;
    uint32_t mantissa = h & 0x3ffu;
    uint32_t bits = 0;
    if (exponent == 0x1f) {
        bits = sign | 0x7f800000u | (mantissa << 13);  // inf / NaN
    } else if (exponent != 0) {
        bits = sign | ((exponent + 112) << 23) | (mantissa << 13);  // 112 = 127 - 15
    } else if (mantissa != 0) {
        // Subnormal half: normalise it, since every half subnormal is a normal float.
        int shift = 0;
        while ((mantissa & 0x400u) == 0) {
            mantissa <<= 1;
            ++shift;
        }
        mantissa &= 0x3ffu;
        bits = sign | (uint32_t(113 - shift) << 23) | (mantissa << 13);
    } else {
        bits = sign;  // +-0
    }
    return std::bit_cast<float>(bits);
}

// Rounded to the nearest half, ties to even (what GPUs' conversions do); beyond the largest half
// (65504) it is infinity, below the smallest subnormal zero; NaN stays NaN.
inline uint16_t floatToHalf(float f) {
    const uint32_t bits = std::bit_cast<uint32_t>(f);
    const auto sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
    const uint32_t exponent = (bits >> 23) & 0xffu;
    const uint32_t mantissa = bits & 0x7fffffu;
    if (exponent == 0xff) {  // inf, or NaN with a quiet bit so it stays NaN
        return static_cast<uint16_t>(sign | 0x7c00u | (mantissa ? 0x200u | (mantissa >> 13) : 0));
    }
    const int e = static_cast<int>(exponent) - 127 + 15;  // the half's biased exponent
    if (e >= 31) return static_cast<uint16_t>(sign | 0x7c00u);
    uint32_t m = mantissa | (exponent ? 0x800000u : 0);  // the float's 24-bit significand
    int shift = 13;                                      // 24 bits -> the half's 11
    if (e <= 0) {
        shift += 1 - e;  // subnormal half: fewer bits survive
        if (shift > 24) return sign;
    }
    const uint32_t kept = m >> shift;
    const uint32_t rest = m & ((1u << shift) - 1);
    const uint32_t halfway = 1u << (shift - 1);
    uint32_t rounded = kept + (rest > halfway || (rest == halfway && (kept & 1u)) ? 1u : 0u);
    // A normal half stores its exponent above the 10 mantissa bits; a carry out of the mantissa
    // moves into the exponent by itself (and at the top, into infinity).
    if (e > 0) rounded = (uint32_t(e) << 10) + (rounded - 0x400u);
    return static_cast<uint16_t>(sign | rounded);
}

}  // namespace prunelab::engine
