# PID 1 of the guest, in the host's root (read-only over 9p), started by the
# initramfs's init.sh: mounts what the guest programs need (cgroup v2 with
# the memory controller, bpffs, debugfs and tracefs, loopback), makes a
# zram swap device, runs the guest program as its child (guest.py, the VM
# tests; $mmp_program from the kernel command line instead: the arena's
# bench/arena/arena_guest.py), and returns its verdict through
# isa-debug-exit (run_vm.py reads it).
#   sh guest-init.sh OUT_DIR
out="$1"
here=$(dirname "$0")
program=${mmp_program:-$here/guest.py}
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/tmp PYTHONDONTWRITEBYTECODE=1

verdict() {
  # One byte to the isa-debug-exit port; QEMU exits with (byte << 1) | 1.
  printf "\\$(printf '%03o' "$1")" | busybox dd of=/dev/port bs=1 seek=244 2>/dev/null
  busybox poweroff -f
}

mount -t cgroup2 cgroup2 /sys/fs/cgroup || { echo "guest: no cgroup2"; verdict 126; }
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
echo +memory > /sys/fs/cgroup/cgroup.subtree_control || { echo "guest: no memory controller"; verdict 126; }
busybox ip link set lo up 2>/dev/null
mkdir -p /run/systemd /run/user

# Swap on zram, so that anonymous memory can be reclaimed.
echo 256M > /sys/block/zram0/disksize && busybox mkswap /dev/zram0 >/dev/null && busybox swapon /dev/zram0 \
  || echo "guest: no zram swap (reclaim of anonymous memory will fail)"

/usr/bin/python3 "$program" "$out"
rc=$?
[ $rc -le 1 ] || { echo "guest: $program exited $rc; the kernel's last words:"; dmesg | tail -40; }
case $rc in
  0) verdict 1 ;;
  1) verdict 2 ;;
  *) verdict 125 ;;
esac
