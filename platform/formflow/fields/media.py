"""File field types: image, attachment, signature. Values are ids of uploaded files.

The upload endpoint sniffs each file's real content type; on a record write the engine
checks that every named file exists, was uploaded by the writer (or already belongs to this
record), and has a content type the field accepts (``accepts``) within its size limit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import DisplayContext, FieldType, FieldValueError

if TYPE_CHECKING:
    from ..definitions.spec import FieldSpec

FILE_ID = r"^[0-9a-f]{32}$"
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
DOCUMENT_TYPES = frozenset(
    {
        "application/pdf",
        "application/zip",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "text/plain",
        "text/csv",
        "audio/mpeg",
        "video/mp4",
    }
)


def _file_id(raw: Any) -> str | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, dict):
        raw = raw.get("id")
    if not isinstance(raw, str) or len(raw) != 32 or not all(c in "0123456789abcdef" for c in raw):
        raise FieldValueError("must name an uploaded file", "file")
    return raw


class _Files(FieldType):
    category = "media"
    json_type = "array"
    multiple = True
    sql_kind = None
    references = "file"
    default_max_files = 10
    default_types: frozenset[str] = DOCUMENT_TYPES | IMAGE_TYPES

    def keywords(self) -> dict[str, Any]:
        return {
            "maxItems": {"type": "integer", "minimum": 1, "maximum": 50},
            "minItems": {"type": "integer", "minimum": 0, "maximum": 50},
            "x-max-size": {"type": "integer", "minimum": 1},
            "items": {"type": "object", "properties": {"type": {"const": "string"}}},
        }

    def data_schema(self, field: FieldSpec) -> dict[str, Any]:
        schema = super().data_schema(field)
        schema["items"] = {"type": "string", "pattern": FILE_ID}
        schema.setdefault("maxItems", self.default_max_files)
        schema["uniqueItems"] = True
        return schema

    def accepts(self, field: FieldSpec) -> frozenset[str]:
        return self.default_types

    def max_size(self, field: FieldSpec) -> int | None:
        return field.schema.get("x-max-size")

    def coerce(self, raw: Any, field: FieldSpec) -> Any:
        if raw is None:
            return None
        if not isinstance(raw, list):
            raw = [raw]
        ids = [i for i in (_file_id(item) for item in raw) if i is not None]
        return list(dict.fromkeys(ids)) or None

    def display(self, stored: Any, field: FieldSpec, ctx: DisplayContext | None = None) -> str:
        return f"{len(stored or ())} file(s)" if stored else ""


class Image(_Files):
    name = "image"
    label = {"en": "Image", "zh-CN": "图片"}
    default_max_files = 9
    default_types = IMAGE_TYPES


class Attachment(_Files):
    name = "attachment"
    label = {"en": "Attachment", "zh-CN": "附件"}

    def keywords(self) -> dict[str, Any]:
        return {
            **super().keywords(),
            "x-accept": {
                "type": "array",
                "items": {"enum": sorted(DOCUMENT_TYPES | IMAGE_TYPES)},
                "minItems": 1,
                "uniqueItems": True,
            },
        }

    def accepts(self, field: FieldSpec) -> frozenset[str]:
        return frozenset(field.schema.get("x-accept", self.default_types))


class Signature(FieldType):
    """A handwritten signature drawn on the phone, stored as an uploaded PNG."""

    name = "signature"
    label = {"en": "Signature", "zh-CN": "手写签名"}
    category = "media"
    sql_kind = None
    references = "file"

    def data_schema(self, field: FieldSpec) -> dict[str, Any]:
        return {"type": "string", "pattern": FILE_ID}

    def accepts(self, field: FieldSpec) -> frozenset[str]:
        return frozenset({"image/png"})

    def max_size(self, field: FieldSpec) -> int | None:
        return 2 * 1024 * 1024

    def coerce(self, raw: Any, field: FieldSpec) -> Any:
        return _file_id(raw)

    def display(self, stored: Any, field: FieldSpec, ctx: DisplayContext | None = None) -> str:
        return "✍" if stored else ""
