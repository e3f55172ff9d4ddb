#include "common.h"
namespace tsv {
void registerDetectionOps(Napi::Env, Napi::Object) {}
}
