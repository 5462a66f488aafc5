// Finding, checking and loading the bundled demo models (see demo_models.h).
#include "plugins/model-files/demo_models.h"

#include <openssl/evp.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <memory>

#include "engine/onnx/plab_file.h"
#include "engine/prune/pruned_model.h"
#include "plugins/model-files/model_files.h"

namespace prunelab::plugins {

using namespace prunelab::engine;
namespace fs = std::filesystem;

std::string demoBaseDir() {
    return fs::path(defaultCatalogPath()).parent_path().string();
}

Result<std::string> fileSha256(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return makeError(ErrorCode::NotFound, "cannot open the file", path);
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1)
        return makeError(ErrorCode::Internal, "OpenSSL could not start a sha256", path);
    std::array<char, 1 << 16> buffer{};
    while (in) {
        in.read(buffer.data(), buffer.size());
        if (in.gcount() > 0 &&
            EVP_DigestUpdate(ctx.get(), buffer.data(), static_cast<size_t>(in.gcount())) != 1)
            return makeError(ErrorCode::Internal, "OpenSSL's sha256 failed", path);
    }
    if (in.bad()) return makeError(ErrorCode::Io, "reading the file failed", path);
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int size = 0;
    if (EVP_DigestFinal_ex(ctx.get(), digest.data(), &size) != 1)
        return makeError(ErrorCode::Internal, "OpenSSL's sha256 failed", path);
    static const char* const kHex = "0123456789abcdef";
    std::string hex;
    for (unsigned int i = 0; i < size; ++i) {
        hex += kHex[digest[i] >> 4];
        hex += kHex[digest[i] & 15];
    }
    return hex;
}

Result<std::string> demoModelPath(const CatalogEntry& entry) {
    if (!entry.demo) {
        return makeError(ErrorCode::NotFound, "no pruned demo model ships with " + entry.id);
    }
    const std::string path = (fs::path(demoBaseDir()) / entry.demo->file).string();
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) {
        return makeError(ErrorCode::NotFound,
                         "the demo model of " + entry.id + " is missing (it ships in assets/demo/)",
                         path);
    }
    PL_TRY_ASSIGN(std::string sha, fileSha256(path));
    if (sha != entry.demo->sha256) {
        return makeError(ErrorCode::Corrupt,
                         "the demo model of " + entry.id + " does not match its checksum (sha256 " +
                             sha + ", the catalog says " + entry.demo->sha256 +
                             "): it is damaged or was replaced",
                         path);
    }
    return path;
}

Result<prune::PrunedModel> loadDemoModel(const CatalogEntry& entry, const Graph& dense) {
    PL_TRY_ASSIGN(std::string path, demoModelPath(entry));
    // Imported at its own (training) size; its weights then go onto `dense`, whatever its size.
    auto trained = prune::loadPlabFile(path);
    if (!trained.ok()) return trained.error().within("the demo model of " + entry.id);
    auto rebound = prune::rebindPrunedModel(*trained, dense);
    if (!rebound.ok()) return rebound.error().within("the demo model of " + entry.id);
    rebound->graph.metadata = trained->graph.metadata;
    return rebound;
}

}  // namespace prunelab::plugins
