// Block geometry of the tensor types a GGUF file may hold, as the reader needs it.
//
// The engine-wide table of type facts is quant/type_traits.h, but the gguf
// module links only kestrel_core (so the reader builds before and without the
// kernels). This tiny table carries just what validation needs: elements per
// block, bytes per block and llama.cpp's name, for the ids kestrel supports.
// Ids ggml knows but kestrel does not are named too, so the error message for
// such a file says what it holds. A unit test checks it against the on-disk
// sizes in the golden files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/dtype.h"

namespace kestrel::gguf {

struct TypeSize {
  DType type;
  std::string_view name;  // as llama.cpp prints it
  int64_t block_size;     // elements per block
  uint64_t block_bytes;   // bytes per block
};

// The geometry of a type id kestrel supports, or nullptr.
const TypeSize* find_type_size(uint32_t type_id);

// ggml's name for a type id kestrel does not support ("iq4_xs"), or "" if
// ggml does not know the id either.
std::string_view unsupported_type_name(uint32_t type_id);

// Exact byte size of a tensor of `n_elements` (a multiple of the block size),
// or nullopt if it does not fit in uint64.
std::optional<uint64_t> tensor_nbytes(const TypeSize& ts, int64_t n_elements);

}  // namespace kestrel::gguf
