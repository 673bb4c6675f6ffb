#pragma once
// Lays the compiled plans of several slots (one per sequence) out over one set of clamp
// directions per block, as the per-sequence hook wants them (include/llama-steer.h): directions
// are shared by all slots, each slot has its own addition and bounds, and a slot leaves the
// directions it does not use unbounded. Pure C++, tested against a TypeScript oracle.
#include <cstdint>
#include <map>
#include <vector>

#include "plan.h"

namespace ps {

struct SlotPlan {
    int32_t slot = 0;                  // >= 1
    const CompiledPlan * plan = nullptr;
};

struct SlotValues {
    std::vector<float> c;              // [n_embd]
    std::vector<float> lo, hi;         // [n_dirs], -inf / +inf for directions the slot does not clamp
};

struct BlockTables {
    std::vector<float> dirs;           // [n_dirs][n_embd]; unused rows are zero
    std::map<int32_t, SlotValues> slots;
};

struct SlotLayout {
    int32_t n_dirs = 0;                // the rows the tables were sized to
    std::map<int32_t, BlockTables> blocks;
};

// Rows each block needs: a direction shared by several slots takes one row; two clamps of one
// slot on the same direction take two (their corrections add up).
int32_t slot_rows_needed(const std::vector<SlotPlan> & plans);

// Tables of n_dirs rows (n_dirs >= slot_rows_needed(plans)). Deterministic: the same plans give
// the same rows in the same order (slots in the order given).
SlotLayout layout_slots(const std::vector<SlotPlan> & plans, int32_t n_embd, int32_t n_dirs);

}  // namespace ps
