// Showing arbitrary bytes (token pieces, metadata strings) on a terminal.
//
// A token piece can be a lone newline, an ESC that starts a terminal
// control sequence, or half of a UTF-8 character; printed raw, it breaks
// the line layout or the terminal itself. escape_text() keeps printable
// ASCII and complete, printable UTF-8 characters, and writes everything
// else visibly: \n \r \t \\ and \' (or \" with quote '"'), other control
// bytes, C1 controls and bytes that are not valid UTF-8 as \xNN.
#pragma once

#include <string>
#include <string_view>

namespace kestrel::cli {

std::string escape_text(std::string_view s, char quote = '\'');

}  // namespace kestrel::cli
