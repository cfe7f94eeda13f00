// What mmrun does before libbpf sees an object: libbpf 1.1.2 (Debian 12)
// crashes on some malformed objects (a BTF member type out of range), and
// a reload must never take the running daemon down with it.
#pragma once

#include <functional>
#include <string>

#include <llvm/Support/Error.h>

struct bpf_object;

namespace mmp::runtime {

// The ELF's layout, read with libelf: the section headers and every
// section's bytes lie inside the file, links name existing sections,
// symbol and relocation tables have whole entries.
llvm::Error checkElfLayout(const std::string& path);

// Runs `open` (libbpf's open and load of the object) in a child process
// first: the child's crash is reported as an error naming the signal;
// otherwise the caller does the same in this process (and finds any error
// of the child's again).
llvm::Error probeInChild(const std::string& path, const std::function<bool()>& open);

// Before a probe's load: the load goes through every step of libbpf's
// that reads the object, where 1.1.2 crashes on malformed ones, and stops
// before the kernel verifies a program (the parent verifies them once,
// not twice: under QEMU's TCG the second verification was seconds of a
// policy's start). Hash maps of one entry and ring buffers of one page,
// so that the child's copy costs little memory (the state map alone may
// take 64 MiB).
void prepareProbe(struct bpf_object* obj);

}  // namespace mmp::runtime
