// Placeholder so the quant module builds while it is written; delete when real sources land.
namespace kestrel { void placeholder_quant() {} }
