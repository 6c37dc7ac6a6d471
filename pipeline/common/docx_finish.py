"""Every Word document we issue, finished after docxtpl renders it, whatever its template says.

- **Vietnamese.** The styles' defaults and every style are tagged `vi-VN` and runs lose their own
  language tag, so Word spell-checks Vietnamese (not every word underlined as misspelt English);
  the "already proofed" mark and Word's preview-picture setting are dropped.
- **Tables.** No table row splits across pages (`cantSplit`); the header row of a data table (one
  with borders and more than one row) repeats on every page (`tblHeader`). The letterhead and the
  signature tables are borderless and get no header row.
- **The signature block** (the borderless table holding "Nơi nhận") stays on one page and keeps
  the closing paragraph before it: keep-with-next and keep-lines on the paragraphs before and in it.
- **No blank page.** A paragraph holding only a page break becomes "page break before" on what
  follows (nothing left to spill onto an empty page); empty paragraphs at the end of the body or
  before a section break that follows a table are removed, and the paragraph Word needs after a
  final table (or that carries a section break) is made 1 pt high.
- **Properties** name the document (title, subject, author = the issuing body), everything else
  the template carried is cleared, dates are fixed (same inputs, same bytes), and the thumbnail
  and the Word 2010 `stylesWithEffects` copy of the styles are dropped.

`pipeline.common.issued.write_issued` writes it without ever overwriting one the officer has edited.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml.ns import qn

from pipeline.common.atomic import repack_zip

LANGUAGE = "vi-VN"
SIGNATURE_MARK = "Nơi nhận"

# the order of a paragraph's properties in the schema (CT_PPrBase, then rPr, sectPr, pPrChange)
_PPR_ORDER = ["pStyle", "keepNext", "keepLines", "pageBreakBefore", "framePr", "widowControl", "numPr",
              "suppressLineNumbers", "pBdr", "shd", "tabs", "suppressAutoHyphens", "kinsoku", "wordWrap",
              "overflowPunct", "topLinePunct", "autoSpaceDE", "autoSpaceDN", "bidi", "adjustRightInd",
              "snapToGrid", "spacing", "ind", "contextualSpacing", "mirrorIndents", "suppressOverlap", "jc",
              "textDirection", "textAlignment", "textboxTightWrap", "outlineLvl", "divId", "cnfStyle", "rPr",
              "sectPr", "pPrChange"]
_INVISIBLE = {"nil", "none"}
_STYLES_WITH_EFFECTS = "http://schemas.microsoft.com/office/2007/relationships/stylesWithEffects"


@dataclass(frozen=True)
class Properties:
    """What the document's properties say: its title and subject, who issues it, and its date
    (fixed by the data, never the clock)."""

    title: str
    subject: str
    author: str
    created: dt.datetime


def finished_bytes(template, properties: Properties) -> bytes:
    """A rendered docxtpl template, finished (see the module docstring), as reproducible bytes."""
    finish(template.docx, properties)
    buffer = io.BytesIO()
    template.save(buffer)
    return repack_zip(buffer.getvalue())


def finish(document, properties: Properties) -> None:
    """Finishes a python-docx Document in place."""
    body = document.element.body
    tag_vietnamese(document)
    for table in body.iter(qn("w:tbl")):
        keep_rows_whole(table)
        if is_data_table(table, document.styles.element):
            repeat_header(table)
    keep_signature_together(body, document.styles.element)
    remove_blank_pages(body)
    set_properties(document, properties)
    drop_template_leftovers(document)


# ---------------------------------------------------------------- language

def _lang(element) -> None:
    element.set(qn("w:val"), LANGUAGE)
    element.set(qn("w:eastAsia"), LANGUAGE)
    element.set(qn("w:bidi"), "ar-SA")


def tag_vietnamese(document) -> None:
    styles = document.styles.element
    defaults = styles.find(qn("w:docDefaults"))
    if defaults is None:
        defaults = styles.makeelement(qn("w:docDefaults"), {})
        styles.insert(0, defaults)
    rpr_default = _child(defaults, "rPrDefault", first=True)
    rpr = _child(rpr_default, "rPr")
    if rpr.find(qn("w:lang")) is None:
        rpr.append(rpr.makeelement(qn("w:lang"), {}))   # lang is the last of a run's properties
    for lang in styles.iter(qn("w:lang")):
        _lang(lang)
    for part in _text_parts(document):
        for lang in list(part.iter(qn("w:lang"))):   # a run's own tag would override the styles'
            lang.getparent().remove(lang)
    settings = document.settings.element
    for name in ("proofState", "savePreviewPicture"):   # "already checked"; Word's thumbnail on save
        for element in settings.findall(qn(f"w:{name}")):
            settings.remove(element)
    theme_lang = settings.find(qn("w:themeFontLang"))
    if theme_lang is not None:
        theme_lang.attrib.clear()
        theme_lang.set(qn("w:val"), LANGUAGE)
    for name, value in (("decimalSymbol", ","), ("listSeparator", ";")):   # Vietnamese: 1.234,5
        element = settings.find(qn(f"w:{name}"))
        if element is not None:
            element.set(qn("w:val"), value)


def _text_parts(document):
    yield document.element
    for rel in document.part.rels.values():
        if rel.is_external or rel.reltype not in (RT.HEADER, RT.FOOTER, RT.FOOTNOTES, RT.ENDNOTES, RT.COMMENTS):
            continue
        element = getattr(rel.target_part, "element", None)
        if element is not None:
            yield element


def _child(parent, name: str, first: bool = False):
    element = parent.find(qn(f"w:{name}"))
    if element is None:
        element = parent.makeelement(qn(f"w:{name}"), {})
        parent.insert(0, element) if first else parent.append(element)
    return element


# ---------------------------------------------------------------- tables

def _rows(table) -> list:
    return table.findall(qn("w:tr"))


def _row_properties(row):
    trpr = row.find(qn("w:trPr"))
    if trpr is None:
        trpr = row.makeelement(qn("w:trPr"), {})
        exceptions = row.find(qn("w:tblPrEx"))
        row.insert(0 if exceptions is None else row.index(exceptions) + 1, trpr)
    return trpr


def _flag(trpr, name: str) -> None:
    """A row property that is on (trPr's children may come in any order)."""
    element = trpr.find(qn(f"w:{name}"))
    if element is None:
        trpr.append(trpr.makeelement(qn(f"w:{name}"), {}))
    else:
        element.attrib.pop(qn("w:val"), None)


def keep_rows_whole(table) -> None:
    for row in _rows(table):
        _flag(_row_properties(row), "cantSplit")


def _visible(borders) -> bool:
    return borders is not None and any(b.get(qn("w:val"), "none") not in _INVISIBLE for b in borders)


def is_data_table(table, styles) -> bool:
    """More than one row and visible borders."""
    return len(_rows(table)) >= 2 and bordered(table, styles)


def bordered(table, styles) -> bool:
    """Visible borders: the table's own, its style's, or its first row's cells'."""
    tblpr = table.find(qn("w:tblPr"))
    if tblpr is not None and _visible(tblpr.find(qn("w:tblBorders"))):
        return True
    style = tblpr.find(qn("w:tblStyle")) if tblpr is not None else None
    seen = set()
    while style is not None and style.get(qn("w:val")) not in seen:
        seen.add(style.get(qn("w:val")))
        definition = next((s for s in styles.iter(qn("w:style")) if s.get(qn("w:styleId")) == style.get(qn("w:val"))),
                          None)
        if definition is None:
            break
        if _visible(definition.find(f"{qn('w:tblPr')}/{qn('w:tblBorders')}")):
            return True
        style = definition.find(qn("w:basedOn"))
    first = _rows(table)[0]
    return any(_visible(tc.find(f"{qn('w:tcPr')}/{qn('w:tcBorders')}")) for tc in first.iter(qn("w:tc")))


def _continues_merge(row) -> bool:
    return any(m.get(qn("w:val"), "continue") == "continue" for m in row.iter(qn("w:vMerge")))


def repeat_header(table) -> None:
    """The first row repeats on each page, with the rows its vertically merged cells run into;
    a table whose template already marks header rows is left as marked."""
    rows = _rows(table)
    if any(row.find(f"{qn('w:trPr')}/{qn('w:tblHeader')}") is not None for row in rows):
        return
    header = 1
    while header < len(rows) - 1 and _continues_merge(rows[header]):
        header += 1
    for row in rows[:header]:
        _flag(_row_properties(row), "tblHeader")


# ---------------------------------------------------------------- paragraphs

def _ppr(paragraph):
    ppr = paragraph.find(qn("w:pPr"))
    if ppr is None:
        ppr = paragraph.makeelement(qn("w:pPr"), {})
        paragraph.insert(0, ppr)
    return ppr


def _set(ppr, name: str, attributes: dict | None = None):
    """Sets a paragraph property in its schema place, replacing the one there."""
    old = ppr.find(qn(f"w:{name}"))
    if old is not None:
        ppr.remove(old)
    element = ppr.makeelement(qn(f"w:{name}"), {qn(f"w:{k}"): v for k, v in (attributes or {}).items()})
    rank = _PPR_ORDER.index(name)
    for n, child in enumerate(ppr):
        local = child.tag.rsplit("}", 1)[-1]
        if local in _PPR_ORDER and _PPR_ORDER.index(local) > rank:
            ppr.insert(n, element)
            return element
    ppr.append(element)
    return element


def _keep(paragraph, with_next: bool) -> None:
    ppr = _ppr(paragraph)
    if with_next:
        _set(ppr, "keepNext")
    _set(ppr, "keepLines")


def _text(element) -> str:
    return "".join(t.text or "" for t in element.iter(qn("w:t")))


def _is_empty(paragraph) -> bool:
    """No text, picture, field, break or section break: an empty line."""
    if _text(paragraph).strip():
        return False
    for name in ("drawing", "pict", "object", "br", "fldChar", "fldSimple", "sectPr", "tab"):
        if paragraph.find(f".//{qn('w:' + name)}") is not None:
            return False
    return True


def keep_signature_together(body, styles) -> None:
    """The signature table (borderless, with "Nơi nhận") on one page with the closing paragraph
    before it."""
    blocks = list(body)
    for n, block in enumerate(blocks):
        if block.tag != qn("w:tbl") or SIGNATURE_MARK not in _text(block) or bordered(block, styles):
            continue
        rows = _rows(block)
        for r, row in enumerate(rows):
            _flag(_row_properties(row), "cantSplit")
            for paragraph in row.iter(qn("w:p")):
                _keep(paragraph, with_next=r < len(rows) - 1)
        before = n - 1
        while before >= 0 and blocks[before].tag == qn("w:p"):
            _keep(blocks[before], with_next=True)
            if not _is_empty(blocks[before]):
                break
            before -= 1


def _page_break_only(paragraph) -> bool:
    breaks = [br for br in paragraph.iter(qn("w:br")) if br.get(qn("w:type")) == "page"]
    if not breaks or _text(paragraph).strip() or paragraph.find(f".//{qn('w:drawing')}") is not None:
        return False
    return paragraph.find(f"{qn('w:pPr')}/{qn('w:sectPr')}") is None


def _tiny(paragraph) -> None:
    """The paragraph Word needs after a table, or that carries a section break: 1 pt, no spacing."""
    ppr = _ppr(paragraph)
    for name in ("keepNext", "keepLines", "pageBreakBefore"):
        for element in ppr.findall(qn(f"w:{name}")):
            ppr.remove(element)
    _set(ppr, "spacing", {"before": "0", "after": "0", "line": "20", "lineRule": "exact"})
    rpr = _set(ppr, "rPr")
    for name in ("sz", "szCs"):
        rpr.append(rpr.makeelement(qn(f"w:{name}"), {qn("w:val"): "2"}))


def remove_blank_pages(body) -> None:
    # a page break on its own line: the break moves onto the next paragraph, or goes if nothing follows
    for paragraph in [b for b in body if b.tag == qn("w:p") and _page_break_only(b)]:
        empty, following = [], paragraph.getnext()
        while following is not None and following.tag == qn("w:p") and _is_empty(following):
            empty.append(following)
            following = following.getnext()
        if following is not None and following.tag == qn("w:p") and _text(following).strip():
            _set(_ppr(following), "pageBreakBefore")
        elif not (following is None or following.tag == qn("w:sectPr") or _starts_new_page(following)):
            continue   # a table or a picture next: the break stays where the template put it
        for each in (paragraph, *empty):
            body.remove(each)
    # an empty paragraph that only carries a section break: the break moves into the paragraph
    # before it, or, after a table (where it cannot go), the paragraph shrinks to 1 pt
    for block in list(body):
        if block.tag != qn("w:p") or block.find(f"{qn('w:pPr')}/{qn('w:sectPr')}") is None \
                or not _is_empty(_without_sectpr(block)):
            continue
        _trim_before(block)
        previous = _previous_block(block)
        if previous is not None and previous.tag == qn("w:p") and previous.find(
                f"{qn('w:pPr')}/{qn('w:sectPr')}") is None:
            if _starts_new_page(block):
                _drop_final_page_breaks(previous)
            _ppr(previous).append(block.find(qn("w:pPr")).find(qn("w:sectPr")))
            _order(_ppr(previous))
            body.remove(block)
        elif previous is not None:
            _tiny(block)
    # empty lines at the end of the body; Word needs a paragraph after a final table
    last = body[-1] if len(body) and body[-1].tag == qn("w:sectPr") else None
    tail = list(body)[:-1] if last is not None else list(body)
    while tail and tail[-1].tag == qn("w:p") and _is_empty(tail[-1]):
        body.remove(tail.pop())
    if tail and tail[-1].tag == qn("w:p"):
        _drop_final_page_breaks(tail[-1])
    if tail and tail[-1].tag == qn("w:tbl"):
        paragraph = body.makeelement(qn("w:p"), {})
        tail[-1].addnext(paragraph)
        _tiny(paragraph)


def _starts_new_page(paragraph) -> bool:
    """An otherwise empty paragraph carrying a section break that starts a new page."""
    section = paragraph.find(f"{qn('w:pPr')}/{qn('w:sectPr')}")
    if section is None or not _is_empty(_without_sectpr(paragraph)):
        return False
    kind = section.find(qn("w:type"))
    return kind is None or kind.get(qn("w:val")) != "continuous"


def _drop_final_page_breaks(paragraph) -> None:
    """Page breaks with no text after them in the last paragraph: they would open an empty page."""
    order = list(paragraph.iter())
    texts = [n for n, e in enumerate(order) if e.tag == qn("w:t") and (e.text or "").strip()]
    for n, element in enumerate(order):
        if element.tag == qn("w:br") and element.get(qn("w:type")) == "page" and not any(t > n for t in texts):
            element.getparent().remove(element)


def _without_sectpr(paragraph):
    """A copy of the paragraph without its section properties, to ask whether it is otherwise empty."""
    import copy

    clone = copy.deepcopy(paragraph)
    ppr = clone.find(qn("w:pPr"))
    ppr.remove(ppr.find(qn("w:sectPr")))
    return clone


def _previous_block(block):
    previous = block.getprevious()
    while previous is not None and previous.tag not in (qn("w:p"), qn("w:tbl")):
        previous = previous.getprevious()
    return previous


def _trim_before(block) -> None:
    """Removes the empty paragraphs just before `block`."""
    previous = _previous_block(block)
    while previous is not None and previous.tag == qn("w:p") and _is_empty(previous) and \
            previous.find(f"{qn('w:pPr')}/{qn('w:sectPr')}") is None:
        earlier = _previous_block(previous)
        previous.getparent().remove(previous)
        previous = earlier


def _order(ppr) -> None:
    """A paragraph's properties back in schema order after one was appended."""
    def rank(child):
        local = child.tag.rsplit("}", 1)[-1]
        return _PPR_ORDER.index(local) if local in _PPR_ORDER else len(_PPR_ORDER)
    ppr[:] = sorted(ppr, key=rank)


# ---------------------------------------------------------------- properties and leftovers

def set_properties(document, properties: Properties) -> None:
    core = document.core_properties
    element = core._element
    for child in list(element):   # whatever the template carried (its description, last printed, ...)
        element.remove(child)
    core.title = properties.title
    core.subject = properties.subject
    core.author = properties.author
    core.last_modified_by = properties.author
    core.language = LANGUAGE
    core.revision = 1
    core.created = core.modified = properties.created


def drop_template_leftovers(document) -> None:
    """The thumbnail (python-docx's template picture) and the Word 2010 copy of the styles (untagged)."""
    package = document.part.package
    for rId, rel in list(package.rels.items()):
        if rel.reltype == RT.THUMBNAIL:
            del package.rels[rId]
    for rId, rel in list(document.part.rels.items()):
        if rel.reltype == _STYLES_WITH_EFFECTS:
            del document.part.rels[rId]
