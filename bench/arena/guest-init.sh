# PID 1 of the arena's guest, in the host's root (read-only over 9p),
# started by test/vm/init.sh: mounts cgroup v2 with the memory controller,
# bpffs and debugfs, runs arena_guest.py as its child, and returns its
# status through isa-debug-exit (run_arena.py reads it). Swap is set per
# cell by arena_guest.py (zram0).
#   sh guest-init.sh OUT_DIR
out="$1"
here=$(dirname "$0")
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/tmp PYTHONDONTWRITEBYTECODE=1

verdict() {
  printf "\\$(printf '%03o' "$1")" | busybox dd of=/dev/port bs=1 seek=244 2>/dev/null
  busybox poweroff -f
}

mount -t cgroup2 cgroup2 /sys/fs/cgroup || { echo "arena guest: no cgroup2"; verdict 126; }
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
echo +memory > /sys/fs/cgroup/cgroup.subtree_control || { echo "arena guest: no memory controller"; verdict 126; }
ip link set lo up 2>/dev/null || busybox ip link set lo up
mkdir -p /run/systemd /run/user /var/tmp

/usr/bin/python3 "$here/arena_guest.py" "$out"
rc=$?
[ $rc -eq 0 ] || { echo "arena guest: the harness exited $rc; the kernel's last words:"; dmesg | tail -40; }
case $rc in
  0) verdict 1 ;;
  *) verdict 2 ;;
esac
