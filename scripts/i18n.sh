#!/usr/bin/env bash
# Refreshes the message catalogs after UI text changed: extracts every _("…") from the code
# and templates, merges it into each language's .po (then translate the new entries).
set -euo pipefail
cd "$(dirname "$0")/.."
pot=platform/formflow/translations/messages.pot
.venv/bin/pybabel extract -F babel.cfg -k N_ -k _ --no-location --sort-output \
  --project Formflow --copyright-holder "Formflow" -o "$pot" platform/formflow >/dev/null 2>&1
for lang in zh_CN; do
  po="platform/formflow/translations/$lang/LC_MESSAGES/messages.po"
  if [ -f "$po" ]; then
    .venv/bin/pybabel update -i "$pot" -d platform/formflow/translations -l "$lang" \
      --no-fuzzy-matching --ignore-obsolete >/dev/null
  else
    .venv/bin/pybabel init -i "$pot" -d platform/formflow/translations -l "$lang" >/dev/null
  fi
done
.venv/bin/pybabel compile -d platform/formflow/translations --statistics 2>&1 | grep -v "^compiling" || true
echo "catalogs updated; translate the empty msgstr entries (scripts/translate.py fills them from a JSON file)"
