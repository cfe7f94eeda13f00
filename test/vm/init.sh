#!/bin/busybox sh
# The initramfs's /init (run_vm.py packs it with a static busybox and the
# modules listed in /modules/order): loads the 9p, virtio and zram modules,
# mounts the host's root read-only (9p tag host0) and the results share
# (out0) at $mmp_out, and hands over to $mmp_init there. The root is
# mounted with cache=loose: nothing changes it while the guest runs, and
# caching its metadata makes starting programs 3x faster (Python 0.7 s).
# $mmp_init and $mmp_out come from the kernel command line.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

fail() {
  echo "init: $*"
  # Tell QEMU (isa-debug-exit) that the guest could not start: status 127.
  printf '\077' | dd of=/dev/port bs=1 seek=244 2>/dev/null
  poweroff -f
}

while read -r m; do
  insmod "/modules/$m.ko" || fail "insmod $m failed"
done < /modules/order
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose host0 /newroot || fail "cannot mount the host's root"
for d in run tmp var/tmp; do
  mount -t tmpfs -o mode=1777 tmpfs "/newroot/$d" || fail "cannot mount a tmpfs on /$d"
done
# Host trees the tmpfs mounts hid (a CI clone below /tmp): their own shares,
# at their own paths ($mmp_binds: TAG:PATH,...).
for b in $(echo "$mmp_binds" | tr ',' ' '); do
  tag=${b%%:*} path=${b#*:}
  mkdir -p "/newroot$path"
  mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose "$tag" "/newroot$path" || fail "cannot mount $path"
done
mkdir -p "/newroot$mmp_out"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 out0 "/newroot$mmp_out" || fail "cannot mount the results share"
for d in proc sys dev; do
  mount --move "/$d" "/newroot/$d"
done
exec switch_root /newroot /bin/sh "$mmp_init" "$mmp_out"
