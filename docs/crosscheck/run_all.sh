#!/bin/sh
# Cross-check of Rnnx's training pipeline against an independent PyTorch implementation of the Keras semantics
# (docs/crosscheck/README.md). Needs: apt-get install -y python3-numpy python3-torch (Debian's /usr/bin/python3)
# and the .NET 10 SDK. Everything is built and written in $WORK (default /tmp/rnnx-crosscheck), never in the repo.
# WORKTREE=1 copies the working tree (uncommitted changes included) instead of HEAD.
set -e
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
WORK=${WORK:-/tmp/rnnx-crosscheck}
PY=${PY:-/usr/bin/python3}
mkdir -p "$WORK"
cp -r "$here/dump" "$here"/*.py "$WORK/"
cd "$WORK"
# 1. a copy of the Rnnx sources
if [ ! -d rnnx ]; then
  mkdir rnnx
  srcs="Directory.Build.props Directory.Packages.props Rnnx.Core Rnnx.Layers Rnnx.Optimizers Rnnx.Cli"
  if [ -n "$WORKTREE" ]; then
    (cd "$repo" && tar -c --exclude=bin --exclude=obj $srcs) | tar -x -C rnnx
    (cd "$repo" && echo "$(git rev-parse HEAD) + working tree $(date -u +%FT%TZ)") > rnnx/COMMIT
  else
    (cd "$repo" && git archive HEAD $srcs) | tar -x -C rnnx
    (cd "$repo" && git rev-parse HEAD) > rnnx/COMMIT
  fi
fi
# 2. the dumper and the CLI
dotnet build -c Release dump/Dump.csproj
dotnet build -c Release rnnx/Rnnx.Cli/Rnnx.Cli.csproj
# 3. dump, replay in torch (float64 and float32)
for m in linear deep_rnn s2s_rnn; do
  dotnet dump/bin/Release/net10.0/Dump.dll $m 42 out/${m}_42
  $PY torch_check.py out/${m}_42 --json out/${m}_42/torch.json | tee out/${m}_42/torch_check.txt
done
# 4. the dump's Fit is the CLI's: compare with the CLI's JSON
dotnet rnnx/Rnnx.Cli/bin/Release/net10.0/Rnnx.Cli.dll chapter --only linear,deep_rnn,s2s_rnn --no-plots --threads 1 --seed 42 --json out/cli_seed42.json
$PY - <<'PYEOF'
import json
cli = json.load(open("out/cli_seed42.json"))
for m in cli["models"]:
    d = json.load(open(f"out/{m['name']}_42/rnnx.json"))
    print(m["name"], "CLI history == dump history:", m["loss"] == d["history"]["loss"] and m["val_loss"] == d["history"]["val_loss"])
PYEOF
# 5. initial-weight distributions, and the spread over seeds with torch-drawn weights and shuffles
$PY init_check.py out/*_42
for m in linear deep_rnn s2s_rnn; do $PY torch_seeds.py $m out/${m}_42 1 2 3 4 5 6 7 8; done | tee out/torch_seeds.log
