#!/usr/bin/env bash
# Runs every test in the solution and ends with one plain line: "N passed, N failed".
# Usage: ./test.sh [extra `dotnet test` arguments, e.g. --filter FullyQualifiedName~Serial]
set -uo pipefail
cd "$(dirname "$0")"
results="$PWD/TestResults"
rm -rf "$results"
mkdir -p "$results"

if ! dotnet build Alex.slnx -nologo -v:q -clp:ErrorsOnly; then
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi

dotnet test Alex.slnx --no-build -nologo \
  --logger "trx" --logger "console;verbosity=minimal" \
  --results-directory "$results" "$@"
rc=$?

# With ALEX_AOT_EXE (the shipped NativeAOT `alex`, built by build/publish.sh linux-x64), the test classes that run the
# `alex` executable run again against it: what users run must pass the same end-to-end cases.
if [ -n "${ALEX_AOT_EXE:-}" ]; then
  classes=(AdminStatusTests ClassBatchTests ConnectingCommandsTests DemoTests DemoWebTests DoctorCommandTests
    DriveLineModeTests DriveTerminalTests GatewayLossTests HostileInputTests LabCommandTests PkiCliTests
    PrintedCommandTests PtyEndToEndTests RecordCommandTests RevocationDurabilityTests SendCommandTests ServeCommandTests
    ServeInstallCommandTests WebCommandTests BrowserEndToEndTests ServerLidarTests TeamExtensionsTests FleetServeTests ServerMapTests
    FleetPageTests FleetPageBrokerLossTests ReplayWebTests MapBrowserTests)
  filter=$(printf 'FullyQualifiedName~.%s.|' "${classes[@]}")
  echo "again against the NativeAOT build $ALEX_AOT_EXE: ${classes[*]}"
  ALEX_TEST_EXE="$ALEX_AOT_EXE" dotnet test Alex.slnx --no-build -nologo \
    --logger "trx" --logger "console;verbosity=minimal" \
    --results-directory "$results/aot" --filter "${filter%|}"
  aot_rc=$?
  [ "$rc" -ne 0 ] || rc=$aot_rc
fi

passed=0; failed=0; total=0
for trx in "$results"/*.trx "$results"/aot/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  t=$(sed -n 's/.* total="\([0-9]*\)".*/\1/p' <<<"$counters")
  e=$(sed -n 's/.* error="\([0-9]*\)".*/\1/p' <<<"$counters")
  x=$(sed -n 's/.* timeout="\([0-9]*\)".*/\1/p' <<<"$counters")
  a=$(sed -n 's/.* aborted="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0} + ${e:-0} + ${x:-0} + ${a:-0}))
  total=$((total + ${t:-0}))
done

# A crashed or aborted test host can leave the counters short: never report success then.
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
  echo "dotnet test exited with $rc without a counted failure (crash, abort or timeout)"
  failed=1
fi
if [ "$total" -eq 0 ]; then
  echo "no tests ran"
  failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
