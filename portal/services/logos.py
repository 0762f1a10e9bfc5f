"""Reading an uploaded logo: what it is (from its bytes, never its name), whether it is safe and sane to
show, and the favicon made from it. Pure functions: nothing here touches the database.

- PNG and JPEG are checked with Pillow: the header's pixel size first (a decompression bomb is refused
  before anything is decoded), then a full decode (a truncated or corrupt file is refused).
- SVG is parsed with defusedxml (no DTD, no entities, no external resources) and written out again from
  an allow-list of elements and attributes. Active content (scripts, event handlers, `<foreignObject>`,
  links or styles that point outside the file) is refused with a message saying what was found, so
  the admin knows why the logo they meant is not the one stored.
"""
from __future__ import annotations

import hashlib
import io
import re
import warnings
from dataclasses import dataclass
from xml.etree import ElementTree

import defusedxml
import defusedxml.ElementTree
from PIL import Image, UnidentifiedImageError

from portal.errors import DomainError

MAX_BYTES = 1024 * 1024
MAX_SIDE = 4096          # pixels, either side, for PNG and JPEG
MAX_PIXELS = 16_000_000  # width × height
FAVICON_SIDE = 64

PNG, JPEG, SVG = "image/png", "image/jpeg", "image/svg+xml"
_PILLOW_FORMATS = {"PNG": PNG, "JPEG": JPEG}

_SVG_NS = "http://www.w3.org/2000/svg"
_XLINK_NS = "http://www.w3.org/1999/xlink"
_XML_NS = "http://www.w3.org/XML/1998/namespace"

# Elements that draw; anything else (editor metadata, unknown namespaces) is left out of the stored copy.
_ELEMENTS = frozenset("""
    svg g defs symbol use title desc path rect circle ellipse line polyline polygon text tspan textPath
    linearGradient radialGradient stop clipPath mask pattern marker filter feGaussianBlur feOffset
    feBlend feColorMatrix feComposite feFlood feMerge feMergeNode style
""".split())
# Elements whose presence means the file does something besides draw: refused.
_ACTIVE = {"script": "a script", "foreignObject": "embedded HTML (<foreignObject>)", "iframe": "an iframe",
           "object": "an embedded object", "embed": "an embedded object", "image": "an image it loads",
           "a": "a link", "animate": "an animation that can change links", "set": "an animation that can change links",
           "handler": "an event handler", "listener": "an event handler"}
_ATTRIBUTES = frozenset("""
    id class viewBox width height x y x1 y1 x2 y2 cx cy r rx ry d points transform fill fill-opacity
    fill-rule stroke stroke-width stroke-opacity stroke-linecap stroke-linejoin stroke-miterlimit
    stroke-dasharray stroke-dashoffset opacity color clip-path clip-rule mask font-family font-size
    font-weight font-style text-anchor dominant-baseline letter-spacing offset stop-color stop-opacity
    gradientUnits gradientTransform spreadMethod fx fy preserveAspectRatio version patternUnits
    patternContentUnits patternTransform maskUnits maskContentUnits clipPathUnits markerWidth markerHeight
    refX refY orient markerUnits filter stdDeviation dx dy in in2 result mode type values operator k1 k2 k3
    k4 flood-color flood-opacity filterUnits primitiveUnits dominant-baseline visibility display style
    href role aria-label aria-hidden focusable
""".split())
_URL = re.compile(r"url\(\s*['\"]?\s*([^)'\"\s]*)", re.IGNORECASE)


@dataclass(frozen=True)
class Picture:
    content: bytes
    content_type: str
    width: int | None
    height: int | None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True)
class Logo:
    logo: Picture
    favicon: Picture


def read(data: bytes) -> Logo:
    """The logo in `data` and its favicon. Raises DomainError (field "logo") for anything else."""
    if not data:
        raise DomainError("Choose an image file to upload.", field="logo")
    if len(data) > MAX_BYTES:
        raise DomainError(f"The file is {_size(len(data))}; a logo may be at most {_size(MAX_BYTES)}.", field="logo")
    if _looks_like_xml(data):
        logo = _svg(data)
        # Pillow cannot draw an SVG; browsers take an SVG favicon as it is.
        return Logo(logo=logo, favicon=logo)
    return _raster(data)


def _raster(data: bytes) -> Logo:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # Only the PNG and JPEG decoders ever see the bytes: any other format is "not an image" here.
            image = Image.open(io.BytesIO(data), formats=list(_PILLOW_FORMATS))
            kind = _PILLOW_FORMATS[image.format]
            width, height = image.size
            if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
                raise DomainError(f"The image is {width} × {height} pixels; a logo may be at most "
                                  f"{MAX_SIDE} × {MAX_SIDE} pixels.", field="logo")
            image.load()  # a full decode: a truncated or corrupt file fails here, not in a browser
            favicon = _favicon(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise DomainError(f"The image has more pixels than a logo needs; use one of at most {MAX_SIDE} × "
                          f"{MAX_SIDE} pixels.", field="logo") from None
    except UnidentifiedImageError:
        raise DomainError("This file is not a PNG, JPEG or SVG image.", field="logo") from None
    except (OSError, SyntaxError, ValueError):
        raise DomainError("This image is damaged or incomplete; export it again and upload the new file.",
                          field="logo") from None
    return Logo(logo=Picture(data, kind, width, height), favicon=favicon)


def _favicon(image: Image.Image) -> Picture:
    """The logo shrunk into a transparent square, centred, as a PNG."""
    icon = image.convert("RGBA")
    icon.thumbnail((FAVICON_SIDE, FAVICON_SIDE), Image.Resampling.LANCZOS)
    square = Image.new("RGBA", (FAVICON_SIDE, FAVICON_SIDE), (0, 0, 0, 0))
    square.paste(icon, ((FAVICON_SIDE - icon.width) // 2, (FAVICON_SIDE - icon.height) // 2))
    out = io.BytesIO()
    square.save(out, format="PNG", optimize=True)
    return Picture(out.getvalue(), PNG, FAVICON_SIDE, FAVICON_SIDE)


# ---- SVG -------------------------------------------------------------------------------------------

def _looks_like_xml(data: bytes) -> bool:
    return data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def _svg(data: bytes) -> Picture:
    try:
        root = defusedxml.ElementTree.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DefusedXmlException:
        raise DomainError("This SVG declares a DTD or entities; export it again as plain SVG.", field="logo") from None
    except ElementTree.ParseError:
        raise DomainError("This file is not a PNG, JPEG or SVG image.", field="logo") from None
    if _local(root.tag) != "svg" or _namespace(root.tag) not in ("", _SVG_NS):
        raise DomainError("This file is not a PNG, JPEG or SVG image.", field="logo")
    problem = _active_content(root)
    if problem:
        raise DomainError(f"This SVG contains {problem}, which a logo may not have; remove it and upload "
                          "the file again.", field="logo")
    clean = _copy(root)
    if clean.get("viewBox") is None and not (clean.get("width") and clean.get("height")):
        raise DomainError("This SVG has no size (a viewBox or width and height); export it again with one.",
                          field="logo")
    ElementTree.register_namespace("", _SVG_NS)
    content = ElementTree.tostring(clean, encoding="utf-8", xml_declaration=True)
    return Picture(content, SVG, None, None)


def _active_content(element: ElementTree.Element) -> str | None:
    """What in the tree could run or fetch something, described for a person; None when nothing."""
    for node in element.iter():
        if not isinstance(node.tag, str):
            continue
        name = _local(node.tag)
        if name in _ACTIVE:
            return _ACTIVE[name]
        for attribute, value in node.attrib.items():
            local = _local(attribute)
            if local.lower().startswith("on"):
                return f"an event handler ({local})"
            if local == "href" and not value.strip().startswith("#"):
                return f"a link to {value.strip()[:60] or 'nothing'}"
            if _outside_reference(value):
                return "a reference to another file"
        if name == "style" and (_outside_reference(node.text or "") or "@import" in (node.text or "").lower()):
            return "a style that loads another file"
    return None


def _outside_reference(value: str) -> bool:
    return any(not target.startswith("#") for target in _URL.findall(value))


def _copy(element: ElementTree.Element) -> ElementTree.Element:
    """The element and what it draws, with only allow-listed attributes, in the SVG namespace."""
    copy = ElementTree.Element(f"{{{_SVG_NS}}}{_local(element.tag)}")
    for attribute, value in element.attrib.items():
        local = _local(attribute)
        if local in _ATTRIBUTES and _namespace(attribute) in ("", _XLINK_NS):
            copy.set(local, value)
    copy.text = element.text
    for child in element:
        if isinstance(child.tag, str) and _local(child.tag) in _ELEMENTS and _namespace(child.tag) in ("", _SVG_NS):
            kept = _copy(child)
            kept.tail = child.tail
            copy.append(kept)
    return copy


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _namespace(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def _size(count: int) -> str:
    return f"{-(-count // 1024):,} KB"
