// SPDX-License-Identifier: Apache-2.0
// Must not compile: metrics/ sits below http/ in the layering, so the http library's
// headers are not on its include path (tests/CMakeLists.txt, ctest "layering").
#include "http/tls.h"
