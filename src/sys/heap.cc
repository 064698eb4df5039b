#include "sys/heap.h"

#include <malloc.h>

namespace vmshare::sys {

void TuneHeapForBulkCopies() {
  ::mallopt(M_MMAP_THRESHOLD, 4 << 20);
  ::mallopt(M_TRIM_THRESHOLD, 8 << 20);
  ::mallopt(M_ARENA_MAX, 4);
}

}  // namespace vmshare::sys
