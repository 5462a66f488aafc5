// prunelab-cli's `phones`: the phones adb sees, each with its state and what to do, or why none
// can be listed (no adb, no phone). engine/runtime/remote/adb.h does the work.
#pragma once

namespace prunelab::cli {

// 0 with the listing (the no-phone message included); 1 when adb is missing or fails.
int cmdPhones();

}  // namespace prunelab::cli
