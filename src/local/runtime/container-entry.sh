#!/bin/sh
# Runs as the first process of a container, inside fresh mount and UTS namespaces made by
# `unshare`. It gives the container its own root (an overlay over the host's / with a private
# writable layer), mounts the pod's volumes, /etc/hosts and /etc/resolv.conf, sets the pod's
# hostname, then runs the container's command in a chroot and records its exit status, so the
# runtime can learn how a container ended even if the runtime itself was down at the time.
set -eu
root="$TESSERA_ROOTFS"
mount --make-rprivate /
mount -t overlay overlay -o "lowerdir=/,upperdir=$TESSERA_UPPER,workdir=$TESSERA_WORK" "$root"
for dir in proc sys dev; do mount --rbind "/$dir" "$root/$dir"; done
# The overlay shows the root filesystem only: bring every other host mount (a separate /tmp,
# /home, ...) into the container's view at its place, parents before children, so paths such
# as the repository or the binary cache resolve wherever they live.
awk '{print $5}' /proc/self/mountinfo | sort -u | while read -r point; do
  case "$point" in /|/proc|/proc/*|/sys|/sys/*|/dev|/dev/*|"$root"|"$root"/*) continue ;; esac
  [ -d "$point" ] || continue
  mkdir -p "$root$point" 2>/dev/null && mount --bind "$point" "$root$point" 2>/dev/null || true
done
tab="$(printf '\t')"
while IFS="$tab" read -r source target mode; do
  [ -n "$source" ] || continue
  if [ -d "$source" ]; then mkdir -p "$root$target"; else mkdir -p "$root$(dirname "$target")"; [ -e "$root$target" ] || : > "$root$target"; fi
  mount --bind "$source" "$root$target"
  if [ "$mode" = ro ]; then mount -o remount,bind,ro "$root$target"; fi
done < "$TESSERA_MOUNTS"
hostname "$TESSERA_HOSTNAME"
exit_file="$TESSERA_EXIT_FILE"
workdir="${TESSERA_WORKDIR:-/}"
unset TESSERA_ROOTFS TESSERA_UPPER TESSERA_WORK TESSERA_MOUNTS TESSERA_HOSTNAME TESSERA_EXIT_FILE TESSERA_WORKDIR
# A trap with a handler (not '') keeps this shell alive until the command exits, while the
# command itself still gets the signal with its default action.
trap ':' TERM INT
set +e
chroot "$root" /bin/sh -c 'cd "$0" && exec "$@"' "$workdir" "$@"
code=$?
echo "$code" > "$exit_file"
exit "$code"
