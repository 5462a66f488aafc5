// The model catalog: parsing and validating assets/catalog.json (nlohmann-json stays inside this
// file; its exceptions become errors naming the JSON path), input sizes, and decoding outputs.
#include "engine/tasks/catalog.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "engine/tasks/image_output.h"

namespace prunelab::engine {

using json = nlohmann::json;

const char* taskName(Task task) {
    switch (task) {
        case Task::FaceDetection:
            return "face-detection";
        case Task::SuperResolution:
            return "super-resolution";
        case Task::Denoise:
            return "denoise";
        case Task::TextDetection:
            return "text-detection";
        case Task::Classification:
            return "classification";
        case Task::Segmentation:
            return "segmentation";
    }
    return "unknown";
}

const CatalogEntry* Catalog::find(std::string_view id) const {
    for (const CatalogEntry& e : entries)
        if (e.id == id) return &e;
    return nullptr;
}

namespace {

// Reads typed fields of one JSON object, remembering the path for errors; the first problem
// sticks, so a caller checks `error` once after reading every field.
class Fields {
  public:
    Fields(const json& object, std::string path) : m_object(object), m_path(std::move(path)) {}

    std::string string(const char* key, bool required = true) {
        const json* v = get(key, required);
        if (!v) return {};
        if (!v->is_string()) return fail(key, "needs a string"), std::string();
        return v->get<std::string>();
    }
    double number(const char* key, double fallback, double lo, double hi) {
        const json* v = get(key, false);
        if (!v) return fallback;
        if (!v->is_number()) return fail(key, "needs a number"), fallback;
        double d = v->get<double>();
        if (!(d >= lo && d <= hi)) {
            std::ostringstream range;
            range << "is " << d << ", outside [" << lo << ", " << hi << "]";
            return fail(key, range.str()), fallback;
        }
        return d;
    }
    int integer(const char* key, int fallback, int lo, int hi) {
        double d = number(key, fallback, lo, hi);
        if (d != std::floor(d)) return fail(key, "needs a whole number"), fallback;
        return static_cast<int>(d);
    }
    bool boolean(const char* key, bool fallback) {
        const json* v = get(key, false);
        if (!v) return fallback;
        if (!v->is_boolean()) return fail(key, "needs true or false"), fallback;
        return v->get<bool>();
    }
    std::vector<std::string> strings(const char* key, bool required) {
        const json* v = get(key, required);
        std::vector<std::string> out;
        if (!v) return out;
        if (!v->is_array()) return fail(key, "needs a list of strings"), out;
        for (const json& s : *v) {
            if (!s.is_string()) return fail(key, "needs a list of strings"), out;
            out.push_back(s.get<std::string>());
        }
        return out;
    }
    void triple(const char* key, float out[3]) {
        const json* v = get(key, false);
        if (!v) return;
        if (!v->is_array() || v->size() != 3) return fail(key, "needs 3 numbers");
        for (int i = 0; i < 3; ++i) {
            if (!(*v)[i].is_number()) return fail(key, "needs 3 numbers");
            out[i] = (*v)[i].get<float>();
        }
    }
    const json* object(const char* key) {
        const json* v = get(key, true);
        if (v && !v->is_object()) return fail(key, "needs an object"), nullptr;
        return v;
    }
    void fail(const std::string& key, const std::string& problem) {
        if (!error) error = makeError(ErrorCode::Corrupt, m_path + "." + key + ": " + problem);
    }
    const std::string& path() const { return m_path; }

    std::optional<Error> error;

  private:
    const json* get(const char* key, bool required) {
        auto it = m_object.find(key);
        if (it == m_object.end()) {
            if (required) fail(key, "is missing");
            return nullptr;
        }
        return &*it;
    }

    const json& m_object;
    std::string m_path;
};

Result<Task> parseTask(const std::string& s) {
    for (Task t : {Task::FaceDetection, Task::SuperResolution, Task::Denoise, Task::TextDetection,
                   Task::Classification, Task::Segmentation}) {
        if (s == taskName(t)) return t;
    }
    return makeError(ErrorCode::Corrupt, "unknown task '" + s +
                                             "' (known: face-detection, super-resolution, "
                                             "denoise, text-detection, classification, "
                                             "segmentation)");
}

// Each task has exactly one decoder; naming it in the file keeps the JSON self-describing.
const char* decoderFor(Task task) {
    switch (task) {
        case Task::FaceDetection:
            return "blazeface";
        case Task::SuperResolution:
        case Task::Denoise:
            return "image";
        case Task::TextDetection:
            return "text-boxes";
        case Task::Classification:
            return "classes";
        case Task::Segmentation:
            return "segmentation-mask";
    }
    return "";
}

// A path inside the cache: relative, no "..", so a hostile catalog cannot point outside it.
bool safeRelativePath(const std::string& p) {
    if (p.empty() || p[0] == '/' || p.find('\\') != std::string::npos) return false;
    std::istringstream parts(p);
    for (std::string part; std::getline(parts, part, '/');) {
        if (part.empty() || part == "." || part == "..") return false;
    }
    return true;
}

Result<CatalogEntry> parseEntry(const json& j, const std::string& path) {
    if (!j.is_object()) return makeError(ErrorCode::Corrupt, path + ": needs an object");
    Fields f(j, path);
    CatalogEntry e;
    e.id = f.string("id");
    e.name = f.string("name");
    e.kids = f.string("kids");
    e.research = f.string("research");
    std::string task = f.string("task");
    std::string format = f.string("format");
    e.files = f.strings("files", true);
    e.sample = f.string("sample", false);
    e.licence = f.string("licence");
    e.source = f.string("source");
    const json* input = f.object("input");
    const json* output = f.object("output");
    if (f.error) return *f.error;

    bool idOk = !e.id.empty() && e.id.size() <= 64;
    for (char c : e.id) idOk &= (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (!idOk) f.fail("id", "'" + e.id + "' must be 1-64 characters of a-z, 0-9 and '-'");
    auto parsedTask = parseTask(task);
    if (!parsedTask.ok())
        return makeError(ErrorCode::Corrupt, path + ".task: " + parsedTask.error().message);
    e.task = *parsedTask;
    size_t wantFiles = 1;
    if (format == "onnx") {
        e.format = ModelFormat::Onnx;
    } else if (format == "ncnn") {
        e.format = ModelFormat::Ncnn, wantFiles = 2;
    } else if (format == "waifu2x") {
        e.format = ModelFormat::Waifu2xJson;
    } else if (format == "tflite") {
        e.format = ModelFormat::Tflite;
    } else if (format == "tfjs") {
        e.format = ModelFormat::Tfjs;  // files: model.json then its shards
        wantFiles = e.files.empty() ? 1 : e.files.size();
    } else {
        f.fail("format",
               "unknown format '" + format + "' (known: onnx, ncnn, waifu2x, tflite, tfjs)");
    }
    if (e.files.size() != wantFiles) {
        f.fail("files", "needs " + std::to_string(wantFiles) + " file(s) for format " + format);
    }
    for (const std::string& file : e.files) {
        if (!safeRelativePath(file))
            f.fail("files", "'" + file + "' is not a path inside the cache");
    }
    if (!e.sample.empty() && !safeRelativePath(e.sample)) {
        f.fail("sample", "'" + e.sample + "' is not a path inside the cache");
    }
    if (f.error) return *f.error;
    if (j.contains("demo")) {
        const json* demo = f.object("demo");
        if (f.error) return *f.error;
        Fields d(*demo, path + ".demo");
        CatalogDemo cd;
        cd.file = d.string("file");
        cd.sha256 = d.string("sha256");
        cd.plan = d.string("plan");
        cd.words = d.string("words");
        cd.madeBy = d.string("made_by");
        if (d.error) return *d.error;
        if (!safeRelativePath(cd.file))
            d.fail("file", "'" + cd.file + "' is not a path inside the catalog's folder");
        bool hex = cd.sha256.size() == 64;
        for (char c : cd.sha256) hex &= (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
        if (!hex) d.fail("sha256", "needs 64 lowercase hex digits");
        if (d.error) return *d.error;
        e.demo = std::move(cd);
    }

    Fields in(*input, path + ".input");
    e.width = in.integer("width", 0, 0, 4096);
    e.height = in.integer("height", 0, 0, 4096);
    e.multipleOf = in.integer("multiple_of", 1, 1, 256);
    e.maxSide = in.integer("max_side", 0, 0, 8192);
    e.pre.upscale = in.integer("upscale", 1, 1, 8);
    e.pre.border = in.integer("border", 0, 0, 64);
    std::string colour = in.string("colour");
    if (colour != "RGB" && colour != "BGR") in.fail("colour", "needs \"RGB\" or \"BGR\"");
    e.pre.norm.bgr = colour == "BGR";
    in.triple("mean", e.pre.norm.mean);
    in.triple("std", e.pre.norm.std);
    for (float s : e.pre.norm.std) {
        if (!(s > 0)) in.fail("std", "every std must be > 0");
    }
    std::string fit = in.string("fit", false);
    if (fit.empty() || fit == "stretch") {
        e.pre.fit = Fit::Stretch;
    } else if (fit == "letterbox") {
        e.pre.fit = Fit::Letterbox;
    } else if (fit == "fit-height") {
        e.pre.fit = Fit::FitHeight;
    } else {
        in.fail("fit", "unknown fit '" + fit + "' (known: stretch, letterbox, fit-height)");
    }
    if ((e.width == 0) != (e.height == 0))
        in.fail("width", "width and height are both 0 or both set");
    if (in.error) return *in.error;

    Fields out(*output, path + ".output");
    std::string decoder = out.string("decoder");
    if (!out.error && decoder != decoderFor(e.task)) {
        out.fail("decoder", "'" + decoder + "' does not fit task " + taskName(e.task) +
                                " (expected '" + decoderFor(e.task) + "')");
    }
    switch (e.task) {
        case Task::FaceDetection:
            if (e.width != e.height || (e.width != 128 && e.width != 192 && e.width != 256)) {
                in.fail("width", "BlazeFace takes 128x128, 192x192 or 256x256");
                return *in.error;
            }
            e.face.inputSize = e.width;
            e.face.scoreThreshold = static_cast<float>(out.number("score_threshold", 0.5, 0, 1));
            e.face.iouThreshold = static_cast<float>(out.number("iou_threshold", 0.3, 0, 1));
            e.face.maxFaces = out.integer("max_faces", 20, 1, 1000);
            break;
        case Task::TextDetection:
            e.text.binaryThreshold = static_cast<float>(out.number("binary_threshold", 0.3, 0, 1));
            e.text.boxThreshold = static_cast<float>(out.number("box_threshold", 0.6, 0, 1));
            e.text.unclipRatio = static_cast<float>(out.number("unclip_ratio", 1.5, 0, 10));
            break;
        case Task::SuperResolution:
        case Task::Denoise:
            e.scale = out.integer("scale", 1, 1, 8);
            if (e.task == Task::Denoise && e.scale != 1)
                out.fail("scale", "a denoiser keeps the size (scale 1)");
            break;
        case Task::Classification:
            e.labels = out.strings("labels", false);
            e.softmax = out.boolean("softmax", false);
            e.topK = static_cast<size_t>(out.integer("top_k", 5, 1, 1000));
            break;
        case Task::Segmentation:
            e.segmentation.threshold = static_cast<float>(out.number("threshold", 0.5, 0, 1));
            e.segmentation.sigmoid = out.boolean("sigmoid", false);
            break;
    }
    if (out.error) return *out.error;
    return e;
}

}  // namespace

Result<Catalog> parseCatalog(std::string_view text, const std::string& where) {
    json root;
    try {
        root = json::parse(text.begin(), text.end());
    } catch (const json::exception& e) {
        return makeError(ErrorCode::Corrupt, std::string("not valid JSON: ") + e.what(), where);
    }
    if (!root.is_object() || !root.contains("models") || !root["models"].is_array()) {
        return makeError(ErrorCode::Corrupt, "$.models: needs a list of models", where);
    }
    if (!root.contains("version") || root["version"] != 1) {
        return makeError(ErrorCode::Unsupported, "$.version: this PruneLab reads catalog version 1",
                         where);
    }
    Catalog catalog;
    std::set<std::string> ids;
    const json& models = root["models"];
    for (size_t i = 0; i < models.size(); ++i) {
        std::string path = "$.models[" + std::to_string(i) + "]";
        auto entry = parseEntry(models[i], path);
        if (!entry.ok()) return entry.error().within(where);
        if (!ids.insert(entry->id).second) {
            return makeError(ErrorCode::Corrupt, path + ".id: '" + entry->id + "' appears twice",
                             where);
        }
        catalog.entries.push_back(std::move(*entry));
    }
    return catalog;
}

Result<Catalog> loadCatalog(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    if (!file) return makeError(ErrorCode::NotFound, "cannot open the catalog", path);
    std::ostringstream text;
    text << file.rdbuf();
    return parseCatalog(text.str(), path);
}

InputSize inputSizeFor(const CatalogEntry& entry, int imageWidth, int imageHeight) {
    if (entry.width > 0) return {entry.width, entry.height};
    double w = std::max(1, imageWidth), h = std::max(1, imageHeight);
    if (entry.maxSide > 0 && std::max(w, h) > entry.maxSide) {
        double s = entry.maxSide / std::max(w, h);
        w = std::max(1.0, std::round(w * s));
        h = std::max(1.0, std::round(h * s));
    }
    auto fit = [&](double v) {
        int n = static_cast<int>(v) * entry.pre.upscale + 2 * entry.pre.border;
        int m = entry.multipleOf;
        return (n + m - 1) / m * m;
    };
    return {fit(w), fit(h)};
}

Result<TaskInput> prepareInput(const CatalogEntry& entry, const Image& picture,
                               const Shape& inputShape) {
    if (picture.empty()) return makeError(ErrorCode::InvalidArgument, "the picture is empty");
    TaskInput in;
    in.picture = picture;
    float shrink = 1.0f;
    if (entry.width == 0 && entry.maxSide > 0 &&
        std::max(picture.width, picture.height) > entry.maxSide) {
        InputSize s =
            inputSizeFor(CatalogEntry{.maxSide = entry.maxSide}, picture.width, picture.height);
        in.picture = resizeImage(picture, s.width, s.height, Interpolation::Area);
        shrink = static_cast<float>(s.width) / picture.width;
    }
    PL_TRY_ASSIGN(in.tensor, imageToInput(in.picture, inputShape, entry.pre, &in.mapping));
    // input = shrunk * scale + offset and shrunk = picture * shrink.
    in.mapping.scaleX *= shrink;
    in.mapping.scaleY *= shrink;
    in.mapping.imageWidth = picture.width, in.mapping.imageHeight = picture.height;
    return in;
}

Result<TaskResult> decodeOutputs(const CatalogEntry& entry, std::span<const Tensor> outputs,
                                 const InputMapping& mapping) {
    TaskResult r;
    r.task = entry.task;
    if (outputs.empty()) return makeError(ErrorCode::InvalidArgument, "the model gave no outputs");
    switch (entry.task) {
        case Task::FaceDetection: {
            PL_TRY_ASSIGN(auto faces, decodeBlazeFace(outputs, entry.face));
            for (const Detection& d : faces) r.detections.push_back(mapping.toImage(d));
            break;
        }
        case Task::TextDetection: {
            PL_TRY_ASSIGN(auto boxes, decodeTextProbabilityMap(outputs[0], entry.text));
            for (const Detection& d : boxes) r.detections.push_back(mapping.toImage(d));
            break;
        }
        case Task::SuperResolution:
        case Task::Denoise: {
            PL_TRY_ASSIGN(r.image, tensorToImage(outputs[0]));
            break;
        }
        case Task::Classification: {
            PL_TRY_ASSIGN(r.classes,
                          topClasses(outputs[0], entry.topK, entry.softmax, entry.labels));
            break;
        }
        case Task::Segmentation: {
            if (outputs.size() != 1) {
                return makeError(ErrorCode::InvalidArgument,
                                 "a segmentation model has one output (the mask), got " +
                                     std::to_string(outputs.size()));
            }
            PL_TRY_ASSIGN(r.mask, decodeSegmentationMask(outputs[0], mapping, entry.segmentation));
            break;
        }
    }
    return r;
}

Result<TaskResult> runTask(const CatalogEntry& entry, const Shape& inputShape, const RunModel& run,
                           const Image& picture, TaskInput* used) {
    PL_TRY_ASSIGN(TaskInput in, prepareInput(entry, picture, inputShape));
    PL_TRY_ASSIGN(std::vector<Tensor> outputs, run(std::span<const Tensor>(&in.tensor, 1)));
    PL_TRY_ASSIGN(TaskResult result, decodeOutputs(entry, outputs, in.mapping));
    if (used) *used = std::move(in);
    return result;
}

}  // namespace prunelab::engine
