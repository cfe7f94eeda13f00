// SPDX-License-Identifier: GPL-2.0
/* card.mmp by hand:
 *   when memcg.pressure > 60% reclaim anon first
 * Rule 0, scope bit 0, cooldown 1s (reclaim's default; state word 0), decision values:
 * memcg.pressure. The same hooks, maps and decisions as `mmpc compile`. */
#define MMP_NSTATE 1
#define MMP_NRULES 1
#include "mmp_bpf.h"

static __always_inline void eval(__u64 now, __u64 cgid, __u64 mask, __u64 pressure)
{
	struct mmp_rule_counters *c;
	__u64 *st;

	if (!(mask & 1) || !(c = counters(0)))
		return;
	c->evaluations++;
	if (pressure <= 60000)
		return;
	st = state_of(cgid);
	if (!st || cooling(&st[0], now, NSEC_PER_SEC))
		return;
	st[0] = now;
	c->firings++;
	decide(c, MMP_ACTION_RECLAIM, 0, cgid, now, 0,
	       MMP_RECLAIM_ANON | MMP_RECLAIM_FIRST | MMP_ARG_DEFAULT, pressure, 0);
}

static __always_inline void run(struct cgroup *cgrp)
{
	__u64 now = bpf_ktime_get_ns();
	__u64 id = cgrp->kn->id;
	__u64 *mask = bpf_map_lookup_elem(&mmp_scopes, &id);

	if (mask)
		eval(now, id, *mask, psi(cgrp->psi->avg[6]));
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

SEC("syscall")
int mmp_replay(struct mmp_snapshot *s)
{
	if (s->cgroup_id)
		eval(s->time_ns, s->cgroup_id, s->scope_mask, s->fields[0]);
	return 0;
}
