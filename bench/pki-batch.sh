#!/usr/bin/env bash
# Times `alex pki issue --batch` for a class of 40 teams (80 certificates, each with its key, in one
# ledger transaction), against a baseline in the same run: the same 80 keys and certificates made by
# the openssl CLI (genpkey + req + x509 -req per certificate), as a TA's script would.
# Usage: bench/pki-batch.sh [runs]   (default 5); prints median and range of each, and the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
dotnet build src/Alex.Cli/Alex.Cli.csproj -c Release -nologo -v:q -clp:ErrorsOnly >/dev/null
alex="dotnet $PWD/src/Alex.Cli/bin/Release/net10.0/alex.dll"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
{ echo "team,robot,laptop,ip"; for i in $(seq 1 40); do echo "team$i,,,192.168.1.$((100 + i))"; done; } > "$work/teams.csv"

seconds() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc; }
ours=(); theirs=()
for r in $(seq 1 "$runs"); do
  rm -rf "$work/class" "$work/ossl"
  $alex pki init --dir "$work/class" >/dev/null
  ours+=("$(seconds $alex pki issue --batch "$work/teams.csv" --dir "$work/class")")
  mkdir -p "$work/ossl"; cp "$work/class/signing.pem" "$work/class/signing.key" "$work/ossl/"
  theirs+=("$(seconds bash -c '
    cd "$1"
    for i in $(seq 1 40); do
      for who in alex laptop; do
        openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out t$i-$who.key
        openssl req -new -key t$i-$who.key -subj /CN=t$i-$who -out t$i-$who.csr
        openssl x509 -req -in t$i-$who.csr -CA signing.pem -CAkey signing.key -CAcreateserial -days 365 -out t$i-$who.crt
      done
    done' _ "$work/ossl")")
done

stats() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {printf "median %.2f s, range %.2f-%.2f s", a[int((NR+1)/2)], a[1], a[NR]}'; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "alex pki issue --batch, 40 teams (80 certificates): $(stats "${ours[@]}") over $runs runs"
echo "openssl CLI, the same 80 keys and certificates:      $(stats "${theirs[@]}") over $runs runs"
echo "ratio of medians (alex / openssl): $(echo "scale=2; $(median "${ours[@]}") / $(median "${theirs[@]}")" | bc)"
echo "machine: $(nproc) CPUs, $(uname -sr), load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u '+%Y-%m-%d %H:%M UTC')"
