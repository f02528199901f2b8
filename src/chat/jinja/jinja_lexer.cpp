// The tokenizer (see jinja_lexer.h). One pass over the source; tag bodies
// are lexed in place so that `}}` inside a dict literal is not taken for the
// end of the tag (Jinja2 only ends a tag when brackets are balanced).
#include "chat/jinja/jinja_lexer.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "chat/jinja.h"
#include "chat/jinja/jinja_strings.h"

namespace kestrel::jinja {
namespace {

constexpr size_t kMaxBracketDepth = 256;

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }

class Lexer {
 public:
  explicit Lexer(std::string src) : src_(std::move(src)) {
    line_starts_.push_back(0);
    for (size_t i = 0; i < src_.size(); ++i)
      if (src_[i] == '\n') line_starts_.push_back(i + 1);
  }

  std::vector<Token> run() {
    size_t pos = 0;
    bool line_starting = true;
    while (pos < src_.size()) {
      size_t p = find_tag(pos);
      std::string text = src_.substr(pos, p - pos);
      if (p == src_.size()) {
        emit_text(std::move(text), pos);
        break;
      }
      char kind = src_[p + 1];
      char sign = p + 2 < src_.size() ? src_[p + 2] : 0;
      if (sign != '-' && sign != '+') sign = 0;
      if (sign == '-') {
        size_t e = text.size();
        while (e > 0 && is_ws(text[e - 1])) --e;
        text.resize(e);
      } else if (sign == 0 && kind != '{') {
        // lstrip_blocks: only blanks between the line start and the tag.
        size_t l_pos = text.rfind('\n');
        l_pos = l_pos == std::string::npos ? 0 : l_pos + 1;
        if ((l_pos > 0 || line_starting) && l_pos < text.size() &&
            std::all_of(text.begin() + static_cast<std::ptrdiff_t>(l_pos), text.end(), is_ws))
          text.resize(l_pos);
      }
      emit_text(std::move(text), pos);
      size_t body = p + 2 + (sign ? 1 : 0);
      if (kind == '#') {
        pos = comment(p, body);
      } else if (kind == '%' && is_raw(body)) {
        pos = raw(p, body);
      } else {
        pos = tag(p, body, kind);
      }
      line_starting = pos > 0 && src_[pos - 1] == '\n';
    }
    Token eof{Tok::Eof, "", 0, 0, 0, 0};
    locate(eof, src_.size());
    out_.push_back(eof);
    return std::move(out_);
  }

 private:
  std::string src_;
  std::vector<size_t> line_starts_;
  std::vector<Token> out_;

  void locate(Token& t, size_t pos) const {
    auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), pos);
    size_t line = static_cast<size_t>(it - line_starts_.begin());
    t.line = static_cast<int>(line);
    t.col = static_cast<int>(pos - line_starts_[line - 1] + 1);
  }

  [[noreturn]] void error(const std::string& msg, size_t pos) const {
    Token t{Tok::Eof, "", 0, 0, 0, 0};
    locate(t, pos);
    std::string what = "line ";
    what += std::to_string(t.line);
    what += ", column ";
    what += std::to_string(t.col);
    what += ": ";
    what += msg;
    throw TemplateError(what, t.line, t.col);
  }

  void emit(Tok type, std::string text, size_t pos) {
    Token t{type, std::move(text), 0, 0, 0, 0};
    locate(t, pos);
    out_.push_back(std::move(t));
  }

  void emit_text(std::string text, size_t pos) {
    if (!text.empty()) emit(Tok::Text, std::move(text), pos);
  }

  size_t find_tag(size_t pos) const {
    while (true) {
      size_t p = src_.find('{', pos);
      if (p == std::string::npos || p + 1 >= src_.size()) return src_.size();
      char c = src_[p + 1];
      if (c == '{' || c == '%' || c == '#') return p;
      pos = p + 1;
    }
  }

  // After a block or comment end: `-` eats all whitespace, plain trims one newline.
  size_t after_end(size_t pos, char sign) const {
    if (sign == '-') {
      while (pos < src_.size() && is_ws(src_[pos])) ++pos;
    } else if (sign == 0 && pos < src_.size() && src_[pos] == '\n') {
      ++pos;
    }
    return pos;
  }

  size_t comment(size_t start, size_t body) {
    for (size_t i = body; i + 1 < src_.size(); ++i) {
      if (src_[i] == '#' && src_[i + 1] == '}') {
        char sign = (i > body && (src_[i - 1] == '-' || src_[i - 1] == '+')) ? src_[i - 1] : 0;
        return after_end(i + 2, sign);
      }
    }
    error("missing end of comment tag", start);
  }

  bool is_raw(size_t body) const {
    size_t i = body;
    while (i < src_.size() && is_ws(src_[i])) ++i;
    if (src_.compare(i, 3, "raw") != 0) return false;
    i += 3;
    while (i < src_.size() && is_ws(src_[i])) ++i;
    if (i < src_.size() && src_[i] == '-') ++i;
    return src_.compare(i, 2, "%}") == 0;
  }

  // {% raw %}...{% endraw %}: the body is text, unlexed. The opening tag
  // does not trim its newline (Jinja2's rule), the closing one does.
  size_t raw(size_t start, size_t body) {
    size_t i = src_.find("%}", body);
    bool minus = src_[i - 1] == '-';
    size_t content = minus ? after_end(i + 2, '-') : i + 2;
    for (size_t p = src_.find("{%", content); p != std::string::npos; p = src_.find("{%", p + 1)) {
      size_t j = p + 2;
      char sign = (j < src_.size() && (src_[j] == '-' || src_[j] == '+')) ? src_[j] : 0;
      if (sign) ++j;
      while (j < src_.size() && is_ws(src_[j])) ++j;
      if (src_.compare(j, 6, "endraw") != 0) continue;
      j += 6;
      while (j < src_.size() && is_ws(src_[j])) ++j;
      char esign = (j < src_.size() && (src_[j] == '-' || src_[j] == '+')) ? src_[j] : 0;
      if (esign) ++j;
      if (src_.compare(j, 2, "%}") != 0) continue;
      std::string text = src_.substr(content, p - content);
      if (sign == '-') {
        while (!text.empty() && is_ws(text.back())) text.pop_back();
      } else if (sign == 0) {
        size_t l_pos = text.rfind('\n');
        l_pos = l_pos == std::string::npos ? 0 : l_pos + 1;
        if (l_pos > 0 && l_pos < text.size() &&
            std::all_of(text.begin() + static_cast<std::ptrdiff_t>(l_pos), text.end(), is_ws))
          text.resize(l_pos);
      }
      emit_text(std::move(text), content);
      return after_end(j + 2, esign);
    }
    error("missing end of raw directive", start);
  }

  size_t tag(size_t start, size_t pos, char kind) {
    emit(kind == '{' ? Tok::VarBegin : Tok::BlockBegin, "", start);
    const char close = kind == '{' ? '}' : '%';
    std::string brackets;
    while (true) {
      while (pos < src_.size() && is_ws(src_[pos])) ++pos;
      if (pos >= src_.size())
        error(kind == '{' ? "unexpected end of template, expected '}}'" : "unexpected end of template, expected '%}'",
              start);
      if (brackets.empty()) {
        char sign = (src_[pos] == '-' || (src_[pos] == '+' && kind == '%')) ? src_[pos] : 0;
        size_t e = pos + (sign ? 1 : 0);
        if (e + 1 < src_.size() && src_[e] == close && src_[e + 1] == '}') {
          emit(kind == '{' ? Tok::VarEnd : Tok::BlockEnd, "", pos);
          if (kind == '{') return sign == '-' ? after_end(e + 2, '-') : e + 2;
          return after_end(e + 2, sign);
        }
      }
      pos = token(pos, brackets);
    }
  }

  size_t token(size_t pos, std::string& brackets) {
    char c = src_[pos];
    if (is_name_start(c)) {
      size_t e = pos;
      while (e < src_.size() && is_name_char(src_[e])) ++e;
      emit(Tok::Name, src_.substr(pos, e - pos), pos);
      return e;
    }
    if (is_digit(c)) return number(pos);
    if (c == '\'' || c == '"') return string(pos);
    static const char* two[] = {"//", "**", "==", "!=", "<=", ">="};
    for (const char* op : two)
      if (src_.compare(pos, 2, op) == 0) {
        emit(Tok::Op, op, pos);
        return pos + 2;
      }
    if (std::string_view("+-*/%~<>=()[]{},.:|;").find(c) == std::string_view::npos) {
      std::string msg = "unexpected character '";
      msg += c;
      msg += "'";
      error(msg, pos);
    }
    if (c == '(' || c == '[' || c == '{') {
      if (brackets.size() >= kMaxBracketDepth) error("brackets nested too deeply", pos);
      brackets += c == '(' ? ')' : c == '[' ? ']' : '}';
    } else if (c == ')' || c == ']' || c == '}') {
      std::string msg = "unexpected '";
      msg += c;
      msg += "'";
      if (brackets.empty()) error(msg, pos);
      if (brackets.back() != c) {
        msg += ", expected '";
        msg += brackets.back();
        msg += "'";
        error(msg, pos);
      }
      brackets.pop_back();
    }
    emit(Tok::Op, std::string(1, c), pos);
    return pos + 1;
  }

  size_t digits(size_t pos, std::string& out) const {
    while (pos < src_.size() && (is_digit(src_[pos]) || (src_[pos] == '_' && pos + 1 < src_.size() && is_digit(src_[pos + 1])))) {
      if (src_[pos] != '_') out += src_[pos];
      ++pos;
    }
    return pos;
  }

  size_t number(size_t start) {
    std::string num;
    size_t pos = digits(start, num);
    bool is_float = false;
    // `x.0.1` is two attribute lookups, not a float (Jinja2's lookbehind).
    bool after_dot = !out_.empty() && out_.back().type == Tok::Op && out_.back().text == ".";
    if (!after_dot && pos + 1 < src_.size() && src_[pos] == '.' && is_digit(src_[pos + 1])) {
      num += '.';
      pos = digits(pos + 1, num);
      is_float = true;
    }
    if (!after_dot && pos < src_.size() && (src_[pos] == 'e' || src_[pos] == 'E')) {
      size_t e = pos + 1;
      if (e < src_.size() && (src_[e] == '+' || src_[e] == '-')) ++e;
      if (e < src_.size() && is_digit(src_[e])) {
        num += 'e';
        if (src_[pos + 1] == '-') num += '-';
        std::string ex;
        pos = digits(e, ex);
        num += ex;
        is_float = true;
      }
    }
    Token t{is_float ? Tok::Float : Tok::Int, num, 0, 0, 0, 0};
    locate(t, start);
    if (is_float) {
      t.fval = std::strtod(num.c_str(), nullptr);
    } else {
      int64_t v = 0;
      for (char d : num) {
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, d - '0', &v))
          error("integer literal too large", start);
      }
      t.ival = v;
    }
    out_.push_back(std::move(t));
    return pos;
  }

  static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  // A string literal with Python's escapes (\n, \t, \xNN, \uNNNN, octal...);
  // an unknown escape keeps its backslash, as Python does.
  size_t string(size_t start) {
    char q = src_[start];
    std::string val;
    size_t pos = start + 1;
    while (true) {
      if (pos >= src_.size()) error("unterminated string literal", start);
      char c = src_[pos];
      if (c == q) break;
      if (c != '\\') {
        val += c;
        ++pos;
        continue;
      }
      if (pos + 1 >= src_.size()) error("unterminated string literal", start);
      char e = src_[pos + 1];
      pos += 2;
      switch (e) {
        case 'n': val += '\n'; break;
        case 't': val += '\t'; break;
        case 'r': val += '\r'; break;
        case '\\': val += '\\'; break;
        case '\'': val += '\''; break;
        case '"': val += '"'; break;
        case 'a': val += '\a'; break;
        case 'b': val += '\b'; break;
        case 'f': val += '\f'; break;
        case 'v': val += '\v'; break;
        case '\n': break;  // line continuation
        case 'x':
        case 'u':
        case 'U': {
          int n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          uint32_t cp = 0;
          for (int k = 0; k < n; ++k) {
            int h = pos < src_.size() ? hexval(src_[pos]) : -1;
            if (h < 0) error("truncated \\" + std::string(1, e) + " escape in string literal", start);
            cp = cp * 16 + static_cast<uint32_t>(h);
            ++pos;
          }
          if (cp > 0x10ffff) error("illegal Unicode character in string literal", start);
          utf8_append(val, cp);
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            uint32_t cp = static_cast<uint32_t>(e - '0');
            for (int k = 0; k < 2 && pos < src_.size() && src_[pos] >= '0' && src_[pos] <= '7'; ++k)
              cp = cp * 8 + static_cast<uint32_t>(src_[pos++] - '0');
            utf8_append(val, cp);
          } else {
            val += '\\';
            val += e;
          }
      }
    }
    emit(Tok::String, std::move(val), start);
    return pos + 1;
  }
};

std::string normalize(std::string_view source) {
  std::string s;
  s.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      s += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      s += source[i];
    }
  }
  if (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

}  // namespace

std::vector<Token> tokenize(std::string_view source) { return Lexer(normalize(source)).run(); }

const char* token_name(Tok t) {
  switch (t) {
    case Tok::Text: return "text";
    case Tok::VarBegin: return "'{{'";
    case Tok::VarEnd: return "'}}'";
    case Tok::BlockBegin: return "'{%'";
    case Tok::BlockEnd: return "'%}'";
    case Tok::Name: return "name";
    case Tok::Int: return "integer";
    case Tok::Float: return "float";
    case Tok::String: return "string";
    case Tok::Op: return "operator";
    case Tok::Eof: return "end of template";
  }
  return "token";
}

}  // namespace kestrel::jinja
