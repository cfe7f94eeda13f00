// SPDX-License-Identifier: GPL-2.0
/* duo.mmp by hand:
 *   rule 0: when memcg.pressure > 40% reclaim 2% file first
 *             unless system.pressure.full > 50%
 *   rule 1: when system.memory.available < 5% for 5s kill largest cgroup
 * Both scope bit 0. Rule 0 is a memcg rule (cooldown 1s, values:
 * memcg.pressure); rule 1 a system rule, evaluated once per walk at its
 * first cgroup with cgroup id 0 (for 5s, cooldown 30s, values:
 * system.memory.available, 5% of its whole system.memory.total).
 * System fields come from mmp_system at their snapshot index. */
#define MMP_NSTATE 3
#define MMP_NRULES 2
#define MMP_NSNAP 4
#include "mmp_bpf.h"

enum { PRESSURE, SYS_FULL, SYS_TOTAL, SYS_AVAILABLE }; /* snapshot indices */

static __always_inline void eval_memcg(__u64 now, __u64 cgid, __u64 mask, __u64 pressure, __u64 sys_full)
{
	struct mmp_rule_counters *c;
	__u64 *st;

	if (!(mask & 1) || !(c = counters(0)))
		return;
	c->evaluations++;
	if (pressure <= 40000 || sys_full > 50000)
		return;
	st = state_of(cgid);
	if (!st || cooling(&st[0], now, NSEC_PER_SEC))
		return;
	st[0] = now;
	c->firings++;
	decide(c, MMP_ACTION_RECLAIM, 0, cgid, now, 2000,
	       MMP_RECLAIM_FILE | MMP_RECLAIM_FIRST | MMP_ARG_SHARE, pressure, 0);
}

static __always_inline void eval_system(__u64 now, __u64 mask, __u64 total, __u64 available)
{
	struct mmp_rule_counters *c;
	__u64 *st;

	if (!(mask & 1) || !(c = counters(1)))
		return;
	c->evaluations++;
	st = state_of(0);
	if (!st || !held(&st[1], available < share_of(total, 1, 20), now, 5 * NSEC_PER_SEC) ||
	    cooling(&st[2], now, 30 * NSEC_PER_SEC))
		return;
	st[2] = now;
	c->firings++;
	decide(c, MMP_ACTION_KILL, 1, 0, now, 0, MMP_KILL_LARGEST | MMP_KILL_CGROUP | MMP_SUBJECT_SYSTEM,
	       available, 0);
}

static __always_inline __u64 *system_fields(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&mmp_system, &zero);
}

static __always_inline void run(struct cgroup *cgrp, __u64 now, const __u64 *sys)
{
	__u64 id = cgrp->kn->id;
	__u64 *mask = bpf_map_lookup_elem(&mmp_scopes, &id);

	if (mask)
		eval_memcg(now, id, *mask, psi(cgrp->psi->avg[6]), sys[SYS_FULL]);
}

SEC("iter/cgroup")
int mmp_tick(struct bpf_iter__cgroup *ctx)
{
	struct cgroup *cgrp = ctx->cgroup;
	__u64 *sys = system_fields();

	if (!cgrp || !sys)
		return 0;
	__u64 now = bpf_ktime_get_ns();
	if (ctx->meta->seq_num == 0) /* the walk's first cgroup: the system rules */
		eval_system(now, ~0ULL, sys[SYS_TOTAL], sys[SYS_AVAILABLE]);
	run(cgrp, now, sys);
	return 0;
}

SEC("tp_btf/mm_vmscan_memcg_reclaim_begin")
int mmp_memcg_reclaim(void *ctx)
{
	__u64 *sys = system_fields();

	if (sys)
		run(current_memcg_cgroup(), bpf_ktime_get_ns(), sys);
	return 0;
}

SEC("syscall")
int mmp_replay(struct mmp_snapshot *s)
{
	if (!s->cgroup_id)
		eval_system(s->time_ns, s->scope_mask, s->fields[SYS_TOTAL], s->fields[SYS_AVAILABLE]);
	else
		eval_memcg(s->time_ns, s->cgroup_id, s->scope_mask, s->fields[PRESSURE], s->fields[SYS_FULL]);
	return 0;
}
