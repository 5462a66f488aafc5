// SHA-256 (FIPS 180-4) for the phone protocol: a LOAD names its model by this digest and the
// agent recomputes it over the bytes it received. Small and dependency-free, so the agent needs
// no OpenSSL; the cache's FNV hash (disk_cache.h) is not collision-resistant and will not do.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace prunelab::engine::remote {

using Sha256Digest = std::array<uint8_t, 32>;

// Incremental: add() any number of times, then digest() once.
class Sha256 {
  public:
    Sha256();
    void add(std::span<const uint8_t> bytes);
    Sha256Digest digest();

  private:
    void block(const uint8_t* p);

    std::array<uint32_t, 8> m_state;
    std::array<uint8_t, 64> m_buffer{};
    size_t m_buffered = 0;
    uint64_t m_length = 0;  // bytes added so far
};

Sha256Digest sha256(std::span<const uint8_t> bytes);
std::string toHex(const Sha256Digest& digest);  // 64 lowercase hex digits

}  // namespace prunelab::engine::remote
