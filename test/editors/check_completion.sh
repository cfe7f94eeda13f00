#!/usr/bin/env bash
# The bash completions (completions/) offer what the programs take: each
# case sets COMP_WORDS as bash would and checks COMPREPLY.
#   check_completion.sh ROOT BIN_DIR
set -u
root=$1 bin=$2
if [ ! -f /usr/share/bash-completion/bash_completion ]; then
  echo "SKIPPED: bash-completion is not installed"
  exit 0
fi
. /usr/share/bash-completion/bash_completion
. "$root/completions/mmpc"
. "$root/completions/mmrun"
fails=0
expect() {  # expect FUNC "WORDS..." WORD... : COMPREPLY contains each WORD
  local fn=$1 line="$bin/$2"
  shift 2
  read -ra COMP_WORDS <<<"$line"
  [[ $line == *" " ]] && COMP_WORDS+=("")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMP_LINE="$line" COMP_POINT=${#line}
  COMPREPLY=()
  "$fn"
  local want
  for want in "$@"; do
    if [[ " ${COMPREPLY[*]} " != *" $want "* ]]; then
      echo "FAIL '${line#"$bin/"}' does not offer '$want' (offers: ${COMPREPLY[*]})"
      fails=$((fails + 1))
      return
    fi
  done
  echo "ok   '${line#"$bin/"}' offers $*"
}
expect _mmpc "mmpc " check compile fmt explain
expect _mmpc "mmpc compile --emit " plan manifest llvm asm obj
expect _mmpc "mmpc check --emit " ast
expect _mmpc "mmpc fmt --" --write --check
expect _mmpc "mmpc explain E03" E0300 E0301
expect _mmpc "mmpc --diagnostics-format " text json
expect _mmrun "mmrun " load status check
expect _mmrun "mmrun load --" --dry-run --cgroup-root --log-format --interval --pin
expect _mmrun "mmrun load --log-format " text json
echo "$fails failures"
[ "$fails" -eq 0 ]
