// Refusing outputs that would destroy data (issue: "nothing read is ever
// overwritten by accident").
//
// Before a command starts work that ends in writing OUT, it calls
// check_output_path(): OUT must not be one of the command's inputs (compared
// by device and inode, so symbolic and hard links count as the same file),
// must not be a directory or a device, and when OUT already exists it must
// be the command's own kind of output (a GGUF model for quantize and synth,
// a GGUF imatrix for imatrix, a kestrel log-prob file for
// --kl-divergence-base) or an empty file, unless --force/-y was given. The
// write itself goes through a TempFile (core/file_io.h), so an interrupted
// or failed command never leaves OUT half-written.
#pragma once

#include <string>
#include <vector>

namespace kestrel::cli {

enum class OutputKind { GgufModel, Imatrix, KldBase };

// What an existing file is, as the messages name it: "a GGUF model",
// "a GGUF imatrix", "a kestrel KLD base file", "a text file", "an empty
// file", "a GGUF file kestrel cannot read", "a binary file of unknown kind".
std::string describe_existing_file(const std::string& path);

// Throws kestrel::Error naming OUT and the reason (and, for a kind
// mismatch, that --force replaces it anyway).
void check_output_path(const std::string& out, const std::vector<std::string>& inputs, OutputKind kind, bool force);

}  // namespace kestrel::cli
