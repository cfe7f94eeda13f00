/* Shared by the hand-written policies: the maps mmpc's objects define (same
 * names, types, sizes, key and value types), and the three steps every rule
 * takes: count the evaluation, get the cgroup's state row, send a decision.
 * Written as one would by hand for BPF, against a vmlinux.h generated at
 * build time (bench/CMakeLists.txt), with runtime/abi/mmp_abi.h for the
 * record layouts so that both objects produce byte-identical decisions.
 *
 * A policy file defines MMP_NRULES, MMP_NSTATE (the words of a cgroup's
 * state row, as `mmpc compile --emit=plan` lays them out) and MMP_NSNAP
 * when it reads system fields, before including this header. */
#ifndef MMP_BENCH_BPF_H
#define MMP_BENCH_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

/* vmlinux.h already has the __u* types: keep <linux/types.h> out. */
#define _LINUX_TYPES_H
#include "mmp_abi.h"

#define NSEC_PER_SEC 1000000000ULL
#define PAGE_SHIFT 12
#define PAGE_COUNTER_MAX (0x7fffffffffffffffULL >> PAGE_SHIFT)

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} mmp_decisions SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u64);
} mmp_scopes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u64[MMP_NSTATE]);
} mmp_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64[MMP_NSTATE]);
} mmp_state_zero SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MMP_NRULES);
	__type(key, __u32);
	__type(value, struct mmp_rule_counters);
} mmp_counters SEC(".maps");

#ifdef MMP_NSNAP
/* System fields, written by mmrun each tick at their snapshot index. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64[MMP_NSNAP]);
} mmp_system SEC(".maps");
#endif


/* The memory controller's css of a cgroup, as a struct mem_cgroup (css is
 * its first member). Its fields are read with BPF_CORE_READ, i.e.
 * bpf_probe_read_kernel, so that this object loads on Debian 12's 6.1;
 * mmpc's objects use direct loads through bpf_rdonly_cast where the
 * kernel has it (6.2+) and fall back to these reads where it does not.
 * A NULL css reads 0. */
static __always_inline struct mem_cgroup *memcg_of(struct cgroup *cgrp)
{
	return (struct mem_cgroup *)cgrp->subsys[bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id)];
}

/* The cgroup the current task is charged to (memory controller). */
static __always_inline struct cgroup *current_memcg_cgroup(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	return task->cgroups->subsys[bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id)]->cgroup;
}

/* Page counts in bytes; PAGE_COUNTER_MAX and above is "max". */
static __always_inline __u64 pages(__u64 n) { return n << PAGE_SHIFT; }
static __always_inline __u64 limit_pages(__u64 n)
{
	return n >= PAGE_COUNTER_MAX ? MMP_UNLIMITED : n << PAGE_SHIFT;
}

/* PSI fixed point (2048 per percent) in thousandths of a percent. */
static __always_inline __u64 psi(unsigned long avg) { return (__u64)avg * 125 >> 8; }

/* num/den of whole, exactly (no 128-bit product); unlimited stays so. */
static __always_inline __u64 share_of(__u64 whole, __u64 num, __u64 den)
{
	if (whole == MMP_UNLIMITED)
		return whole;
	return whole / den * num + whole % den * num / den;
}

static __always_inline struct mmp_rule_counters *counters(__u32 rule)
{
	return bpf_map_lookup_elem(&mmp_counters, &rule);
}

/* The cgroup's state row, created zeroed on first use. */
static __always_inline __u64 *state_of(__u64 cgroup_id)
{
	__u64 *row = bpf_map_lookup_elem(&mmp_state, &cgroup_id);
	__u32 zero = 0;

	if (row)
		return row;
	__u64 *zeroes = bpf_map_lookup_elem(&mmp_state_zero, &zero);
	if (zeroes)
		bpf_map_update_elem(&mmp_state, &cgroup_id, zeroes, BPF_NOEXIST);
	return bpf_map_lookup_elem(&mmp_state, &cgroup_id);
}

/* true while a cooldown of `ns` since the last firing (*last) runs; it
 * ends up to 1/20 of it (at most 50 ms) early, as mmp's does. */
static __always_inline bool cooling(const __u64 *last, __u64 now, __u64 ns)
{
	__u64 slack = ns / 20 < 50000000 ? ns / 20 : 50000000;
	return *last && now - *last < ns - slack;
}

/* `for D`: records in *since when the condition became true (0 when it
 * is false) and says whether it has held for D. */
static __always_inline bool held(__u64 *since, bool cond, __u64 now, __u64 ns)
{
	__u64 start = *since ? *since : now;

	*since = cond ? start : 0;
	return cond && now - start >= ns;
}

/* One decision into the ring buffer; a full buffer counts a drop. */
static __always_inline void decide(struct mmp_rule_counters *c, __u16 action, __u32 rule,
				   __u64 cgroup_id, __u64 now, __u64 arg, __u32 flags,
				   __u64 v0, __u64 v1)
{
	struct mmp_decision *d = bpf_ringbuf_reserve(&mmp_decisions, sizeof(*d), 0);

	if (!d) {
		c->drops++; /* per CPU: no atomic */
		return;
	}
	d->version = MMP_DECISION_VERSION;
	d->action = action;
	d->rule = rule;
	d->cgroup_id = cgroup_id;
	d->time_ns = now;
	d->arg = arg;
	d->flags = flags;
	d->action_index = 0;
	d->values[0] = v0;
	d->values[1] = v1;
	d->values[2] = 0;
	d->values[3] = 0;
	d->values[4] = 0;
	d->values[5] = 0;
	bpf_ringbuf_submit(d, 0);
}

#endif
