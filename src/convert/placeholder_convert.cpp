// Placeholder so the convert module builds while it is written; delete when real sources land.
namespace kestrel { void placeholder_convert() {} }
