/* Constants mmrun sets between bpf_object__open and bpf_object__load
 * (runtime/abi/mmp_abi.h): the switch of the snapshot channel, and the
 * running kernel's slots (runtime/stat_slots.h). They are in .rodata, which
 * libbpf freezes, so the verifier knows their values: with the channel
 * off, it neither verifies nor keeps its code. For mmrun and the tests
 * alike. */
#ifndef MMP_RECORD_H
#define MMP_RECORD_H

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mmp_abi.h"

/* Writes `len` bytes to the .rodata variable `name`: 0, or -ENOENT when
 * the object has no such variable (or it is shorter), -ENOMEM. */
static inline int mmp_set_rodata(struct bpf_object *obj, const char *name, const void *value, size_t len)
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
		if (strcmp(btf__name_by_offset(btf, var->name_off), name) == 0 && vars[i].size >= len)
			offset = vars[i].offset;
	}
	bpf_object__for_each_map(map, obj) {
		const char *name = bpf_map__name(map);
		size_t n = strlen(name);
		if (bpf_map__is_internal(map) && n >= 7 && strcmp(name + n - 7, ".rodata") == 0)
			rodata = map;
	}
	initial = rodata ? bpf_map__initial_value(rodata, &size) : NULL;
	if (offset < 0 || !initial || (size_t)offset + len > size)
		return -ENOENT;
	data = malloc(size);
	if (!data)
		return -ENOMEM;
	memcpy(data, initial, size);
	memcpy((char *)data + offset, value, len);
	err = bpf_map__set_initial_value(rodata, data, size);
	free(data);
	return err;
}

/* 0, or -ENOENT when the object has no channel, -ENOMEM. */
static inline int mmp_set_recording(struct bpf_object *obj, __u64 on)
{
	return mmp_set_rodata(obj, MMP_VAR_RECORDING, &on, sizeof(on));
}

#endif /* MMP_RECORD_H */
