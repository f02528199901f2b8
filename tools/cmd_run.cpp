// Temporary: `kestrel run` lands with the sampler chain.
#include "commands.h"
namespace kestrel::cli {
int cmd_run(Args&) { throw Error("kestrel run: not available in this build yet"); }
}
