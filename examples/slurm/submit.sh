#!/usr/bin/env bash
# Narrates one book on a Slurm cluster: a job array of SHARDS shard tasks, then an assemble job
# that waits for all of them (afterok). Prints the assemble job's id.
#
#   BOOK=/shared/books/novel.epub STORE=/shared/chunks OUT=/shared/out/novel SHARDS=8 \
#     AUDIOBOOK_ARGS="--voice bf_lily --format m4b" examples/slurm/submit.sh
#
# AUDIOBOOK (default: audiobook on PATH) must run on every node, with the model files in its
# cache (run `audiobook models fetch` once where the nodes share HOME, or set
# AUDIOBOOK_MODEL_DIR). Logs go to LOG_DIR (default: the current folder).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
: "${BOOK:?set BOOK}" "${STORE:?set STORE}" "${OUT:?set OUT}"
shards="${SHARDS:-4}"
logs="${LOG_DIR:-.}"
array=$(sbatch --parsable --array="0-$((shards - 1))" --export=ALL \
  --output="$logs/audiobook-shard-%A_%a.log" "$here/shard.sbatch")
array="${array%%;*}"
sbatch --parsable --dependency="afterok:$array" --kill-on-invalid-dep=yes --export=ALL \
  --output="$logs/audiobook-assemble-%j.log" "$here/assemble.sbatch"
