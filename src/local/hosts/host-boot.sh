#!/bin/sh
# Boots one local host. Runs as PID 1 of the host's fresh PID namespace, inside its own mount and
# UTS namespaces and its network namespace (entered by `nsenter --net` before `unshare`). It
# assembles the host's root (an overlay with the box's / below the host's own disk), gives the
# host its own /proc, /sys, /run, /dev/pts and /dev/shm, its own copy of the kernel settings a
# kubelet would change, then makes that root the host's / and execs runit's runsvdir as the
# host's init, which starts Debian's own sshd service like on any freshly installed server.
#
# Arguments: HOST_DIR NAME. HOST_DIR holds disk/upper, disk/work, disk/containerd, kernel/ and
# rootfs/ (the mount point), laid out by src/local/hosts/host-disk.ts.
set -eu
host_dir="$1"
name="$2"
root="$host_dir/rootfs"
disk="$host_dir/disk"

# Nothing mounted here may propagate back to the box.
mount --make-rprivate /
mkdir -p "$root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$disk/upper,workdir=$disk/work" "$root"

mount -t proc proc "$root/proc"
# A sysfs mounted inside the host's network namespace lists the host's own interfaces.
mount -t sysfs sysfs "$root/sys"
mount --rbind /sys/fs/cgroup "$root/sys/fs/cgroup"
mount --rbind /dev "$root/dev"
mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs "$root/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$root/dev/pts"
mount --bind "$root/dev/pts/ptmx" "$root/dev/ptmx"
mount -t tmpfs -o nosuid,nodev,mode=0755 tmpfs "$root/run"
# containerd's overlay snapshotter cannot put its layers on an overlay: give it a plain
# directory of the host's disk.
mkdir -p "$root/var/lib/containerd"
mount --bind "$disk/containerd" "$root/var/lib/containerd"

# Kernel settings are global to the machine. A kubelet writes vm.overcommit_memory,
# kernel.panic and friends at start; on this host it writes the host's own copies.
for file in "$host_dir"/kernel/*; do
  [ -f "$file" ] || continue
  setting="$(basename "$file")"
  mount --bind "$file" "$root/proc/sys/$(echo "$setting" | tr . /)"
done

hostname "$name"

cd "$root"
pivot_root . mnt
cd /
umount -l /mnt
# Mounts made on the host from now on (kubelet volumes, container roots) may be shared between
# the host's own mount points, as on a server; they stay inside this mount namespace.
mount --make-rshared /

# What Debian's runit stage 2 (/etc/runit/2) prepares before it starts runsvdir; its sysv
# emulation is left out, so only the runit services (Debian's own ssh service among them) run.
mkdir -p /run/runit/supervise /run/runit/sv
for service in /etc/service/*/; do
  [ -d "${service}log" ] && mkdir -p "/var/log/runit/$(basename "$service")"
done
exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb \
  runsvdir -P /etc/service
