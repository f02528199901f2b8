// kestrel CLI entry point: dispatches `kestrel <subcommand> ...`.
#include <cstdio>
int main() { std::puts("kestrel: under construction"); return 0; }
