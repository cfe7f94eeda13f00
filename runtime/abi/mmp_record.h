/* Switching the snapshot channel on (runtime/abi/mmp_abi.h), between
 * bpf_object__open and bpf_object__load: the switch is a constant in
 * .rodata, which libbpf freezes, so the verifier knows its value and
 * neither verifies nor keeps the channel's code when it is off. For mmrun
 * and the tests alike. */
#ifndef MMP_RECORD_H
#define MMP_RECORD_H

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mmp_abi.h"

/* 0, or -ENOENT when the object has no channel, -ENOMEM. */
static inline int mmp_set_recording(struct bpf_object *obj, __u64 on)
{
	struct btf *btf = bpf_object__btf(obj);
	const struct btf_type *sec;
	const struct btf_var_secinfo *vars;
	struct bpf_map *map, *rodata = NULL;
	long offset = -1;
	size_t size = 0;
	const void *initial;
	void *data;
	int id, err;

	id = btf ? btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC) : -ENOENT;
	if (id < 0)
		return -ENOENT;
	sec = btf__type_by_id(btf, id);
	vars = btf_var_secinfos(sec);
	for (int i = 0; i < btf_vlen(sec); i++) {
		const struct btf_type *var = btf__type_by_id(btf, vars[i].type);
		if (strcmp(btf__name_by_offset(btf, var->name_off), MMP_VAR_RECORDING) == 0)
			offset = vars[i].offset;
	}
	bpf_object__for_each_map(map, obj) {
		const char *name = bpf_map__name(map);
		size_t n = strlen(name);
		if (bpf_map__is_internal(map) && n >= 7 && strcmp(name + n - 7, ".rodata") == 0)
			rodata = map;
	}
	initial = rodata ? bpf_map__initial_value(rodata, &size) : NULL;
	if (offset < 0 || !initial || (size_t)offset + sizeof(on) > size)
		return -ENOENT;
	data = malloc(size);
	if (!data)
		return -ENOMEM;
	memcpy(data, initial, size);
	memcpy((char *)data + offset, &on, sizeof(on));
	err = bpf_map__set_initial_value(rodata, data, size);
	free(data);
	return err;
}

#endif /* MMP_RECORD_H */
