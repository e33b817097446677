"""Fill empty translations in a catalog from a JSON object {msgid: msgstr} (used after
scripts/i18n.sh lists new strings): python scripts/translate.py zh_CN new.json"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

CATALOGS = Path(__file__).resolve().parent.parent / "platform/formflow/translations"


def main(language: str, source: str) -> None:
    path = CATALOGS / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle)
    given = json.loads(Path(source).read_text(encoding="utf-8"))
    filled = 0
    for message in catalog:
        if message.id in given and not message.string:
            message.string = given[message.id]
            filled += 1
    with path.open("wb") as handle:
        write_po(handle, catalog, sort_output=True, include_lineno=False)
    print(f"{filled} translations filled in {path}")


if __name__ == "__main__":
    main(*sys.argv[1:])
