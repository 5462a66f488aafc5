// The overflow-safe softplus that the Softplus and Mish reference kernels share.
#pragma once

namespace prunelab::engine {

// ln(1 + e^x) for any x: x for large x, e^x for very negative x, +inf at +inf, 0 at -inf.
double softplus(double x);

}  // namespace prunelab::engine
