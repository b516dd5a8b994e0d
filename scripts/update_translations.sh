#!/usr/bin/env bash
# Extract the UI strings into resources/i18n/caption_studio_<lang>.ts and compile the .qm files.
#
#   bash scripts/update_translations.sh          # after adding or changing tr() strings
#
# pyside6-lupdate reads every module under desktop_app/ that marks strings (self.tr,
# QCoreApplication.translate, QT_TRANSLATE_NOOP), adds new strings to each .ts as unfinished
# and drops strings no longer in the code. Translate the unfinished ones (pyside6-linguist, or
# any editor: fill <translation> and remove type="unfinished"), then run this again: it
# compiles the .qm files (gitignored) that the app loads. tests/ui/test_i18n.py fails while a
# string is untranslated. No line numbers are written, so moving code changes no .ts file.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
bin=$(dirname "$("$PY" -c 'import sys; print(sys.executable)')")
LUPDATE=$bin/pyside6-lupdate
[ -x "$LUPDATE" ] || LUPDATE=$(command -v pyside6-lupdate)
mapfile -t sources < <(grep -rlE 'self\.tr\(|QCoreApplication\.translate\(|QT_TRANSLATE_NOOP' \
    --include='*.py' desktop_app | sort)
for lang in ru zh_CN; do
    "$LUPDATE" -silent -no-obsolete -locations none -target-language "$lang" "${sources[@]}" \
        -ts "resources/i18n/caption_studio_$lang.ts"
done
"$PY" -m desktop_app.ui.i18n
"$PY" - <<'PY'
import xml.etree.ElementTree as ET, pathlib
for ts in sorted(pathlib.Path("resources/i18n").glob("caption_studio_*.ts")):
    msgs = ET.parse(ts).getroot().iter("message")
    todo = sum(1 for m in msgs if m.find("translation").get("type") == "unfinished")
    print(f"{ts}: {todo} unfinished" if todo else f"{ts}: complete")
PY
