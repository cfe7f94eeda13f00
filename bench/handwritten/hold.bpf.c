// SPDX-License-Identifier: GPL-2.0
/* hold.mmp by hand:
 *   when memcg.usage > 90% and memcg.pressure.full > 10% for 10s kill largest
 * Rule 0, scope bit 0. `memcg.usage > 90%` is 90% of its whole, memcg.max
 * (unlimited: never over). Cooldown 30s (kill's default) after the `for`.
 * Decision values: memcg.usage, memcg.pressure.full. */
#define MMP_NSTATE 2
#define MMP_NRULES 1
#include "mmp_bpf.h"

static __always_inline void eval(__u64 now, __u64 cgid, __u64 mask, __u64 usage, __u64 max, __u64 full)
{
	struct mmp_rule_counters *c;
	__u64 *st;

	if (!(mask & 1) || !(c = counters(0)))
		return;
	c->evaluations++;
	bool cond = usage > share_of(max, 9, 10) && full > 10000;
	st = state_of(cgid);
	if (!st || !held(&st[0], cond, now, 10 * NSEC_PER_SEC) || cooling(&st[1], now, 30 * NSEC_PER_SEC))
		return;
	st[1] = now;
	c->firings++;
	decide(c, MMP_ACTION_KILL, 0, cgid, now, 0, MMP_KILL_LARGEST, usage, full);
}

static __always_inline void run(struct cgroup *cgrp)
{
	__u64 now = bpf_ktime_get_ns();
	__u64 id = cgrp->kn->id;
	__u64 *mask = bpf_map_lookup_elem(&mmp_scopes, &id);

	if (!mask)
		return;
	struct mem_cgroup *memcg = memcg_of(cgrp);
	eval(now, id, *mask, pages(BPF_CORE_READ(memcg, memory.usage.counter)),
	     limit_pages(BPF_CORE_READ(memcg, memory.max)),
	     psi(cgrp->psi->avg[9]));
}

SEC("iter/cgroup")
int mmp_tick(struct bpf_iter__cgroup *ctx)
{
	struct cgroup *cgrp = ctx->cgroup;

	if (cgrp)
		run(cgrp);
	return 0;
}

SEC("tp_btf/mm_vmscan_memcg_reclaim_begin")
int mmp_memcg_reclaim(void *ctx)
{
	run(current_memcg_cgroup());
	return 0;
}

/* snapshot: [0] memcg.max, [1] memcg.usage, [2] memcg.pressure.full */
SEC("syscall")
int mmp_replay(struct mmp_snapshot *s)
{
	if (s->cgroup_id)
		eval(s->time_ns, s->cgroup_id, s->scope_mask, s->fields[1], s->fields[0], s->fields[2]);
	return 0;
}
