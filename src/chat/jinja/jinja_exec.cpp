// Statement execution: output, if/for/set, macros and call blocks, filter
// and with blocks, loop controls, and the render entry point that turns any
// position-less error into one naming the line being evaluated.
#include <algorithm>

#include "chat/jinja/jinja_interp.h"

namespace kestrel::jinja {
namespace {

// Nesting is bounded by the stack the evaluation actually uses, measured
// from the render's entry: frame sizes differ between statement kinds and
// between builds (sanitizers triple them), so counting calls alone cannot
// promise to stay inside a thread's stack. 2 MiB fits the default 8 MiB of
// main and pthread stacks with room to spare, and is far more than a real
// template needs (a 200-deep macro recursion uses about 200 KiB).
constexpr uintptr_t kMaxStackBytes = 2u << 20;
constexpr int kMaxEvalDepth = 20000;  // backstop

struct ScopeSwap {
  std::shared_ptr<Scope>& slot;
  std::shared_ptr<Scope> saved;
  ScopeSwap(std::shared_ptr<Scope>& s, std::shared_ptr<Scope> next) : slot(s), saved(std::move(s)) {
    slot = std::move(next);
  }
  ~ScopeSwap() { slot = std::move(saved); }
};

std::shared_ptr<Scope> child_of(const std::shared_ptr<Scope>& parent) {
  auto s = std::make_shared<Scope>();
  s->parent = parent;
  return s;
}

}  // namespace

const Value* Scope::find(const std::string& name) const {
  for (const Scope* s = this; s; s = s->parent.get()) {
    auto it = s->vars.find(name);
    if (it != s->vars.end()) return &it->second;
  }
  return nullptr;
}

Interpreter::Interpreter(const RenderOptions& opts, std::shared_ptr<Scope> globals)
    : opts_(opts), scope_(std::move(globals)) {}

Interpreter::~Interpreter() {
  // Break every reference cycle a mutation may have made (a list appended
  // to itself, a namespace holding itself) so that nothing leaks.
  for (Value& c : mutated_) {
    if (c.is_list()) c.list_data().items.clear();
    else if (c.is_dict() || c.is_namespace()) {
      c.dict_data().items.clear();
      c.dict_data().index.clear();
    }
  }
}

void Interpreter::track(const Value& container, const Value& inserted) {
  if (inserted.is_list() || inserted.is_dict() || inserted.is_namespace() || inserted.is_function())
    mutated_.push_back(container);
}

void Interpreter::enter(int line, int col) {
  auto here = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  if (++depth_ > kMaxEvalDepth || (stack_base_ > here && stack_base_ - here > kMaxStackBytes))
    fail("template evaluation nested too deeply");
  line_ = line;
  col_ = col;
}

void Interpreter::charge(size_t bytes) {
  // Building strings costs work even when nothing is output (a loop that
  // doubles a string and drops it); bound the total to a multiple of the
  // output limit so such a template ends with an error, not a hang.
  work_ += bytes;
  unsigned long long budget = 64ull * std::max<size_t>(opts_.max_output_bytes, 1u << 16);
  if (bytes > opts_.max_output_bytes) fail("string exceeds the output limit of " + std::to_string(opts_.max_output_bytes) + " bytes");
  if (work_ > budget) fail("template exceeded its work budget (string building)");
}

void Interpreter::count_iteration() {
  if (++iterations_ > opts_.max_loop_iterations)
    fail("loop iteration limit exceeded (" + std::to_string(opts_.max_loop_iterations) + ")");
}

void Interpreter::count_call() {
  // Macro calls share the iteration budget: a macro that calls itself twice
  // per level stays within max_recursion but makes 2^depth calls.
  if (++iterations_ > opts_.max_loop_iterations)
    fail("call and loop iteration limit exceeded (" + std::to_string(opts_.max_loop_iterations) + ")");
}

void Interpreter::emit(std::string_view s) {
  charge(s.size());
  out_->append(s);
  if (out_->size() > opts_.max_output_bytes)
    fail("output exceeds the limit of " + std::to_string(opts_.max_output_bytes) + " bytes");
}

std::string Interpreter::render(const Body& body) {
  std::string out;
  out_ = &out;
  stack_base_ = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  try {
    exec(body);
  } catch (const RaisedError& e) {
    if (e.line() != 0) throw;
    throw RaisedError(e.what(), line_, col_);
  } catch (const TemplateError& e) {
    if (e.line() != 0) throw;
    std::string what = "line ";
    what += std::to_string(line_);
    what += ", column ";
    what += std::to_string(col_);
    what += ": ";
    what += e.what();
    throw TemplateError(what, line_, col_);
  }
  return out;
}

std::string Interpreter::capture(const Body& body) {
  std::string buf;
  std::string* saved = out_;
  out_ = &buf;
  exec(body);
  out_ = saved;
  return buf;
}

void Interpreter::exec(const Body& body) {
  for (const auto& s : body) {
    exec_stmt(*s);
    if (flow_ != Flow::Normal) return;
  }
}

void Interpreter::assign(const std::vector<std::string>& targets, const Value& v) {
  if (targets.size() == 1) {
    scope_->vars[targets[0]] = v;
    return;
  }
  if (!v.is_list() && !v.is_string() && !v.is_dict())
    fail(std::string("cannot unpack non-iterable ") + v.type_name() + " object");
  std::vector<Value> items = iterate(v);
  if (items.size() != targets.size()) {
    std::string msg = items.size() > targets.size() ? "too many values to unpack (expected " : "not enough values to unpack (expected ";
    msg += std::to_string(targets.size());
    msg += ")";
    fail(msg);
  }
  for (size_t i = 0; i < targets.size(); ++i) scope_->vars[targets[i]] = items[i];
}

void Interpreter::exec_stmt(const Stmt& s) {
  enter(s.line, s.col);
  struct Leave {
    Interpreter* in;
    ~Leave() { in->leave(); }
  } guard{this};
  switch (s.kind) {
    case SK::Text: emit(s.text); return;
    case SK::Output: exec_output(s); return;
    case SK::If:
      for (const auto& [cond, body] : s.branches) {
        if (eval(*cond).truthy()) {
          exec(body);
          return;
        }
      }
      exec(s.else_body);
      return;
    case SK::For: exec_for(s); return;
    case SK::Set: exec_set(s); return;
    case SK::SetBlock: exec_set_block(s); return;
    case SK::Macro: scope_->vars[s.text] = make_macro(s, s.body, s.params, s.text); return;
    case SK::CallBlock: exec_call_block(s); return;
    case SK::FilterBlock: exec_filter_block(s); return;
    case SK::With: exec_with(s); return;
    case SK::Scope: exec(s.body); return;
    case SK::Break: flow_ = Flow::Break; return;
    case SK::Continue: flow_ = Flow::Continue; return;
    case SK::Do: eval(*s.expr); return;
  }
}

// The statement kinds with heavy locals live outside exec_stmt so that its
// frame, which recursion through nested blocks and macros repeats, stays small.
KJ_NOINLINE void Interpreter::exec_output(const Stmt& s) {
  Value v = eval(*s.expr);
  if (v.is_string()) emit(v.str());
  else emit(to_str(v));
}

KJ_NOINLINE void Interpreter::exec_set_block(const Stmt& s) {
  std::string text = capture(s.body);
  Value v(std::move(text));
  if (s.expr) {
    // The filter chain's innermost operand is the captured text.
    ScopeSwap swap(scope_, child_of(scope_));
    scope_->vars[" filter input"] = v;
    v = eval(*s.expr);
  }
  scope_->vars[s.targets[0]] = v;
}

KJ_NOINLINE void Interpreter::exec_call_block(const Stmt& s) {
  // `caller()` renders the block body, in the scope of the call site.
  Value caller = make_macro(s, s.body, s.params, "caller");
  const Expr& call = *s.expr;
  CallArgs args;
  Value fn;
  if (call.args[0]->kind == EK::Attr) fn = get_attr(eval(*call.args[0]->args[0]), call.args[0]->name);
  else fn = eval(*call.args[0]);
  eval_args(call, 1, args);
  args.kw.emplace_back("caller", caller);
  Value r = this->call(fn, args);
  emit(to_str(r));
}

KJ_NOINLINE void Interpreter::exec_filter_block(const Stmt& s) {
  std::string text = capture(s.body);
  ScopeSwap swap(scope_, child_of(scope_));
  scope_->vars[" filter input"] = Value(std::move(text));
  emit(to_str(eval(*s.expr)));
}

KJ_NOINLINE void Interpreter::exec_with(const Stmt& s) {
  auto inner = child_of(scope_);
  for (const auto& [name, expr] : s.params) inner->vars[name] = eval(*expr);
  ScopeSwap swap(scope_, inner);
  exec(s.body);
}

void Interpreter::exec_set(const Stmt& s) {
  Value v = eval(*s.expr);
  if (s.attr.empty()) {
    assign(s.targets, v);
    return;
  }
  const Value* ns = scope_->find(s.targets[0]);
  if (!ns || !ns->is_namespace()) fail("cannot assign attribute on non-namespace object");
  track(*ns, v);
  ns->dict_data().set(Value(s.attr), v);
}

void Interpreter::exec_for(const Stmt& s) {
  Value seq = eval(*s.expr);
  std::vector<Value> items = iterate(seq);
  if (s.cond) {
    // `for x in xs if cond`: filtered first, so loop.length and loop.last
    // see only the kept items.
    std::vector<Value> kept;
    for (const Value& item : items) {
      count_iteration();
      ScopeSwap swap(scope_, child_of(scope_));
      assign(s.targets, item);
      if (eval(*s.cond).truthy()) kept.push_back(item);
    }
    items = std::move(kept);
  }
  if (items.empty()) {
    exec(s.else_body);
    return;
  }
  Value loop = Value::ns();
  DictData& ld = loop.dict_data();
  const int64_t n = static_cast<int64_t>(items.size());
  ld.set(Value("length"), Value(n));
  ld.set(Value("depth"), Value(1));
  ld.set(Value("depth0"), Value(0));
  std::weak_ptr<DictData> weak = loop.dict_ptr();  // weak: the loop object holds this function
  ld.set(Value("cycle"), Value::function("cycle", [weak](Interpreter&, CallArgs& a) -> Value {
           if (a.pos.empty()) fail("no items for cycling given");
           auto ldp = weak.lock();
           if (!ldp) fail("loop.cycle used after its loop");
           int64_t i = ldp->find(Value("index0"))->as_int();
           return a.pos[static_cast<size_t>(i % static_cast<int64_t>(a.pos.size()))];
         }));
  std::shared_ptr<Scope> outer = scope_;
  for (int64_t i = 0; i < n; ++i) {
    count_iteration();
    ld.set(Value("index"), Value(i + 1));
    ld.set(Value("index0"), Value(i));
    ld.set(Value("revindex"), Value(n - i));
    ld.set(Value("revindex0"), Value(n - i - 1));
    ld.set(Value("first"), Value(i == 0));
    ld.set(Value("last"), Value(i == n - 1));
    ld.set(Value("previtem"), i > 0 ? items[static_cast<size_t>(i - 1)] : Value::undefined("there is no previous item"));
    ld.set(Value("nextitem"), i + 1 < n ? items[static_cast<size_t>(i + 1)] : Value::undefined("there is no next item"));
    ScopeSwap swap(scope_, child_of(outer));
    scope_->vars["loop"] = loop;
    assign(s.targets, items[static_cast<size_t>(i)]);
    exec(s.body);
    if (flow_ == Flow::Continue) flow_ = Flow::Normal;
    if (flow_ == Flow::Break) {
      flow_ = Flow::Normal;
      break;
    }
  }
}

Value Interpreter::make_macro(const Stmt&, const Body& body, const std::vector<std::pair<std::string, ExprPtr>>& params,
                              const std::string& name) {
  // Weak: the macro is usually stored in the very scope it closes over.
  std::weak_ptr<Scope> closure = scope_;
  const Body* bodyp = &body;
  const auto* paramsp = &params;
  return Value::function(name, [closure, bodyp, paramsp](Interpreter& in, CallArgs& args) -> Value {
    in.count_call();
    if (++in.macro_depth_ > in.opts_.max_recursion) {
      --in.macro_depth_;
      fail("maximum recursion depth exceeded (" + std::to_string(in.opts_.max_recursion) + " macro calls)");
    }
    std::shared_ptr<Scope> parent = closure.lock();
    if (!parent) fail("macro called outside the scope it was defined in");
    auto sc = child_of(parent);
    ScopeSwap swap(in.scope_, sc);
    std::vector<bool> used_kw(args.kw.size(), false);
    for (size_t i = 0; i < paramsp->size(); ++i) {
      const auto& [pname, def] = (*paramsp)[i];
      if (i < args.pos.size()) {
        sc->vars[pname] = args.pos[i];
        continue;
      }
      bool found = false;
      for (size_t k = 0; k < args.kw.size(); ++k)
        if (args.kw[k].first == pname) {
          sc->vars[pname] = args.kw[k].second;
          used_kw[k] = found = true;
          break;
        }
      if (found) continue;
      sc->vars[pname] = def ? in.eval(*def) : Value::undefined("parameter '" + pname + "' was not provided");
    }
    std::vector<Value> varargs;
    for (size_t i = paramsp->size(); i < args.pos.size(); ++i) varargs.push_back(args.pos[i]);
    sc->vars["varargs"] = Value::list(std::move(varargs), true);
    Value kwargs = Value::dict();
    for (size_t k = 0; k < args.kw.size(); ++k) {
      if (used_kw[k]) continue;
      if (args.kw[k].first == "caller") sc->vars["caller"] = args.kw[k].second;
      else kwargs.dict_data().set(Value(args.kw[k].first), args.kw[k].second);
    }
    sc->vars["kwargs"] = kwargs;
    std::string text = in.capture(*bodyp);
    in.flow_ = Flow::Normal;
    --in.macro_depth_;
    return Value(std::move(text));
  });
}

}  // namespace kestrel::jinja
