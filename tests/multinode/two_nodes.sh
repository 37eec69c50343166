#!/usr/bin/env bash
# Runs an MPI program on two "nodes" of this one machine: the host, and a network namespace with
# its own hostname and address (a veth pair on a private subnet of our own). Open MPI starts its
# daemon in the namespace through a stand-in for ssh (plm_rsh_agent), so ranks really sit on two
# nodes: MPI_COMM_TYPE_SHARED splits them by node and their traffic goes over TCP.
#
#   two_nodes.sh RANKS PROGRAM [ARGS...]     (as root; exits 77 = skipped when namespaces fail)
#
# Ranks are placed round-robin over the nodes (--map-by node). RANKPOOL_TEST_NODES=2 is passed
# to the program so tests can check that they did span two hosts.
set -euo pipefail
ranks=$1
shift
ns=rpnode${RANDOM}
host_if=rpv${RANDOM}
subnet=10.213.$((RANDOM % 200 + 20))
work=$(mktemp -d)

cleanup() {
  ip netns del "$ns" 2>/dev/null || true
  ip link del "$host_if" 2>/dev/null || true
  if [[ -f $work/hosts.orig ]]; then cat "$work/hosts.orig" > /etc/hosts; fi
  rm -rf "$work"
}
trap cleanup EXIT

if [[ $(id -u) -ne 0 ]] || ! command -v ip >/dev/null || ! command -v unshare >/dev/null; then
  echo "two_nodes: needs root, ip (iproute2) and unshare; skipped"
  exit 77
fi
if ! ip netns add "$ns" 2>"$work/err"; then
  echo "two_nodes: cannot create a network namespace ($(cat "$work/err")); skipped"
  exit 77
fi
ip link add "$host_if" type veth peer name "${host_if}n"
ip link set "${host_if}n" netns "$ns"
ip addr add "$subnet.1/24" dev "$host_if"
ip link set "$host_if" up
ip netns exec "$ns" ip addr add "$subnet.2/24" dev "${host_if}n"
ip netns exec "$ns" ip link set "${host_if}n" up
ip netns exec "$ns" ip link set lo up
cp /etc/hosts "$work/hosts.orig"
echo "$subnet.2 $ns" >> /etc/hosts

cat > "$work/agent.sh" <<AGENT
#!/bin/sh
# "ssh [options] HOST COMMAND...": run COMMAND in HOST's namespace, with HOST as hostname.
while [ \$# -gt 0 ]; do case "\$1" in -*) shift ;; *) break ;; esac; done
host=\$1; shift
exec ip netns exec "\$host" unshare --uts sh -c "hostname \$host; \$*"
AGENT
chmod +x "$work/agent.sh"
per_node=$(((ranks + 1) / 2))
printf "localhost slots=%d\n%s slots=%d\n" "$per_node" "$ns" "$per_node" > "$work/hostfile"

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpiexec --hostfile "$work/hostfile" -n "$ranks" --map-by node \
  --mca plm_rsh_agent "$work/agent.sh" \
  --mca btl self,vader,tcp --mca btl_tcp_if_include "$subnet.0/24" \
  --mca oob_tcp_if_include "$subnet.0/24" \
  -x RANKPOOL_TEST_NODES=2 "$@" 2> >(grep -v "setpgid" >&2)
