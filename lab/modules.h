// THE list of the lab's modules. To add one, see lab/README.md ("Adding a
// module"): one folder under lab/, one line in modules.cc.
#ifndef COLDSTART_LAB_MODULES_H_
#define COLDSTART_LAB_MODULES_H_

#include <vector>

#include "lab/module.h"

namespace coldstart::lab {

// Every module, in start order (a module's dependencies first).
const std::vector<ModuleRegistration>& RegisteredModules();

}  // namespace coldstart::lab

#endif  // COLDSTART_LAB_MODULES_H_
