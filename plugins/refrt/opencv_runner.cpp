// OpenCV DNN wrapper; cv::Exception becomes an engine Error.
#include "plugins/refrt/opencv_runner.h"

#include <cstring>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/dnn.hpp>

namespace prunelab::refrt {

using engine::ErrorCode;
using engine::makeError;
using engine::Result;
using engine::Tensor;

struct OpenCvDnnRunner::Impl {
    std::string path;
    int threads = 1;
    cv::dnn::Net net;
    std::vector<std::string> outputNames;
};

OpenCvDnnRunner::OpenCvDnnRunner(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
OpenCvDnnRunner::~OpenCvDnnRunner() = default;

Result<std::unique_ptr<OpenCvDnnRunner>> OpenCvDnnRunner::load(const std::string& path,
                                                               int threads) {
    auto impl = std::make_unique<Impl>();
    impl->path = path;
    impl->threads = threads < 1 ? 1 : threads;
    // Silent: a model OpenCV cannot read is reported through our Error, once.
    cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
    try {
        impl->net = cv::dnn::readNetFromONNX(path);
        impl->net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
        impl->net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
        impl->outputNames = impl->net.getUnconnectedOutLayersNames();
    } catch (const cv::Exception& e) {
        return makeError(ErrorCode::Unsupported,
                         std::string("OpenCV DNN cannot load it: ") + e.what(), path);
    }
    if (impl->net.empty()) {
        return makeError(ErrorCode::Unsupported, "OpenCV DNN loaded an empty network", path);
    }
    return std::unique_ptr<OpenCvDnnRunner>(new OpenCvDnnRunner(std::move(impl)));
}

Result<std::vector<Tensor>> OpenCvDnnRunner::run(std::span<const Tensor> inputs,
                                                 const std::vector<std::string>& inputNames) {
    if (cv::getNumThreads() != m_impl->threads) cv::setNumThreads(m_impl->threads);
    try {
        for (size_t i = 0; i < inputs.size(); ++i) {
            const Tensor& t = inputs[i];
            std::vector<int> dims(t.shape().begin(), t.shape().end());
            // setInput copies the blob, so wrapping our const data is safe.
            cv::Mat blob(static_cast<int>(dims.size()), dims.data(), CV_32F,
                         const_cast<std::byte*>(t.raw()));
            m_impl->net.setInput(blob, i < inputNames.size() ? inputNames[i] : "");
        }
        std::vector<cv::Mat> outs;
        m_impl->net.forward(outs, m_impl->outputNames);
        std::vector<Tensor> result;
        for (cv::Mat& m : outs) {
            engine::Shape shape;
            for (int d = 0; d < m.dims; ++d) shape.push_back(m.size[d]);
            Tensor t(engine::DataType::Float32, shape);
            cv::Mat contiguous = m.isContinuous() ? m : m.clone();
            std::memcpy(t.raw(), contiguous.data, t.bytes());
            result.push_back(std::move(t));
        }
        return result;
    } catch (const cv::Exception& e) {
        return makeError(ErrorCode::InvalidArgument,
                         std::string("OpenCV DNN run failed: ") + e.what(), m_impl->path);
    }
}

}  // namespace prunelab::refrt
