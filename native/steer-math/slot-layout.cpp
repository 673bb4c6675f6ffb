#include "slot-layout.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace ps {

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// Rows of one block: the directions in order, and which slots already use each row.
struct RowSet {
    std::vector<const std::vector<float> *> dirs;
    std::vector<std::vector<int32_t>> users;

    int32_t row_for(const std::vector<float> & u, int32_t slot) {
        for (size_t r = 0; r < dirs.size(); r++) {
            if (*dirs[r] == u && std::find(users[r].begin(), users[r].end(), slot) == users[r].end()) {
                users[r].push_back(slot);
                return (int32_t) r;
            }
        }
        dirs.push_back(&u);
        users.push_back({slot});
        return (int32_t) dirs.size() - 1;
    }
};

std::map<int32_t, RowSet> assign_rows(const std::vector<SlotPlan> & plans,
                                      std::map<std::pair<int32_t, int32_t>, std::vector<int32_t>> * rows_of) {
    std::map<int32_t, RowSet> sets;
    for (const SlotPlan & sp : plans) {
        if (sp.plan == nullptr) continue;
        for (const auto & [il, p] : sp.plan->blocks) {
            RowSet & set = sets[il];
            std::vector<int32_t> rows;
            for (const BlockClamp & c : p.clamps) rows.push_back(set.row_for(c.unit, sp.slot));
            if (rows_of) (*rows_of)[{il, sp.slot}] = std::move(rows);
        }
    }
    return sets;
}

}  // namespace

int32_t slot_rows_needed(const std::vector<SlotPlan> & plans) {
    size_t n = 0;
    for (const auto & kv : assign_rows(plans, nullptr)) n = std::max(n, kv.second.dirs.size());
    return (int32_t) n;
}

SlotLayout layout_slots(const std::vector<SlotPlan> & plans, int32_t n_embd, int32_t n_dirs) {
    std::map<std::pair<int32_t, int32_t>, std::vector<int32_t>> rows_of;
    std::map<int32_t, RowSet> sets = assign_rows(plans, &rows_of);
    SlotLayout out;
    out.n_dirs = n_dirs;
    for (const auto & [il, set] : sets) {
        if ((int32_t) set.dirs.size() > n_dirs) throw std::invalid_argument("layout_slots: n_dirs is smaller than the rows needed");
        BlockTables & t = out.blocks[il];
        t.dirs.assign((size_t) n_dirs * n_embd, 0.0f);
        for (size_t r = 0; r < set.dirs.size(); r++) std::copy(set.dirs[r]->begin(), set.dirs[r]->end(), t.dirs.begin() + r * n_embd);
    }
    for (const SlotPlan & sp : plans) {
        if (sp.plan == nullptr) continue;
        for (const auto & [il, p] : sp.plan->blocks) {
            SlotValues v;
            v.c = p.add;
            v.lo.assign((size_t) n_dirs, -kInf);
            v.hi.assign((size_t) n_dirs, kInf);
            const std::vector<int32_t> & rows = rows_of[{il, sp.slot}];
            for (size_t k = 0; k < p.clamps.size(); k++) {
                v.lo[rows[k]] = p.clamps[k].lo;
                v.hi[rows[k]] = p.clamps[k].hi;
            }
            out.blocks[il].slots[sp.slot] = std::move(v);
        }
    }
    return out;
}

}  // namespace ps
