// Builds small .tflite files in tests with the generated schema's Create* API: tensors,
// constant buffers, operators and one subgraph. Shared by the importer's synthetic tests and
// the fuzzer's seed writer.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "tflite_generated.h"

namespace prunelab::testing {

class TfliteBuilder {
  public:
    TfliteBuilder() { m_buffers.push_back(::tflite::CreateBuffer(fbb)); }

    flatbuffers::FlatBufferBuilder fbb;

    // An activation (no data). Returns its tensor index.
    int32_t tensor(const std::string& name, std::vector<int32_t> shape,
                   ::tflite::TensorType type = ::tflite::TensorType::FLOAT32) {
        m_tensors.push_back(::tflite::CreateTensorDirect(fbb, &shape, type, 0, name.c_str()));
        return static_cast<int32_t>(m_tensors.size() - 1);
    }
    // A quantised activation (int8/uint8 with scale and zero point).
    int32_t quantisedTensor(const std::string& name, std::vector<int32_t> shape,
                            ::tflite::TensorType type,
                            flatbuffers::Offset<::tflite::QuantizationParameters> quantization) {
        m_tensors.push_back(
            ::tflite::CreateTensorDirect(fbb, &shape, type, 0, name.c_str(), quantization));
        return static_cast<int32_t>(m_tensors.size() - 1);
    }
    // An activation whose dims marked -1 in `signature` are dynamic (shape_signature).
    int32_t dynamicTensor(const std::string& name, std::vector<int32_t> shape,
                          std::vector<int32_t> signature) {
        m_tensors.push_back(::tflite::CreateTensorDirect(fbb, &shape, ::tflite::TensorType::FLOAT32,
                                                         0, name.c_str(), 0, false, 0, &signature));
        return static_cast<int32_t>(m_tensors.size() - 1);
    }
    // A constant from raw bytes; `quantization` and `sparsity` may be 0.
    int32_t constantBytes(const std::string& name, std::vector<int32_t> shape,
                          ::tflite::TensorType type, const std::vector<uint8_t>& bytes,
                          flatbuffers::Offset<::tflite::QuantizationParameters> quantization = 0,
                          flatbuffers::Offset<::tflite::SparsityParameters> sparsity = 0) {
        m_buffers.push_back(::tflite::CreateBufferDirect(fbb, &bytes));
        const auto buffer = static_cast<uint32_t>(m_buffers.size() - 1);
        m_tensors.push_back(::tflite::CreateTensorDirect(fbb, &shape, type, buffer, name.c_str(),
                                                         quantization, false, sparsity));
        return static_cast<int32_t>(m_tensors.size() - 1);
    }
    template <class T>
    int32_t constant(const std::string& name, std::vector<int32_t> shape,
                     const std::vector<T>& values, ::tflite::TensorType type) {
        std::vector<uint8_t> bytes(values.size() * sizeof(T));
        if (!bytes.empty()) std::memcpy(bytes.data(), values.data(), bytes.size());
        return constantBytes(name, std::move(shape), type, bytes);
    }
    int32_t floats(const std::string& name, std::vector<int32_t> shape,
                   const std::vector<float>& values) {
        return constant(name, std::move(shape), values, ::tflite::TensorType::FLOAT32);
    }
    int32_t ints(const std::string& name, std::vector<int32_t> shape,
                 const std::vector<int32_t>& values) {
        return constant(name, std::move(shape), values, ::tflite::TensorType::INT32);
    }
    // The operator code index for `op` (a custom op by name), added once.
    uint32_t code(::tflite::BuiltinOperator op, const std::string& custom = {}) {
        for (size_t i = 0; i < m_codeKeys.size(); ++i) {
            if (m_codeKeys[i] == std::make_pair(op, custom)) return static_cast<uint32_t>(i);
        }
        m_codeKeys.emplace_back(op, custom);
        const auto small =
            static_cast<int8_t>(static_cast<int32_t>(op) < 127
                                    ? op
                                    : ::tflite::BuiltinOperator::PLACEHOLDER_FOR_GREATER_OP_CODES);
        m_codes.push_back(::tflite::CreateOperatorCodeDirect(
            fbb, small, custom.empty() ? nullptr : custom.c_str(), 1, op));
        return static_cast<uint32_t>(m_codes.size() - 1);
    }
    void op(::tflite::BuiltinOperator kind, std::vector<int32_t> inputs,
            std::vector<int32_t> outputs,
            ::tflite::BuiltinOptions optionsType = ::tflite::BuiltinOptions::NONE,
            flatbuffers::Offset<void> options = 0, const std::vector<uint8_t>* custom = nullptr,
            const std::string& customCode = {}) {
        opAt(code(kind, customCode), std::move(inputs), std::move(outputs), optionsType, options,
             custom);
    }
    // Like op(), with the opcode index given (the bad-input tests pass one out of range).
    void opAt(uint32_t opcode, std::vector<int32_t> inputs, std::vector<int32_t> outputs,
              ::tflite::BuiltinOptions optionsType = ::tflite::BuiltinOptions::NONE,
              flatbuffers::Offset<void> options = 0, const std::vector<uint8_t>* custom = nullptr) {
        m_ops.push_back(::tflite::CreateOperatorDirect(fbb, opcode, &inputs, &outputs, optionsType,
                                                       options, custom));
    }
    std::vector<uint8_t> finish(std::vector<int32_t> inputs, std::vector<int32_t> outputs) {
        auto subgraph =
            ::tflite::CreateSubGraphDirect(fbb, &m_tensors, &inputs, &outputs, &m_ops, "main");
        std::vector<flatbuffers::Offset<::tflite::SubGraph>> subgraphs = {subgraph};
        auto model = ::tflite::CreateModelDirect(fbb, 3, &m_codes, &subgraphs, "test", &m_buffers);
        ::tflite::FinishModelBuffer(fbb, model);
        return {fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize()};
    }

  private:
    std::vector<flatbuffers::Offset<::tflite::Buffer>> m_buffers;
    std::vector<flatbuffers::Offset<::tflite::Tensor>> m_tensors;
    std::vector<flatbuffers::Offset<::tflite::OperatorCode>> m_codes;
    std::vector<std::pair<::tflite::BuiltinOperator, std::string>> m_codeKeys;
    std::vector<flatbuffers::Offset<::tflite::Operator>> m_ops;
};

}  // namespace prunelab::testing
