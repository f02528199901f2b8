// Model quantization (model_quantizer.h): plan per-tensor types, convert
// rows on the thread pool, write the GGUF.
#include "convert/model_quantizer.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <numeric>
#include <regex>
#include <set>

#include "convert/imatrix.h"
#include "convert/progress_bar.h"
#include "core/error.h"
#include "core/file_io.h"
#include "core/interrupt.h"
#include "core/thread_pool.h"
#include "quant/quantize.h"
#include "quant/type_traits.h"

namespace kestrel {
namespace {

// llama.cpp accepts the bare K names as aliases of the _M mixes.
struct TypeAlias {
  std::string_view alias;
  std::string_view target;
};
constexpr TypeAlias kTypeAliases[] = {{"Q3_K", "Q3_K_M"}, {"Q4_K", "Q4_K_M"}, {"Q5_K", "Q5_K_M"}};

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// The types a weight tensor may be stored in: the base types of the file
// types (this excludes the activation-only formats Q8_1 and Q8_K).
bool is_weight_type(DType t) {
  for (const FileTypeInfo& f : all_file_types()) {
    if (f.base == t) return true;
  }
  return false;
}

std::string weight_type_names() {
  std::set<std::string_view> seen;
  std::string s;
  for (const TypeTraits& tt : all_type_traits()) {
    if (!is_weight_type(tt.type) || !seen.insert(tt.name).second) continue;
    s += (s.empty() ? "" : ", ") + std::string(tt.name);
  }
  return s;
}

// llama.cpp's loader order: by block index (-1 outside blk.N), then by name.
int layer_of(std::string_view name) {
  if (name.substr(0, 4) != "blk.") return -1;
  int v = 0;
  size_t i = 4;
  if (i >= name.size() || !std::isdigit(static_cast<unsigned char>(name[i]))) return -1;
  while (i < name.size() && std::isdigit(static_cast<unsigned char>(name[i]))) {
    v = v * 10 + (name[i] - '0');
    if (v > 1000000) return -1;
    ++i;
  }
  return i < name.size() && name[i] == '.' ? v : -1;
}

int n_dims_of(const std::vector<int64_t>& ne) {
  // ggml_n_dims: trailing dimensions of 1 do not count (at least 1).
  int n = static_cast<int>(ne.size());
  while (n > 1 && ne[static_cast<size_t>(n - 1)] == 1) --n;
  return n;
}

// A scalar integer key, or `fallback` when absent or not a scalar (some
// architectures store per-layer arrays).
int64_t scalar_int_or(const gguf::Reader& r, const std::string& key, int64_t fallback) {
  const gguf::Value* v = r.find(key);
  if (!v || v->type == gguf::ValueType::ARRAY || v->type == gguf::ValueType::STRING) return fallback;
  return r.get_int(key).value_or(fallback);
}

void warn(const QuantizeOptions& opt, const std::string& text) {
  if (opt.on_warning) opt.on_warning(text);
  else std::fprintf(stderr, "warning: %s\n", text.c_str());
}

std::string type_name(DType t) { return std::string(type_traits(t).name); }

}  // namespace

const FileTypeInfo& parse_quantize_type(std::string_view name) {
  for (const TypeAlias& a : kTypeAliases) {
    if (iequals(a.alias, name)) return *find_file_type(a.target);
  }
  if (const FileTypeInfo* f = find_file_type(name)) return *f;
  if (!name.empty() && name.size() < 4 && std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (const FileTypeInfo* f = find_file_type(static_cast<FileType>(std::stoul(std::string(name))))) return *f;
  }
  throw Error("unknown quantization type '" + std::string(name) + "' (choose one of: " + quantize_type_names() + ")");
}

std::string quantize_type_names() {
  std::string s = file_type_list();
  for (const TypeAlias& a : kTypeAliases) s += ", " + std::string(a.alias);
  return s;
}

TensorTypeOverride parse_tensor_type_override(std::string_view arg) {
  const size_t eq = arg.find('=');
  if (eq == std::string_view::npos) {
    throw Error("--tensor-type '" + std::string(arg) + "': expected NAME=TYPE (e.g. attn_v=q8_0)");
  }
  if (eq == 0) throw Error("--tensor-type '" + std::string(arg) + "': the tensor name is empty");
  const std::string_view type = arg.substr(eq + 1);
  if (type.empty()) throw Error("--tensor-type '" + std::string(arg) + "': the type is empty");
  TensorTypeOverride o;
  o.pattern.assign(arg.substr(0, eq));
  for (char& c : o.pattern) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const TypeTraits* tt = find_type_traits(type);
  if (!tt || !is_weight_type(tt->type)) {
    throw Error("--tensor-type '" + std::string(arg) + "': unknown tensor type '" + std::string(type) +
                "' (choose one of: " + weight_type_names() + ")");
  }
  o.type = tt->type;
  try {
    std::regex re(o.pattern);
  } catch (const std::regex_error& e) {
    throw Error("--tensor-type '" + std::string(arg) + "': invalid regular expression: " + e.what());
  }
  return o;
}

std::vector<TensorPlan> plan_quantization(const gguf::Reader& src, const QuantizeOptions& opt) {
  if (!opt.file_type) throw Error("quantize: no target type given");
  const FileTypeInfo& ft = *opt.file_type;
  const std::string arch(src.get_string_or("general.architecture", ""));
  // Output order and the layer count (block_count, else from the names).
  std::vector<const gguf::TensorInfo*> order;
  int max_layer = -1;
  for (const auto& t : src.tensors()) {
    order.push_back(&t);
    max_layer = std::max(max_layer, layer_of(t.name));
  }
  std::stable_sort(order.begin(), order.end(), [](const gguf::TensorInfo* a, const gguf::TensorInfo* b) {
    const int la = layer_of(a->name), lb = layer_of(b->name);
    return la != lb ? la < lb : a->name < b->name;
  });
  const int64_t n_layer = scalar_int_or(src, arch + ".block_count", max_layer + 1);
  const int64_t n_head = scalar_int_or(src, arch + ".attention.head_count", 1);
  const int64_t n_head_kv = scalar_int_or(src, arch + ".attention.head_count_kv", n_head);
  const bool tied = src.find_tensor("output.weight") == nullptr;

  std::vector<std::pair<std::regex, DType>> overrides;
  for (const auto& o : opt.overrides) overrides.emplace_back(std::regex(o.pattern), o.type);
  const bool base_quantized = type_traits(ft.base).is_quantized;

  std::vector<TensorPlan> plan;
  std::vector<std::string> requantized, no_imatrix;
  size_t imatrix_hits = 0, imatrix_wanted = 0;
  for (const gguf::TensorInfo* t : order) {
    TensorPlan p;
    p.name.assign(t->name);
    p.ne = t->ne;
    p.from = t->type;
    TensorPlace place;
    place.name = t->name;
    place.row_length = t->ne.empty() ? 1 : t->ne[0];
    place.n_dims = n_dims_of(t->ne);
    place.layer = layer_of(t->name);
    place.n_layer = static_cast<int>(n_layer);
    place.n_gqa = n_head_kv > 0 ? std::max<int64_t>(1, n_head / n_head_kv) : 1;
    place.tied_embeddings = tied;

    std::string warning;
    const std::regex* matched = nullptr;
    DType manual = DType::F32;
    // llama.cpp applies --tensor-type only when the file type is quantized,
    // and a manual choice skips the mix rules but not the row-length fallback.
    if (base_quantized && !overrides.empty() && tensor_is_quantizable(place)) {
      for (const auto& [re, type] : overrides) {
        if (std::regex_search(p.name, re)) {
          matched = &re;
          manual = type;
          break;
        }
      }
    }
    p.to = matched ? fallback_for_row_length(manual, place.row_length, &warning)
                   : tensor_type_for(ft, place, p.from, opt.pure, &warning);
    if (!warning.empty()) {
      p.fallback = true;
      warn(opt, p.name + ": " + warning);
    }

    const TypeTraits& from_tt = type_traits(p.from);
    if (p.to != p.from && from_tt.is_quantized) {
      if (!opt.allow_requantize) {
        throw Error("tensor " + p.name + " is already quantized (" + std::string(from_tt.name) +
                    "): requantizing loses quality compared with quantizing from a 16- or 32-bit model; "
                    "pass --allow-requantize to do it anyway");
      }
      requantized.push_back(p.name);
    }
    if (opt.imatrix && p.to != p.from && type_traits(p.to).is_quantized) {
      if (const ImatrixEntry* e = opt.imatrix->find(p.name)) {
        const int64_t n_mat = std::accumulate(p.ne.begin() + std::min<size_t>(2, p.ne.size()), p.ne.end(),
                                              int64_t{1}, std::multiplies<>());
        if (e->n_cols != place.row_length || e->n_mat() != n_mat) {
          // llama.cpp lets the token embedding through (it is a lookup, never
          // a matrix product, so its entry can only be a stray one).
          if (p.name != "token_embd.weight") {
            throw Error("imatrix entry for " + p.name + " has " + std::to_string(e->n_cols) + " columns x " +
                        std::to_string(e->n_mat()) + " matrices but the tensor has rows of " +
                        std::to_string(place.row_length) + " x " + std::to_string(n_mat) +
                        " matrices: the imatrix was made for a different model");
          }
        } else {
          p.with_imatrix = true;
        }
        ++imatrix_hits;
      } else if (p.name != "token_embd.weight" && p.name != "output.weight") {
        // The embedding is a lookup and llama-imatrix skips the output
        // matrix by default, so only other gaps are worth a warning.
        no_imatrix.push_back(p.name);
      }
      ++imatrix_wanted;
    }
    // llama.cpp refuses Q2_K_S without importance data: its Q2_K tensors
    // are only usable with the weighted search (embedding and output excepted).
    if (ft.ft == FileType::Q2_K_S && p.to == DType::Q2_K && !p.with_imatrix && p.name != "token_embd.weight" &&
        p.name != "output.weight") {
      throw Error(std::string(opt.imatrix ? "the imatrix has no data for " : "Q2_K_S needs an importance matrix (--imatrix): ") +
                  "tensor " + p.name + " would be Q2_K, which llama.cpp only makes with importance weights");
    }
    plan.push_back(std::move(p));
  }
  if (opt.imatrix && imatrix_wanted > 0) {
    if (imatrix_hits == 0 && !opt.imatrix->entries.empty()) {
      throw Error("the imatrix has no entry for any tensor of this model (" +
                  std::to_string(opt.imatrix->entries.size()) + " entries, e.g. " +
                  opt.imatrix->entries.begin()->first + "): it was made for a different model");
    }
    if (!no_imatrix.empty()) {
      std::string names;
      for (const auto& n : no_imatrix) names += (names.empty() ? "" : ", ") + n;
      warn(opt, "no imatrix data for " + std::to_string(no_imatrix.size()) + " tensor(s), quantized without: " + names);
    }
    size_t stray = 0;
    for (const auto& [name, e] : opt.imatrix->entries) stray += src.find_tensor(name) == nullptr;
    if (stray > 0) {
      warn(opt, "the imatrix has " + std::to_string(stray) + " of " + std::to_string(opt.imatrix->entries.size()) +
                    " entries for tensors this model lacks: was it made for another model?");
    }
  }
  if (!requantized.empty()) {
    warn(opt, "requantizing " + std::to_string(requantized.size()) +
                  " already quantized tensor(s): the result is worse than quantizing the 16/32-bit model");
  }
  return plan;
}

const uint8_t* QuantizedModel::tensor_data(std::string_view name, size_t* nbytes) const {
  for (size_t i = 0; i < plan_.size(); ++i) {
    if (plan_[i].name != name) continue;
    if (nbytes) *nbytes = data_[i].second;
    return data_[i].first;
  }
  return nullptr;
}

namespace {

// Converts one tensor: every row to f32, then to the target type. Rows are
// handed out in chunks of ~16K elements (llama.cpp's granularity) so all
// threads stay busy on small and large tensors alike. Errors inside the
// workers are collected and rethrown on the calling thread.
void convert_tensor(const TensorPlan& p, const uint8_t* src, uint8_t* dst, const float* importance,
                    ThreadPool& pool, const std::function<void(int64_t rows_done)>& on_rows) {
  const TypeTraits& from = type_traits(p.from);
  const TypeTraits& to = type_traits(p.to);
  const int64_t n_per_row = p.ne[0];
  const int64_t n_rows = std::accumulate(p.ne.begin() + 1, p.ne.end(), int64_t{1}, std::multiplies<>());
  const int64_t rows_per_mat = p.ne.size() > 1 ? p.ne[1] : 1;
  const size_t in_row = row_bytes(from, n_per_row), out_row = row_bytes(to, n_per_row);
  const int64_t chunk = std::max<int64_t>(1, (32 * 512) / n_per_row);
  std::atomic<int64_t> next{0}, done{0};
  std::mutex err_mutex;
  std::string error;
  pool.run([&](int ith, int) {
    std::vector<float> buf(p.from == DType::F32 ? 0 : static_cast<size_t>(n_per_row));
    try {
      for (;;) {
        const int64_t r0 = next.fetch_add(chunk);
        if (r0 >= n_rows) break;
        const int64_t r1 = std::min(n_rows, r0 + chunk);
        for (int64_t r = r0; r < r1; ++r) {
          const uint8_t* in = src + static_cast<size_t>(r) * in_row;
          const float* row = reinterpret_cast<const float*>(in);
          if (p.from != DType::F32) {
            from.to_float(in, buf.data(), n_per_row);
            row = buf.data();
          }
          for (int64_t i = 0; i < n_per_row; ++i) {
            if (!std::isfinite(row[i])) {
              throw Error("tensor " + p.name + " row " + std::to_string(r) + " holds a non-finite value (" +
                          std::to_string(row[i]) + "): the source model is damaged");
            }
          }
          const float* imp = importance ? importance + (r / rows_per_mat) * n_per_row : nullptr;
          quantize_row_with_importance(p.to, row, dst + static_cast<size_t>(r) * out_row, n_per_row, imp);
        }
        done.fetch_add(r1 - r0);
        if (ith == 0) on_rows(done.load());
        if (interrupt_signal() != 0) next.store(n_rows);  // the caller's checkpoint reports it
        std::lock_guard<std::mutex> lock(err_mutex);
        if (!error.empty()) break;
      }
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> lock(err_mutex);
      if (error.empty()) error = e.what();
      next.store(n_rows);  // stop the other threads early
    }
  });
  if (!error.empty()) throw Error(error);
  checkpoint();
}

}  // namespace

QuantizedModel quantize_model(const gguf::Reader& src, const QuantizeOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  QuantizedModel qm;
  qm.plan_ = plan_quantization(src, opt);
  const FileTypeInfo& ft = *opt.file_type;

  // Metadata: everything but the keys llama.cpp re-sets or drops (split
  // info: the output is one file), then the two re-set keys at the end.
  gguf::Writer& w = qm.writer_;
  for (const auto& kv : src.metadata()) {
    if (kv.key == "general.quantization_version" || kv.key == "general.file_type" ||
        kv.key == "split.no" || kv.key == "split.count" || kv.key == "split.tensors.count") {
      continue;
    }
    w.set_value(kv.key, kv.value);
  }
  w.set_u32("general.quantization_version", 2);  // ggml's GGML_QNT_VERSION
  w.set_u32("general.file_type", static_cast<uint32_t>(ft.ft));
  if (opt.imatrix) {
    w.set_string("quantize.imatrix.file", opt.imatrix_path);
    if (!opt.imatrix->datasets.empty()) w.set_string("quantize.imatrix.dataset", opt.imatrix->datasets.front());
    w.set_u32("quantize.imatrix.entries_count", static_cast<uint32_t>(opt.imatrix->entries.size()));
    if (opt.imatrix->chunk_count > 0) w.set_u32("quantize.imatrix.chunks_count", opt.imatrix->chunk_count);
  }

  uint64_t total = 0, finished = 0;
  for (const auto& p : qm.plan_) {
    if (p.from != p.to) total += static_cast<uint64_t>(std::accumulate(p.ne.begin(), p.ne.end(), int64_t{1}, std::multiplies<>()));
  }
  ThreadPool pool(opt.n_threads > 0 ? opt.n_threads : default_thread_count());
  ProgressBar bar(opt.progress);
  QuantizeStats& st = qm.stats_;
  qm.buffers_.reserve(qm.plan_.size());
  for (const auto& p : qm.plan_) {
    // Between tensors a signal stops the conversion (nothing is on disk
    // yet); "convert" (KESTREL_PAUSE_AT) is after the first converted one.
    checkpoint(st.n_converted == 1 ? "convert" : nullptr);
    const gguf::TensorInfo& info = *src.find_tensor(p.name);
    const uint8_t* in = src.tensor_data(info);
    const uint64_t n_el = static_cast<uint64_t>(info.n_elements());
    st.n_tensors++;
    st.n_elements += n_el;
    st.bytes_in += info.nbytes;
    if (p.from == p.to) {
      qm.data_.emplace_back(in, static_cast<size_t>(info.nbytes));
    } else {
      const int64_t n_rows = static_cast<int64_t>(n_el) / p.ne[0];
      auto& out = qm.buffers_.emplace_back(row_bytes(type_traits(p.to), p.ne[0]) * static_cast<size_t>(n_rows));
      std::vector<float> imp;
      if (p.with_imatrix) imp = opt.imatrix->mean_squares(p.name);
      const std::string label = p.name + " " + type_name(p.from) + "->" + type_name(p.to);
      convert_tensor(p, in, out.data(), imp.empty() ? nullptr : imp.data(), pool, [&](int64_t rows) {
        bar.update(static_cast<double>(finished + static_cast<uint64_t>(rows) * static_cast<uint64_t>(p.ne[0])) /
                       static_cast<double>(total), label);
      });
      finished += n_el;
      bar.update(static_cast<double>(finished) / static_cast<double>(total), label);
      qm.data_.emplace_back(out.data(), out.size());
      st.n_converted++;
      st.n_with_imatrix += p.with_imatrix;
    }
    st.bytes_out += qm.data_.back().second;
    w.add_tensor(p.name, p.ne, p.to, qm.data_.back().first, qm.data_.back().second);
  }
  bar.finish();
  for (const auto& p : qm.plan_) st.n_fallback += p.fallback;
  st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return qm;
}

QuantizeStats quantize_model_file(const std::string& in, const std::string& out, const QuantizeOptions& opt) {
  const auto reader = gguf::Reader::open(in);
  require_writable_output(out);  // fail before the conversion, not after it
  checkpoint("load");
  QuantizedModel qm = quantize_model(*reader, opt);
  qm.writer().write_file(out);
  return qm.stats();
}

}  // namespace kestrel
