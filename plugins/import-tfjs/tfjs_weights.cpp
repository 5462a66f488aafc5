// The tfjs weights manifest: groups of shards, concatenated in order, holding each weight's
// bytes one after another; float16 and uint8/uint16 quantised weights widened to float32.
// Every size is checked before it is read, so a hostile manifest is an error, never a crash.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "engine/ir/half.h"
#include "plugins/import-tfjs/tfjs_internal.h"

namespace prunelab::tfjs::internal {

using engine::DataType;
using engine::ErrorCode;
using engine::makeError;
using engine::Result;
using engine::Shape;
using engine::Status;
using engine::Tensor;
namespace fs = std::filesystem;

Status checkShardPath(const std::string& path, const std::string& modelDir) {
    const fs::path p(path);
    if (path.empty() || p.is_absolute() || path.find('\\') != std::string::npos) {
        return makeError(ErrorCode::Corrupt, "shard path '" + path +
                                                 "' is outside the model's folder (absolute or "
                                                 "empty); shards must sit beside model.json");
    }
    for (const fs::path& part : p) {
        if (part == "..") {
            return makeError(ErrorCode::Corrupt, "shard path '" + path +
                                                     "' is outside the model's folder: it "
                                                     "climbs out with '..'");
        }
    }
    if (modelDir.empty()) return {};
    // A symlink inside the folder could still point anywhere: compare the resolved paths.
    std::error_code ec;
    const fs::path dir = fs::weakly_canonical(fs::path(modelDir), ec);
    if (ec) return makeError(ErrorCode::Io, "cannot resolve the model's folder", modelDir);
    const fs::path resolved = fs::weakly_canonical(dir / p, ec);
    if (ec) return makeError(ErrorCode::Io, "cannot resolve shard path '" + path + "'", modelDir);
    auto [d, r] = std::mismatch(dir.begin(), dir.end(), resolved.begin(), resolved.end());
    if (d != dir.end()) {
        return makeError(ErrorCode::Corrupt, "shard path '" + path + "' resolves to " +
                                                 resolved.string() +
                                                 ", outside the model's folder (a symlink?)");
    }
    return {};
}

namespace {

Result<Shape> weightShape(const Json& w, const std::string& name) {
    const auto it = w.find("shape");
    if (it == w.end() || !it->is_array() || it->size() > 8) {
        return makeError(ErrorCode::Corrupt,
                         "weight '" + name + "' has no shape array (rank <= 8)");
    }
    Shape shape;
    for (const Json& d : *it) {
        if (!d.is_number_integer() || d.get<int64_t>() < 0) {
            return makeError(ErrorCode::Corrupt, "weight '" + name + "' has a bad shape " +
                                                     it->dump() +
                                                     ": dims must be non-negative integers");
        }
        shape.push_back(d.get<int64_t>());
    }
    auto count = engine::checkedElementCount(shape);
    if (!count.ok()) return count.error().within("weight '" + name + "'");
    return shape;
}

std::string stringField(const Json& j, const char* key) {
    const auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

Result<std::map<std::string, Tensor>> readWeights(const Json& manifest, const ShardReader& read) {
    std::map<std::string, Tensor> out;
    if (!manifest.is_array()) {
        return makeError(ErrorCode::Corrupt, "weightsManifest must be an array of groups");
    }
    for (size_t g = 0; g < manifest.size(); ++g) {
        const Json& group = manifest[g];
        const std::string where = "weightsManifest group " + std::to_string(g);
        if (!group.is_object() || !group.contains("paths") || !group["paths"].is_array() ||
            !group.contains("weights") || !group["weights"].is_array()) {
            return makeError(ErrorCode::Corrupt, "needs 'paths' and 'weights' arrays", where);
        }
        // The shards of a group are one byte stream, split only to suit HTTP caches.
        std::string data;
        std::vector<std::pair<std::string, size_t>> shards;  // name, size
        for (const Json& path : group["paths"]) {
            if (!path.is_string())
                return makeError(ErrorCode::Corrupt, "a path is not a string", where);
            PL_TRY_ASSIGN(std::string bytes, read(path.get<std::string>()));
            shards.emplace_back(path.get<std::string>(), bytes.size());
            data += bytes;
        }
        size_t offset = 0;
        for (const Json& w : group["weights"]) {
            if (!w.is_object())
                return makeError(ErrorCode::Corrupt, "a weight is not an object", where);
            const std::string name = stringField(w, "name");
            if (name.empty()) return makeError(ErrorCode::Corrupt, "a weight has no name", where);
            if (out.count(name) != 0) {
                return makeError(ErrorCode::Corrupt,
                                 "weight '" + name +
                                     "' is listed twice; tfjs would silently keep the last one, "
                                     "so which values the model means is ambiguous",
                                 where);
            }
            PL_TRY_ASSIGN(Shape shape, weightShape(w, name));
            const std::string dtype = stringField(w, "dtype");
            DataType type = DataType::Float32;
            if (dtype == "int32") {
                type = DataType::Int32;
            } else if (dtype == "bool") {
                type = DataType::Bool;
            } else if (dtype != "float32") {
                return makeError(ErrorCode::Unsupported,
                                 "weight '" + name + "' has dtype '" + dtype +
                                     "' (float32, int32 and bool are read)",
                                 where);
            }
            // Stored form: the dtype itself, or the quantisation's.
            std::string stored = dtype;
            float scale = 1.0f, minimum = 0.0f;
            if (const auto q = w.find("quantization"); q != w.end() && !q->is_null()) {
                stored = q->is_object() ? stringField(*q, "dtype") : "";
                if (stored == "uint8" || stored == "uint16") {
                    if (!q->contains("scale") || !(*q)["scale"].is_number() ||
                        !q->contains("min") || !(*q)["min"].is_number()) {
                        return makeError(ErrorCode::Corrupt,
                                         "weight '" + name + "' is " + stored +
                                             "-quantised without a numeric scale and min",
                                         where);
                    }
                    scale = (*q)["scale"].get<float>();
                    minimum = (*q)["min"].get<float>();
                } else if (stored != "float16") {
                    return makeError(ErrorCode::Unsupported,
                                     "weight '" + name + "' has quantization dtype '" + stored +
                                         "' (uint8, uint16 and float16 are read)",
                                     where);
                }
                if (type == DataType::Bool) {
                    return makeError(ErrorCode::Unsupported,
                                     "weight '" + name + "' is a quantised bool", where);
                }
            }
            const size_t bytesPer = stored == "uint8" || stored == "bool"       ? 1
                                    : stored == "uint16" || stored == "float16" ? 2
                                                                                : 4;
            const auto count = static_cast<size_t>(engine::elementCount(shape));
            const size_t bytes = count * bytesPer;
            if (data.size() - offset < bytes) {
                const std::string last = shards.empty() ? "(no shard)" : shards.back().first;
                return makeError(ErrorCode::Corrupt,
                                 "shard '" + last + "' is too short: the group's shards hold " +
                                     std::to_string(data.size()) + " bytes, the manifest needs " +
                                     std::to_string(offset + bytes) + " by the end of weight '" +
                                     name + "'",
                                 where);
            }
            const char* src = data.data() + offset;
            offset += bytes;
            Tensor t(type, shape);
            if (type == DataType::Bool) {
                auto* dst = reinterpret_cast<uint8_t*>(t.raw());
                for (size_t i = 0; i < count; ++i) dst[i] = src[i] != 0 ? 1 : 0;
            } else if (stored == dtype) {
                std::memcpy(t.raw(), src, bytes);
            } else {
                // Dequantised into float; an int32 weight stored quantised is rounded back.
                for (size_t i = 0; i < count; ++i) {
                    float v = 0.0f;
                    if (stored == "float16") {
                        uint16_t h = 0;
                        std::memcpy(&h, src + 2 * i, 2);
                        v = engine::halfToFloat(h);
                    } else if (stored == "uint16") {
                        uint16_t q = 0;
                        std::memcpy(&q, src + 2 * i, 2);
                        v = static_cast<float>(q) * scale + minimum;
                    } else {
                        v = static_cast<float>(static_cast<uint8_t>(src[i])) * scale + minimum;
                    }
                    if (type == DataType::Float32) {
                        t.data<float>()[i] = v;
                    } else {
                        t.data<int32_t>()[i] = static_cast<int32_t>(std::lround(v));
                    }
                }
            }
            out.emplace(name, std::move(t));
        }
    }
    return out;
}

}  // namespace prunelab::tfjs::internal
