#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Copy the kernel's BTF out of an uncompressed kernel image (arm64's Image).

    extract-btf.py IMAGE OUTPUT

The linker places the .BTF section in the image verbatim: a struct btf_header (magic
0xeB9F, version 1, hdr_len 24, then the offsets and lengths of the type and string
sections), followed by those sections. This finds every such header, keeps the ones
whose sections fit in the file, and writes the largest (the vmlinux BTF; a stray match
of the magic is far smaller or does not parse). bpftool then reads OUTPUT as it would
/sys/kernel/btf/vmlinux.
"""
import struct
import sys

MAGIC = b"\x9f\xeb\x01\x00"  # little-endian 0xeB9F, version 1, flags 0
HEADER = struct.Struct("<5I")  # hdr_len, type_off, type_len, str_off, str_len


def candidates(image):
    start = image.find(MAGIC)
    while start >= 0:
        if start + 4 + HEADER.size <= len(image):
            hdr_len, type_off, type_len, str_off, str_len = HEADER.unpack_from(image, start + 4)
            size = hdr_len + max(type_off + type_len, str_off + str_len)
            # The string section starts with the empty string and ends with a NUL.
            strings = start + hdr_len + str_off
            if (hdr_len == 24 and type_off + type_len <= str_off and str_len > 0
                    and start + size <= len(image) and image[strings] == 0
                    and image[strings + str_len - 1] == 0):
                yield start, size
        start = image.find(MAGIC, start + 1)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: extract-btf.py IMAGE OUTPUT")
    with open(sys.argv[1], "rb") as f:
        image = f.read()
    found = sorted(candidates(image), key=lambda c: c[1])
    if not found:
        sys.exit(f"extract-btf: no BTF in {sys.argv[1]} (a compressed image? an EFI zboot one?)")
    start, size = found[-1]
    with open(sys.argv[2], "wb") as f:
        f.write(image[start:start + size])
    print(f"extract-btf: {size} bytes of BTF at offset {start}", file=sys.stderr)


if __name__ == "__main__":
    main()
