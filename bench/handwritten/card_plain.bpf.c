// SPDX-License-Identifier: GPL-2.0
/* card.mmp's rule and nothing else, as one would write it for one machine:
 *   when memcg.pressure > 60% reclaim anon first
 * the cgroup's memory pressure (some, avg10) read by direct loads, and a
 * 16-byte suggestion (cgroup id, pressure) in a ring buffer when it is over
 * 60%. No scope, no protection, no counters, no cooldown, no versioned
 * record, no replay: the floor that mmpc's card (every feature kept) is
 * measured against (issue 16's goal: within 1.25x). */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} suggestions SEC(".maps");

struct suggestion {
	__u64 cgroup_id;
	__u64 pressure;
};

static __always_inline void run(struct cgroup *cgrp)
{
	/* avg[PSI_MEM_SOME][0] (BTF flattens the 3 averages of each state):
	 * 2048 per percent, so 60% is 122880. */
	unsigned long avg = cgrp->psi->avg[bpf_core_enum_value(enum psi_states, PSI_MEM_SOME) * 3];
	struct suggestion *s;

	if (avg <= 60 * 2048)
		return;
	s = bpf_ringbuf_reserve(&suggestions, sizeof(*s), 0);
	if (!s)
		return;
	s->cgroup_id = cgrp->kn->id;
	s->pressure = avg;
	bpf_ringbuf_submit(s, 0);
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
	struct task_struct *task = bpf_get_current_task_btf();

	run(task->cgroups->subsys[bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id)]->cgroup);
	return 0;
}
