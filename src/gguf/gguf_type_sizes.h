// Block geometry of the tensor types a GGUF file may hold, as the reader needs it.
//
// The facts come from the engine-wide type table (quant/type_traits.h), so a
// new type is still one table row. Ids ggml knows but kestrel does not are
// named here, so the error message for such a file says what it holds. A unit
// test checks the sizes against the on-disk sizes in the golden files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/dtype.h"
#include "quant/type_traits.h"

namespace kestrel::gguf {

// The table row (type, name, block_size, block_bytes are what validation uses).
using TypeSize = TypeTraits;

// The geometry of a type id kestrel supports, or nullptr.
const TypeSize* find_type_size(uint32_t type_id);

// ggml's name for a type id kestrel does not support ("iq4_xs"), or "" if
// ggml does not know the id either.
std::string_view unsupported_type_name(uint32_t type_id);

// Exact byte size of a tensor of `n_elements` (a multiple of the block size),
// or nullopt if it does not fit in uint64.
std::optional<uint64_t> tensor_nbytes(const TypeSize& ts, int64_t n_elements);

}  // namespace kestrel::gguf
