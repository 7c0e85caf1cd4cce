#!/usr/bin/env bash
# A real Slurm on this machine runs examples/slurm/segment_array.sbatch as a 3-task job array over 6
# small CTs (one corrupt): Debian's munge, slurmctld and slurmd (installed by tools/setup-debian.sh),
# a one-node cluster on localhost (proctrack/linuxproc, no cgroups), started under a scratch folder
# and shut down afterwards whatever happens. Checks every output and the reports.
#   run_slurm_test.sh SWINSMT_BINARY WEIGHTS SMALL_CT SOURCE_DIR
set -euo pipefail
swinsmt="$1" weights="$2" small_ct="$3" source_dir="$4"
for tool in munged slurmctld slurmd sbatch sinfo scontrol; do
  command -v "$tool" > /dev/null || { echo "FAIL: $tool is missing: run tools/setup-debian.sh" >&2; exit 1; }
done
work=$(mktemp -d /tmp/swinsmt_slurm_XXXXXX)
pids=()
cleanup() {
  SLURM_CONF="$work/slurm.conf" scontrol shutdown > /dev/null 2>&1 || true
  for pid in "${pids[@]}"; do kill "$pid" 2> /dev/null || true; done
  sleep 1
  for pid in "${pids[@]}"; do kill -9 "$pid" 2> /dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for log in "$work"/*.log "$work"/out/*.log; do [[ -f "$log" ]] && { echo "== $log" >&2; tail -20 "$log" >&2; }; done
  exit 1
}

# munge: its own key and socket in the scratch folder (root may run it with --force).
dd if=/dev/urandom of="$work/munge.key" bs=1024 count=1 status=none
chmod 600 "$work/munge.key"
munged --force --key-file="$work/munge.key" --socket="$work/munge.socket" --pid-file="$work/munged.pid" \
  --log-file="$work/munged.log" --seed-file="$work/munged.seed" || fail "munged did not start"
pids+=("$(cat "$work/munged.pid")")

# Free ports for the controller and the node daemon.
ports=($(python3 -c 'import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])'))
node=$(hostname -s)
cpus=$(nproc)
mkdir -p "$work/state" "$work/spool" "$work/out"
cat > "$work/slurm.conf" << CONF
ClusterName=swinsmt-test
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=${ports[0]}
SlurmdPort=${ports[1]}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$work/munge.socket
CredType=cred/munge
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=none
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=test Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$work/slurm.conf"
slurmctld -D -i > "$work/slurmctld.out.log" 2>&1 &
pids+=($!)
slurmd -D > "$work/slurmd.out.log" 2>&1 &
pids+=($!)
for _ in $(seq 60); do
  sinfo -h -o %t 2> /dev/null | grep -q idle && break
  sleep 1
done
sinfo -h -o %t | grep -q idle || fail "the Slurm node did not become idle within 60 s"

# Six small CTs, one corrupt; the job array's three tasks take two each.
mkdir -p "$work/in"
for i in 0 1 2 3 4 5; do cp "$small_ct" "$work/in/ct$i.nii.gz"; done
echo "not a NIfTI file" > "$work/in/ct4.nii.gz"
cd "$work"
status=0
INPUT="$work/in" OUTPUT="$work/out" WEIGHTS="$weights" SWINSMT="$swinsmt" SCRATCH="$work" \
  EXTRA="--roi 64 --spacing 6" timeout 600 \
  sbatch --wait --array=0-2 --cpus-per-task=1 --mem=0 --time=10 --output="$work/out/task_%a.log" \
  "$source_dir/examples/slurm/segment_array.sbatch" > "$work/sbatch.log" 2>&1 || status=$?
# The task holding the corrupt case exits 2: sbatch --wait reports the array as failed.
[[ $status -ne 124 ]] || fail "the job array did not finish within 600 s"
[[ $status -ne 0 ]] || fail "sbatch --wait reported success although one case is corrupt"
for i in 0 1 2 3 5; do
  [[ -s "$work/out/ct$i.nii.gz" && -s "$work/out/ct$i.swinsmt.json" ]] || fail "ct$i was not segmented"
done
[[ ! -e "$work/out/ct4.nii.gz" ]] || fail "the corrupt case has an output"
lines=$(cat "$work"/out/reports/report_*.jsonl | wc -l)
[[ $lines -eq 6 ]] || fail "the reports hold $lines lines, expected 6"
[[ $(cat "$work"/out/reports/report_*.jsonl | grep -c '"status":"done"') -eq 5 ]] || fail "expected 5 done cases"
grep -q '"status":"failed"' "$work/out/reports/report_1.jsonl" || fail "ct4 (task 1: ct1, ct4) not reported failed"
for task in 0 1 2; do
  grep -q "shard $task/3 (from SLURM_ARRAY_TASK_ID): 2 of 6 volumes" "$work/out/task_$task.log" ||
    fail "task $task did not take shard $task/3"
done
echo "PASS: a 3-task Slurm job array segmented 5 of 6 CTs and reported the corrupt one"
