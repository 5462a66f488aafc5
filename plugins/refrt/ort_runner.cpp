// ONNX Runtime wrapper over its C++ API; every Ort::Exception becomes an engine Error.
#include "plugins/refrt/ort_runner.h"

#include <cstring>

#ifdef PRUNELAB_HAVE_ORT
#include <onnxruntime_cxx_api.h>
#endif

namespace prunelab::refrt {

using engine::DataType;
using engine::ErrorCode;
using engine::makeError;
using engine::Result;
using engine::Tensor;

#ifdef PRUNELAB_HAVE_ORT

bool ortAvailable() {
    return true;
}

namespace {

Ort::Env& env() {
    // One environment per process, as ORT requires; created on first use, never destroyed
    // before the sessions that use it.
    static Ort::Env instance(ORT_LOGGING_LEVEL_ERROR, "prunelab");
    return instance;
}

ONNXTensorElementDataType ortType(DataType t) {
    switch (t) {
        case DataType::Float32:
            return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
        case DataType::Int64:
            return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;
        case DataType::Int32:
            return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32;
        case DataType::UInt8:
            return ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8;
        case DataType::Int8:
            return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8;
        case DataType::Bool:
            return ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL;
        case DataType::Float64:
            return ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE;
        default:
            return ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
    }
}

DataType engineType(ONNXTensorElementDataType t) {
    switch (t) {
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT:
            return DataType::Float32;
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64:
            return DataType::Int64;
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32:
            return DataType::Int32;
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8:
            return DataType::UInt8;
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8:
            return DataType::Int8;
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL:
            return DataType::Bool;
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE:
            return DataType::Float64;
        default:
            return DataType::Undefined;
    }
}

}  // namespace

struct OrtRunner::Impl {
    std::string name;
    std::unique_ptr<Ort::Session> session;
    std::vector<std::string> inputNames, outputNames;
};

OrtRunner::OrtRunner(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
OrtRunner::~OrtRunner() = default;

static Result<std::unique_ptr<OrtRunner::Impl>> makeImpl(const std::string& displayName,
                                                         const std::string* path,
                                                         const std::string* bytes, int threads) {
    auto impl = std::make_unique<OrtRunner::Impl>();
    impl->name = displayName;
    try {
        Ort::SessionOptions options;
        options.SetIntraOpNumThreads(threads < 1 ? 1 : threads);
        options.SetInterOpNumThreads(1);
        options.SetGraphOptimizationLevel(GraphOptimizationLevel::ORT_ENABLE_ALL);
        options.SetLogSeverityLevel(ORT_LOGGING_LEVEL_ERROR);
        if (path != nullptr) {
            impl->session = std::make_unique<Ort::Session>(env(), path->c_str(), options);
        } else {
            impl->session =
                std::make_unique<Ort::Session>(env(), bytes->data(), bytes->size(), options);
        }
        Ort::AllocatorWithDefaultOptions alloc;
        for (size_t i = 0; i < impl->session->GetInputCount(); ++i) {
            impl->inputNames.push_back(impl->session->GetInputNameAllocated(i, alloc).get());
        }
        for (size_t i = 0; i < impl->session->GetOutputCount(); ++i) {
            impl->outputNames.push_back(impl->session->GetOutputNameAllocated(i, alloc).get());
        }
    } catch (const Ort::Exception& e) {
        return makeError(ErrorCode::Corrupt,
                         std::string("ONNX Runtime cannot load it: ") + e.what(), displayName);
    }
    return impl;
}

Result<std::unique_ptr<OrtRunner>> OrtRunner::load(const std::string& path, int threads) {
    PL_TRY_ASSIGN(auto impl, makeImpl(path, &path, nullptr, threads));
    return std::unique_ptr<OrtRunner>(new OrtRunner(std::move(impl)));
}

Result<std::unique_ptr<OrtRunner>> OrtRunner::loadBytes(const std::string& bytes,
                                                        const std::string& displayName,
                                                        int threads) {
    PL_TRY_ASSIGN(auto impl, makeImpl(displayName, nullptr, &bytes, threads));
    return std::unique_ptr<OrtRunner>(new OrtRunner(std::move(impl)));
}

Result<std::vector<Tensor>> OrtRunner::run(std::span<const Tensor> inputs) {
    if (inputs.size() != m_impl->inputNames.size()) {
        return makeError(ErrorCode::InvalidArgument,
                         "ONNX Runtime session takes " + std::to_string(m_impl->inputNames.size()) +
                             " inputs, got " + std::to_string(inputs.size()),
                         m_impl->name);
    }
    try {
        Ort::MemoryInfo memory = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
        std::vector<Ort::Value> values;
        std::vector<const char*> inNames, outNames;
        for (size_t i = 0; i < inputs.size(); ++i) {
            const Tensor& t = inputs[i];
            // ORT only reads the input; the const_cast is its C API's signature.
            values.push_back(Ort::Value::CreateTensor(memory, const_cast<std::byte*>(t.raw()),
                                                      t.bytes(), t.shape().data(), t.shape().size(),
                                                      ortType(t.dtype())));
            inNames.push_back(m_impl->inputNames[i].c_str());
        }
        for (const std::string& n : m_impl->outputNames) outNames.push_back(n.c_str());
        std::vector<Ort::Value> outs =
            m_impl->session->Run(Ort::RunOptions{nullptr}, inNames.data(), values.data(),
                                 values.size(), outNames.data(), outNames.size());
        std::vector<Tensor> result;
        for (Ort::Value& v : outs) {
            auto info = v.GetTensorTypeAndShapeInfo();
            DataType type = engineType(info.GetElementType());
            if (type == DataType::Undefined) {
                return makeError(ErrorCode::Unsupported,
                                 "ONNX Runtime output of an unsupported type", m_impl->name);
            }
            Tensor t(type, info.GetShape());
            std::memcpy(t.raw(), v.GetTensorRawData(), t.bytes());
            result.push_back(std::move(t));
        }
        return result;
    } catch (const Ort::Exception& e) {
        return makeError(ErrorCode::InvalidArgument,
                         std::string("ONNX Runtime run failed: ") + e.what(), m_impl->name);
    }
}

const std::vector<std::string>& OrtRunner::inputNames() const {
    return m_impl->inputNames;
}
const std::vector<std::string>& OrtRunner::outputNames() const {
    return m_impl->outputNames;
}

#else  // built without ONNX Runtime

bool ortAvailable() {
    return false;
}
struct OrtRunner::Impl {
    std::vector<std::string> names;
};
OrtRunner::OrtRunner(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
OrtRunner::~OrtRunner() = default;
static engine::Error notBuilt(const std::string& what) {
    return makeError(ErrorCode::NotFound,
                     "PruneLab was built without ONNX Runtime: run ./prunelab setup, then rebuild",
                     what);
}
Result<std::unique_ptr<OrtRunner>> OrtRunner::load(const std::string& path, int) {
    return notBuilt(path);
}
Result<std::unique_ptr<OrtRunner>> OrtRunner::loadBytes(const std::string&, const std::string& n,
                                                        int) {
    return notBuilt(n);
}
Result<std::vector<Tensor>> OrtRunner::run(std::span<const Tensor>) {
    return notBuilt("run");
}
const std::vector<std::string>& OrtRunner::inputNames() const {
    return m_impl->names;
}
const std::vector<std::string>& OrtRunner::outputNames() const {
    return m_impl->names;
}

#endif

}  // namespace prunelab::refrt
