// The store check (`berthctl check [--repair]`, and berthd at start-up): walks an image
// store and reports what is wrong with what it holds, one Finding per problem.
//   blobs     each content/blobs/<alg>/<hex> re-hashed against its name (skipped by the
//             quick mode), its mode (0444) and type
//   layers    each snapshots/layers/<hex>: a commit record that parses and names its chain,
//             fs/ measured equal to the record (files lost or truncated by a crash), the
//             parent file equal to the record's, the parent layer present
//   images    each images.json record: its index / manifests, config and layer blobs
//             present and parsing, every chain id unpacked
//   leftovers what crashed processes left (tmp dirs of dead pids, ingests, temp files):
//             expected after a crash, cleaned by the next pull or gc; not a problem
// With repair, what cannot be trusted is removed so the next pull restores it: a blob with
// a wrong digest, a layer without or not matching its record (with the layers built on it;
// never one an active snapshot sits on), an image name whose blobs are gone; layers whose
// blob is good are unpacked again at once. What verified good is never removed.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/error.h"
#include "image/store.h"

namespace berth::image {

struct CheckOptions {
  bool verify_blobs = true;  // false ("quick"): blobs are not re-hashed, only stat'ed
  bool repair = false;
  // Bytes of blobs hashed so far and in all; called from the checking thread.
  std::function<void(int64_t done, int64_t total)> progress;
};

enum class Severity {
  kBroken,  // committed data that is wrong: the check fails
  kNote,    // a crash leftover or a layer not unpacked yet: fine, said for the record
};

struct Finding {
  std::string area;     // "blob", "layer", "image", "snapshot", "leftover"
  std::string object;   // a digest, chain id, image name or path
  std::string problem;  // why it is wrong
  Severity severity = Severity::kBroken;
  std::string action;   // what --repair did, or (without it) would do; may be empty
  bool repaired = false;
};

struct CheckReport {
  std::vector<Finding> findings;
  int blobs = 0;
  int64_t bytes_hashed = 0;
  int layers = 0;
  int images = 0;
  int snapshots = 0;
  bool repair = false;

  int Broken() const;    // broken findings not repaired
  int Repaired() const;  // findings repaired (broken or notes)
  int Notes() const;
  bool Clean() const { return Broken() == 0; }
};

// Checks (and with opts.repair repairs) the store. Holds the store's gc lock: shared for a
// check, so pulls go on meanwhile; exclusive for a repair, which waits for running pulls.
// An error means the store could not be checked at all (unreadable images.json, a
// directory that cannot be listed), not that something in it is wrong.
Result<CheckReport> CheckStore(Store& store, const CheckOptions& opts = {});

// "layer sha256:…: <problem> (<action>)": one line, for humans.
std::string FindingText(const Finding& f);
// "3 blobs (12.3 MiB hashed), 2 layers, 1 image, 0 snapshots: 1 problem (1 repaired), 2 notes"
std::string CheckSummary(const CheckReport& r);
// The report as JSON (berthctl check -o json).
std::string CheckReportJson(const CheckReport& r);

}  // namespace berth::image
