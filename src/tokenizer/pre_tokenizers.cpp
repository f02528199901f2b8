// Pre-tokenizer regex lists and the PCRE2 splitting loop.
#include "tokenizer/pre_tokenizers.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <initializer_list>
#include <span>

#include "core/error.h"

namespace kestrel::tok {

// RAII owner of one compiled pattern (JIT-compiled when PCRE2 supports it).
class Regex {
 public:
  explicit Regex(const std::string& pattern) {
    int err = 0;
    PCRE2_SIZE err_off = 0;
    code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                          PCRE2_UTF | PCRE2_UCP, &err, &err_off, nullptr);
    if (!code_) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(err, msg, sizeof(msg));
      throw Error("pre-tokenizer regex failed to compile at offset " + std::to_string(err_off) + ": " +
                  reinterpret_cast<const char*>(msg));
    }
    pcre2_jit_compile(code_, PCRE2_JIT_COMPLETE);  // optional speed-up; the interpreter is the fallback
  }
  ~Regex() { pcre2_code_free(code_); }
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;
  const pcre2_code* code() const { return code_; }

 private:
  pcre2_code* code_ = nullptr;
};

namespace {

// Unicode White_Space (what llama.cpp's tables call whitespace), as the body
// of a character class. PCRE2's own \s lacks U+0085.
constexpr std::string_view kWhiteSpaceClass = "\\x{09}-\\x{0D}\\x{20}\\x{85}\\p{Z}";

// Rewrites \s and \S in a pattern to the White_Space class, inside and
// outside brackets, so the lists below can be written as in the originals.
std::string expand_whitespace(std::string_view p) {
  std::string out;
  bool in_class = false;
  for (size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      const char e = p[++i];
      if (e == 's') {
        out += in_class ? std::string(kWhiteSpaceClass) : "[" + std::string(kWhiteSpaceClass) + "]";
      } else if (e == 'S' && !in_class) {
        out += "[^" + std::string(kWhiteSpaceClass) + "]";
      } else if (e == 'S') {
        throw Error("internal: \\S inside a character class is not supported");
      } else {
        out += c;
        out += e;
      }
      continue;
    }
    if (c == '[' && !in_class) in_class = true;
    else if (c == ']' && in_class) in_class = false;
    out += c;
  }
  return out;
}

using Patterns = std::span<const std::string_view>;

// GPT-2: contractions, optionally space-led letter / digit / other runs,
// whitespace not followed by a non-space.
constexpr std::string_view kGpt2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
// Llama 3: case-insensitive contractions, letters with one optional leading
// non-letter, digits in groups of up to three, newline-aware whitespace.
constexpr std::string_view kLlama3 =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
    "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
// Qwen2: as Llama 3 but single digits.
constexpr std::string_view kQwen2 =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
    "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
// Qwen3.5: as Qwen2 with combining marks kept inside words.
constexpr std::string_view kQwen35 =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}"
    "| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
// GPT-4o family as llama.cpp runs it: "upper" = a letter that is not a-z,
// "lower" = a letter that is not A-Z (so non-ASCII letters count as both).
constexpr std::string_view kGpt4o =
    "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+"
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?"
    "|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*"
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?"
    "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr std::string_view kTekken =
    "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+"
    "|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*"
    "|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

// CJK block used by the DeepSeek lists: U+4E00..U+9FA5, U+0800..U+4E00 and
// Hangul syllables U+AC00..U+D7FF.
constexpr std::string_view kDeepseekCjk = "[\\x{4E00}-\\x{9FA5}\\x{0800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+";
// DeepSeek LLM's "letters": the cased letters of Latin, Greek, Cyrillic,
// Armenian, Georgian, Cherokee and a few more scripts, as listed in its
// tokenizer.json.
constexpr std::string_view kDeepseekLetters =
    "\\s?[A-Za-z\\x{B5}\\x{C0}-\\x{D6}\\x{D8}-\\x{F6}\\x{F8}-\\x{1BA}\\x{1BC}-\\x{1BF}\\x{1C4}-\\x{293}"
    "\\x{295}-\\x{2AF}\\x{370}-\\x{373}\\x{376}\\x{377}\\x{37B}-\\x{37D}\\x{37F}\\x{386}\\x{388}-\\x{38A}"
    "\\x{38C}\\x{38E}-\\x{3A1}\\x{3A3}-\\x{3F5}\\x{3F7}-\\x{481}\\x{48A}-\\x{52F}\\x{531}-\\x{556}"
    "\\x{10A0}-\\x{10C5}\\x{13A0}-\\x{13F5}\\x{13F8}-\\x{13FD}\\x{1C90}-\\x{1CBA}\\x{1CBD}-\\x{1CBF}"
    "\\x{1D00}-\\x{1D2B}\\x{1D6B}-\\x{1D77}\\x{1D79}-\\x{1D9A}\\x{1E00}-\\x{1F15}\\x{1F18}-\\x{1F1D}"
    "\\x{1F20}-\\x{1F45}\\x{1F48}-\\x{1F4D}\\x{1F50}-\\x{1F57}\\x{1F59}\\x{1F5B}\\x{1F5D}\\x{1F5F}-\\x{1F7D}"
    "\\x{1F80}-\\x{1FB4}\\x{1FB6}-\\x{1FBC}\\x{1FBE}\\x{1FC2}-\\x{1FC4}\\x{1FC6}-\\x{1FCC}\\x{1FD0}-\\x{1FD3}"
    "\\x{1FD6}-\\x{1FDB}\\x{1FE0}-\\x{1FEC}\\x{1FF2}-\\x{1FF4}\\x{1FF6}-\\x{1FFC}\\x{2102}\\x{2107}"
    "\\x{210A}-\\x{2113}\\x{2115}\\x{2119}-\\x{211D}\\x{2124}\\x{2126}\\x{2128}\\x{212A}-\\x{212D}"
    "\\x{212F}-\\x{2134}\\x{2139}\\x{213C}-\\x{213F}\\x{2145}-\\x{2149}\\x{214E}\\x{2183}\\x{2184}"
    "\\x{2C00}-\\x{2C7B}\\x{2C7E}-\\x{2CE4}\\x{2CEB}-\\x{2CEE}\\x{2CF2}\\x{2CF3}\\x{A640}-\\x{A66D}"
    "\\x{A680}-\\x{A69B}\\x{A722}-\\x{A76F}\\x{A771}-\\x{A787}\\x{A78B}-\\x{A78E}\\x{AB70}-\\x{ABBF}"
    "\\x{FB00}-\\x{FB06}\\x{FB13}-\\x{FB17}\\x{FF21}-\\x{FF3A}\\x{FF41}-\\x{FF5A}\\x{10400}-\\x{1044F}"
    "\\x{104B0}-\\x{104D3}\\x{104D8}-\\x{104FB}\\x{10C80}-\\x{10CB2}\\x{10CC0}-\\x{10CF2}\\x{118A0}-\\x{118DF}"
    "\\x{1E900}-\\x{1E943}]+";
// ASCII punctuation plus the fullwidth forms, curly quotes and CJK marks.
constexpr std::string_view kDeepseekPunct =
    "\\s?[!-/:-~\\x{FF01}-\\x{FF0F}\\x{FF1A}-\\x{FF5E}\\x{2018}-\\x{201F}\\x{3000}-\\x{3002}]+";

constexpr std::string_view kDefaultList[] = {"[\\p{P}\\$\\+<=>\\^~\\|]+", kGpt2, "\\p{N}+", "[0-9][0-9][0-9]"};
constexpr std::string_view kGpt2List[] = {kGpt2};
constexpr std::string_view kLlama3List[] = {kLlama3};
constexpr std::string_view kQwen2List[] = {kQwen2};
constexpr std::string_view kQwen35List[] = {kQwen35};
constexpr std::string_view kFalconList[] = {"[\\p{P}\\$\\+<=>\\^~\\|`]+", kGpt2, "[0-9][0-9][0-9]"};
constexpr std::string_view kStarcoderList[] = {"\\p{N}", kGpt2};
constexpr std::string_view kDeepseekLlmList[] = {"[\\r\\n]", kDeepseekLetters, kDeepseekPunct, "\\s+\\z",
                                       kDeepseekCjk, "\\p{N}+"};
constexpr std::string_view kDeepseekCoderList[] = {"[\\r\\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", kDeepseekCjk, "\\p{N}"};
constexpr std::string_view kDeepseek3List[] = {
    "\\p{N}{1,3}", "[\\x{4E00}-\\x{9FA5}\\x{3040}-\\x{309F}\\x{30A0}-\\x{30FF}]+",
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+"
    "| ?[\\p{P}\\p{S}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"};
constexpr std::string_view kGpt4oList[] = {kGpt4o};
constexpr std::string_view kTekkenList[] = {kTekken};

struct PreSpec {
  std::initializer_list<std::string_view> names;
  Patterns patterns;
  bool clean_spaces;
  bool ignore_merges;
  bool add_bos;
};

// Names and flags as llama.cpp's llama_vocab::load assigns them.
const PreSpec kPreSpecs[] = {
    {{"default"}, kDefaultList, true, false, false},
    {{"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano"},
     kLlama3List, true, true, true},
    {{"dbrx", "smaug-bpe"}, kLlama3List, true, false, false},
    {{"deepseek-llm"}, kDeepseekLlmList, false, false, false},
    {{"deepseek-coder"}, kDeepseekCoderList, false, false, false},
    {{"deepseek-v3", "hunyuan-dense"}, kDeepseek3List, false, false, false},
    {{"falcon"}, kFalconList, true, false, false},
    {{"mpt", "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0", "mellum",
      "modern-bert", "jina-v1-en", "jina-v2-code", "roberta-bpe", "exaone4", "olmo", "jais"},
     kGpt2List, true, false, false},
    {{"trillion", "granite-docling"}, kGpt2List, false, false, false},
    {{"starcoder", "refact", "codeshell", "exaone", "minerva-7b", "mellum2"}, kStarcoderList, true, false, false},
    {{"command-r", "smollm"}, kStarcoderList, false, false, false},
    {{"qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "hunyuan", "solar-open"}, kQwen2List, false, false, false},
    {{"stablelm2", "megrez"}, kQwen2List, true, false, false},
    {{"qwen35"}, kQwen35List, false, false, false},
    {{"gpt-4o", "llama4", "kanana2", "talkie", "minimax-m2"}, kGpt4oList, false, false, false},
    {{"tekken"}, kTekkenList, false, true, true},
};

const PreSpec* find_spec(std::string_view name) {
  for (const PreSpec& s : kPreSpecs) {
    if (std::find(s.names.begin(), s.names.end(), name) != s.names.end()) return &s;
  }
  return nullptr;
}

size_t next_char(std::string_view s, size_t pos) {
  return std::min(s.size(), pos + utf8_seq_len(static_cast<uint8_t>(s[pos])));
}

}  // namespace

PreTokenizer::~PreTokenizer() = default;

std::vector<std::string_view> PreTokenizer::known_names() {
  std::vector<std::string_view> out;
  for (const PreSpec& s : kPreSpecs) out.insert(out.end(), s.names.begin(), s.names.end());
  return out;
}

std::unique_ptr<PreTokenizer> PreTokenizer::create(std::string_view pre_name) {
  const PreSpec* spec = find_spec(pre_name.empty() ? "default" : pre_name);
  if (!spec) throw Error("unknown or unsupported pre-tokenizer type '" + std::string(pre_name) + "'");
  std::unique_ptr<PreTokenizer> p(new PreTokenizer());
  for (std::string_view pat : spec->patterns) p->regexes_.push_back(std::make_unique<Regex>(expand_whitespace(pat)));
  p->clean_spaces_ = spec->clean_spaces;
  p->ignore_merges_ = spec->ignore_merges;
  p->add_bos_ = spec->add_bos;
  return p;
}

std::vector<std::string_view> PreTokenizer::split(const NormalizedUtf8& norm) const {
  // Pieces as [begin, end) byte offsets; the regexes run on the shadow text,
  // which has the same byte layout as norm.text.
  struct Span { size_t b, e; };
  std::vector<Span> pieces;
  if (!norm.text.empty()) pieces.push_back({0, norm.text.size()});
  std::vector<Span> next;
  const auto* shadow = reinterpret_cast<PCRE2_SPTR>(norm.shadow.data());

  for (const auto& rx : regexes_) {
    const std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> md_owner(
        pcre2_match_data_create_from_pattern(rx->code(), nullptr), &pcre2_match_data_free);
    pcre2_match_data* md = md_owner.get();
    if (!md) throw Error("out of memory creating PCRE2 match data");
    next.clear();
    next.reserve(pieces.size() * 2);
    for (const Span& p : pieces) {
      // Each piece is matched as a subject of its own, so anchors and
      // lookarounds see only the piece, as in llama.cpp.
      const size_t len = p.e - p.b;
      size_t last = 0, start = 0;
      while (start < len) {
        const int rc = pcre2_match(rx->code(), shadow + p.b, len, start, PCRE2_NO_UTF_CHECK, md, nullptr);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
          // A resource limit (e.g. JIT stack) on pathological input: refuse
          // rather than silently tokenizing differently from llama.cpp.
          PCRE2_UCHAR msg[256];
          pcre2_get_error_message(rc, msg, sizeof(msg));
          throw Error("pre-tokenizer regex failed on a " + std::to_string(len) + "-byte piece of text: " +
                      reinterpret_cast<const char*>(msg));
        }
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
        const size_t ms = ov[0], me = ov[1];
        if (me <= ms) {  // empty match: contributes no piece
          start = next_char(std::string_view(norm.shadow).substr(p.b, len), ms);
          continue;
        }
        if (ms > last) next.push_back({p.b + last, p.b + ms});
        next.push_back({p.b + ms, p.b + me});
        last = start = me;
      }
      if (last < len) next.push_back({p.b + last, p.e});
    }
    pieces.swap(next);
  }

  std::vector<std::string_view> words;
  words.reserve(pieces.size());
  for (const Span& p : pieces) words.emplace_back(norm.text.data() + p.b, p.e - p.b);
  return words;
}

}  // namespace kestrel::tok
