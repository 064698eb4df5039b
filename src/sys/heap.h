// Process-wide heap tuning for processes that move bulk data through the
// agent channel (the copy mode's 1 MiB CopyFile chunks and 1 MiB batches).
#pragma once

namespace vmshare::sys {

// Makes glibc malloc serve allocations up to 4 MiB from the heap instead of
// a fresh mmap each (whose page faults, one per 4 KiB page, cost more than
// copying the bytes), and keeps up to 8 MiB free per arena before trimming;
// at most 4 arenas bound what stays mapped. Call once, early in main,
// before threads start. Harmless elsewhere: other allocators ignore it.
void TuneHeapForBulkCopies();

}  // namespace vmshare::sys
