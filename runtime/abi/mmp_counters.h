/* Reading a rule's counters from user space: the map is per CPU, so the
 * kernel returns one struct per possible CPU, summed here. For mmrun, the
 * tests and the benchmarks alike. */
#ifndef MMP_COUNTERS_H
#define MMP_COUNTERS_H

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdlib.h>
#include <string.h>

#include "mmp_abi.h"

/* 0, or a negative errno (the lookup's, or -ENOMEM). */
static inline int mmp_read_counters(int counters_fd, __u32 rule, struct mmp_rule_counters *sum)
{
	int cpus = libbpf_num_possible_cpus();
	struct mmp_rule_counters *per_cpu;
	int err;

	memset(sum, 0, sizeof(*sum));
	if (cpus <= 0)
		return cpus ? cpus : -1;
	per_cpu = (struct mmp_rule_counters *)calloc((size_t)cpus, sizeof(*per_cpu));
	if (!per_cpu)
		return -12; /* ENOMEM */
	err = bpf_map_lookup_elem(counters_fd, &rule, per_cpu);
	for (int i = 0; !err && i < cpus; i++) {
		sum->evaluations += per_cpu[i].evaluations;
		sum->firings += per_cpu[i].firings;
		sum->drops += per_cpu[i].drops;
	}
	free(per_cpu);
	return err;
}

#endif /* MMP_COUNTERS_H */
