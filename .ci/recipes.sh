#!/usr/bin/env bash
# The README's cluster recipes, run for real on one machine (not part of .ci/run: it needs root,
# sshd and Slurm). As root on Debian 12:
#
#   .ci/recipes.sh            # both: GNU parallel over two SSH "hosts", then a Slurm job array
#   .ci/recipes.sh ssh        # only the GNU parallel one
#   .ci/recipes.sh slurm      # only the Slurm one
#
# Each plans a tiny sweep (2 L1 values x 2 seeds, 1 epoch of a 20-unit network), runs the plan
# through the scheduler, collects it, and checks that the table is the in-process sweep's for
# the same seeds (the seconds column aside). It installs what it needs with apt-get, starts
# sshd on port 2222 and a single-node Slurm (slurmctld, slurmd, munge) on this host, and stops
# the daemons it started when it ends. Work files go to $WORK (default: a fresh /tmp folder),
# which must be a path every "host" sees: here they are all this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:-all}
WORK=${WORK:-$(mktemp -d /tmp/relutui-recipes.XXXXXX)}
mkdir -p "$WORK"
export CARGO_TERM_COLOR=never

need() { command -v "$1" >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2"; }; }
need parallel parallel
cargo build --locked -q
BIN=$(pwd)/target/debug/relutui
FLAGS=(--l1 0,0.001 --repeats 2 --epochs 1 --hidden 20)

# The rows of a sweep summary without the seconds column: what must not depend on scheduling.
table() {
	awk '/^sparsity: mean over hidden layers/ {on = 1}
	     on && !/^figure:/ { if (NF == 10 && $4 == "%" && $6 == "%") { NF = 9 }; print }' "$1"
}

"$BIN" sweep "${FLAGS[@]}" --jobs 2 --out-dir "$WORK/in-process" >"$WORK/in-process.txt"
table "$WORK/in-process.txt" >"$WORK/in-process.table"

check() { # $1: name, $2: the collect output
	table "$2" >"$2.table"
	[[ $(grep -c ' % ' "$2.table") -ge 4 ]] || { cat "$2"; echo "recipes: $1: no table" >&2; exit 1; }
	grep -q ': 4 runs planned: 4 finished, 0 running, 0 stopped, 0 not started' "$2" ||
		{ cat "$2"; echo "recipes: $1: not every run finished" >&2; exit 1; }
	diff -u "$WORK/in-process.table" "$2.table" ||
		{ echo "recipes: $1: the table differs from the in-process sweep's" >&2; exit 1; }
	echo "recipes: $1: 4 runs finished, the table is the in-process sweep's"
}

cleanup=()
trap 'for c in "${cleanup[@]}"; do eval "$c" || true; done' EXIT

if [[ $which == all || $which == ssh ]]; then
	need sshd openssh-server
	mkdir -p /run/sshd ~/.ssh && chmod 700 ~/.ssh
	[[ -f ~/.ssh/relutui_recipes ]] || ssh-keygen -q -t ed25519 -N '' -f ~/.ssh/relutui_recipes
	grep -qF "$(cat ~/.ssh/relutui_recipes.pub)" ~/.ssh/authorized_keys 2>/dev/null ||
		cat ~/.ssh/relutui_recipes.pub >>~/.ssh/authorized_keys
	chmod 600 ~/.ssh/authorized_keys
	/usr/sbin/sshd -p 2222 -o PidFile="$WORK/sshd.pid" -o PermitRootLogin=prohibit-password
	cleanup+=("kill \$(cat '$WORK/sshd.pid')")
	# Two "hosts", both this machine, under the names hosts.txt gives them.
	cat >"$WORK/ssh_config" <<-EOF
		Host relutui-a relutui-b
		  HostName localhost
		  Port 2222
		  User root
		  IdentityFile ~/.ssh/relutui_recipes
		  StrictHostKeyChecking accept-new
		  UserKnownHostsFile $WORK/known_hosts
	EOF
	printf '1/ssh -F %s relutui-a\n1/ssh -F %s relutui-b\n' "$WORK/ssh_config" "$WORK/ssh_config" >"$WORK/hosts.txt"
	"$BIN" sweep "${FLAGS[@]}" --program "$BIN" --plan --out-dir "$WORK/ssh" >"$WORK/ssh-plan.txt"
	parallel --sshloginfile "$WORK/hosts.txt" --joblog "$WORK/ssh/joblog" --halt now,fail=1 \
		<"$WORK/ssh-plan.txt" >/dev/null
	# Both hosts ran lines (column 2 of the joblog names the host).
	awk -F'\t' 'NR > 1 {print $2}' "$WORK/ssh/joblog" | sort -u | tr '\n' ' '
	echo
	[[ $(awk -F'\t' 'NR > 1 {print $2}' "$WORK/ssh/joblog" | sort -u | wc -l) == 2 ]] ||
		{ echo "recipes: ssh: the lines did not go to both hosts" >&2; exit 1; }
	"$BIN" sweep --collect "$WORK/ssh" >"$WORK/ssh.txt"
	check "GNU parallel --sshloginfile (2 hosts)" "$WORK/ssh.txt"
	# Table 1's protocol through the same hosts: the same table as the in-process command.
	PAPER=(--dataset mnist10k --activations rectifier,tanh --lr-grid 0.1,0.01 --epochs 2 --hidden 20 --patience 5)
	"$BIN" paper "${PAPER[@]}" --jobs 2 --out-dir "$WORK/paper-in-process" >"$WORK/paper-in-process.txt"
	"$BIN" paper "${PAPER[@]}" --plan --out-dir "$WORK/paper-ssh" >"$WORK/paper-plan.txt"
	parallel --sshloginfile "$WORK/hosts.txt" --joblog "$WORK/paper-ssh/joblog" --halt now,fail=1 \
		<"$WORK/paper-plan.txt" >/dev/null
	"$BIN" paper --collect "$WORK/paper-ssh" >"$WORK/paper-ssh.txt"
	rows() { awk '/^Table 1/ {on = 1} on && /^$/ {exit} on' "$1"; }
	grep -q ': 4 runs planned: 4 finished, 0 running, 0 stopped, 0 not started' "$WORK/paper-ssh.txt" ||
		{ cat "$WORK/paper-ssh.txt"; echo "recipes: paper: not every run finished" >&2; exit 1; }
	[[ $(rows "$WORK/paper-ssh.txt" | grep -c ' done$') == 2 ]] &&
		diff -u <(rows "$WORK/paper-in-process.txt") <(rows "$WORK/paper-ssh.txt") ||
		{ echo "recipes: paper: Table 1 differs from the in-process command's" >&2; exit 1; }
	echo "recipes: paper through GNU parallel --sshloginfile (2 hosts): Table 1 is the in-process command's"
fi

if [[ $which == all || $which == slurm ]]; then
	need slurmctld slurmctld
	need slurmd slurmd
	need munged munge
	need sbatch slurm-client
	host=$(hostname -s)
	mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/munge
	chown munge:munge /run/munge 2>/dev/null || true
	[[ -f /etc/munge/munge.key ]] || /usr/sbin/mungekey --create
	cat >/etc/slurm/slurm.conf <<-EOF
		ClusterName=relutui
		SlurmctldHost=$host
		SlurmUser=root
		SlurmdUser=root
		AuthType=auth/munge
		StateSaveLocation=/var/spool/slurmctld
		SlurmdSpoolDir=/var/spool/slurmd
		SlurmctldPidFile=/run/slurmctld.pid
		SlurmdPidFile=/run/slurmd.pid
		SlurmctldLogFile=/var/log/slurm/slurmctld.log
		SlurmdLogFile=/var/log/slurm/slurmd.log
		ProctrackType=proctrack/linuxproc
		TaskPlugin=task/none
		SelectType=select/cons_tres
		SelectTypeParameters=CR_Core
		ReturnToService=2
		MpiDefault=none
		NodeName=$host CPUs=2 State=UNKNOWN
		PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
	EOF
	if ! [[ -S /run/munge/munge.socket.2 ]]; then
		/usr/sbin/munged --force
		cleanup+=("kill \$(cat /run/munge/munged.pid)")
	fi
	/usr/sbin/slurmctld
	cleanup+=("kill \$(cat /run/slurmctld.pid)")
	/usr/sbin/slurmd
	cleanup+=("kill \$(cat /run/slurmd.pid)")
	for _ in $(seq 60); do sinfo -h -o %T 2>/dev/null | grep -qE '^idle' && break; sleep 1; done
	sinfo
	# The README's array script, with the tiny sweep's flags and this folder.
	mkdir -p "$WORK/slurm"
	cat >"$WORK/sweep.sbatch" <<-EOF
		#!/bin/bash
		#SBATCH --job-name=relutui-sweep
		#SBATCH --array=1-4
		#SBATCH --cpus-per-task=1
		#SBATCH --time=00:10:00
		#SBATCH --output=$WORK/slurm/slurm-%A_%a.out
		$BIN sweep --task "\$SLURM_ARRAY_TASK_ID" --out-dir $WORK/slurm ${FLAGS[*]}
	EOF
	sbatch --wait "$WORK/sweep.sbatch"
	"$BIN" sweep --collect "$WORK/slurm" >"$WORK/slurm.txt"
	check "Slurm job array (sbatch --wait, 1 node, 2 CPUs)" "$WORK/slurm.txt"
fi
echo "recipes: all passed; the files are in $WORK"
