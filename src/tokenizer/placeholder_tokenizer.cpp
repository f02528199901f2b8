// Placeholder so the tokenizer module builds while it is written; delete when real sources land.
namespace kestrel { void placeholder_tokenizer() {} }
