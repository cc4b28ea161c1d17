#!/usr/bin/env bash
# Fuzzes the PKI file readers (fuzz/Alex.Pki.Fuzz) with AFL++ for a bounded time and fails on any crash:
# any exception other than PkiException, a hang, or the process dying. Needs Debian's afl++ and openssl.
# Usage: fuzz/run.sh [seconds]   (default 45; .ci/run runs it before ./test.sh)
# A crash is copied to fuzz/crashes/ (replayed by HostileInputTests) and replayed here to show the exception.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
seconds=${1:-45}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

dotnet tool restore >/dev/null
dotnet publish fuzz/Alex.Pki.Fuzz/Alex.Pki.Fuzz.csproj -c Release -o "$work/bin" -nologo -v:q
dotnet tool run sharpfuzz "$work/bin/Alex.Pki.dll" >/dev/null

# Seeds minted now (no key material in git): each kind of file the readers meet, PEM and DER, small.
mkdir -p "$work/seeds" "$work/make"
cd "$work/make"
openssl ecparam -name prime256v1 -genkey -noout -out ec.key 2>/dev/null
openssl req -new -key ec.key -subj /CN=laptop -out "$work/seeds/ec.csr"
openssl req -x509 -key ec.key -subj /CN=ca -days 30 -out "$work/seeds/ec.crt"
openssl x509 -in "$work/seeds/ec.crt" -outform DER -out "$work/seeds/ec.der"
openssl genpkey -algorithm ed25519 -out "$work/seeds/ed.key"
openssl req -new -key "$work/seeds/ed.key" -subj /CN=ed -out "$work/seeds/ed.csr"
openssl pkcs8 -topk8 -nocrypt -in ec.key -out "$work/seeds/ec-pkcs8.key"
printf '[ca]\ndefault_ca=c\n[c]\ndatabase=index.txt\ncrlnumber=n\ndefault_md=sha256\ndefault_crl_days=30\ncertificate=%s\nprivate_key=ec.key\n' "$work/seeds/ec.crt" > ca.cnf
: > index.txt; echo 01 > n
openssl ca -config ca.cnf -gencrl -out "$work/seeds/crl.pem" 2>/dev/null
printf '{"version":1,"lastCrlNumber":2,"certificates":[{"serial":"0A","name":"laptop","role":"Client","subject":"CN=laptop","notBefore":"2026-01-01T00:00:00Z","notAfter":"2027-01-01T00:00:00Z","sha256Fingerprint":"00"}]}\n' > "$work/seeds/issued.json"
cd "$work"

export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 AFL_QUIET=1
afl-fuzz -V "$seconds" -t 10000 -m none -i seeds -o findings -- dotnet bin/Alex.Pki.Fuzz.dll >afl.log 2>&1 || {
  echo "fuzz: afl-fuzz failed:"; tail -20 afl.log; exit 1; }

stats=$(find findings -name fuzzer_stats | head -1)
execs=$(sed -n 's/^execs_done *: *//p' "$stats")
paths=$(sed -n 's/^corpus_count *: *//p' "$stats")
mapfile -t crashes < <(find findings -path '*/crashes/id:*' -type f)
mapfile -t hangs < <(find findings -path '*/hangs/id:*' -type f)
echo "fuzz: ${seconds}s, ${execs:-?} inputs, ${paths:-?} in the corpus, ${#crashes[@]} crashes, ${#hangs[@]} hangs"
if [ ${#crashes[@]} -gt 0 ] || [ ${#hangs[@]} -gt 0 ]; then
  mkdir -p "$repo/fuzz/crashes"
  for f in "${crashes[@]}" "${hangs[@]}"; do
    cp "$f" "$repo/fuzz/crashes/$(sha256sum "$f" | cut -c1-16)"
  done
  echo "fuzz: copied to fuzz/crashes/; the first one replayed:"
  dotnet bin/Alex.Pki.Fuzz.dll "${crashes[0]:-${hangs[0]}}" 2>&1 | head -15 || true
  exit 1
fi
