/**
 * A minimal little-endian ELF64 writer for tests: named sections laid out one after another from
 * FIRST_SECTION_OFFSET (16-byte aligned), one PT_LOAD segment mapping the whole file at LOAD_ADDRESS,
 * and a section header table (null section, the given sections, .shstrtab) at the end.
 */
export const FIRST_SECTION_OFFSET = 0x100;
export const LOAD_ADDRESS = 0x400000;

export interface ElfSectionSpec {
  name: string;
  data: Buffer;
}

/** The virtual address the n-th section will get, given the sizes of those before it. */
export function sectionAddress(sections: readonly ElfSectionSpec[], index: number): number {
  let offset = FIRST_SECTION_OFFSET;
  for (let i = 0; i < index; i++) offset = align16(offset + (sections[i]?.data.length ?? 0));
  return LOAD_ADDRESS + offset;
}

function align16(n: number): number {
  return Math.ceil(n / 16) * 16;
}

export function buildElf(sections: readonly ElfSectionSpec[]): Buffer {
  const names = ['', ...sections.map((s) => s.name), '.shstrtab'];
  const nameOffsets: number[] = [];
  let strtab = '';
  for (const n of names) {
    nameOffsets.push(Buffer.byteLength(strtab));
    strtab += `${n}\0`;
  }
  const strtabBytes = Buffer.from(strtab, 'latin1');
  const offsets: number[] = [];
  let offset = FIRST_SECTION_OFFSET;
  for (const s of sections) {
    offsets.push(offset);
    offset = align16(offset + s.data.length);
  }
  const strtabOffset = offset;
  const shoff = align16(strtabOffset + strtabBytes.length);
  const shnum = sections.length + 2;
  const file = Buffer.alloc(shoff + shnum * 64);

  // ELF header
  file.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0);
  file.writeUInt16LE(2, 0x10); // ET_EXEC
  file.writeUInt16LE(0x3e, 0x12); // x86-64
  file.writeUInt32LE(1, 0x14);
  file.writeBigUInt64LE(BigInt(LOAD_ADDRESS), 0x18);
  file.writeBigUInt64LE(64n, 0x20); // phoff
  file.writeBigUInt64LE(BigInt(shoff), 0x28);
  file.writeUInt16LE(64, 0x34);
  file.writeUInt16LE(56, 0x36);
  file.writeUInt16LE(1, 0x38);
  file.writeUInt16LE(64, 0x3a);
  file.writeUInt16LE(shnum, 0x3c);
  file.writeUInt16LE(shnum - 1, 0x3e);

  // PT_LOAD covering the file
  file.writeUInt32LE(1, 64);
  file.writeUInt32LE(5, 68);
  file.writeBigUInt64LE(0n, 72);
  file.writeBigUInt64LE(BigInt(LOAD_ADDRESS), 80);
  file.writeBigUInt64LE(BigInt(LOAD_ADDRESS), 88);
  file.writeBigUInt64LE(BigInt(file.length), 96);
  file.writeBigUInt64LE(BigInt(file.length), 104);

  const writeSection = (index: number, type: number, addr: number, off: number, size: number): void => {
    const o = shoff + index * 64;
    file.writeUInt32LE(nameOffsets[index] ?? 0, o);
    file.writeUInt32LE(type, o + 4);
    file.writeBigUInt64LE(BigInt(addr), o + 16);
    file.writeBigUInt64LE(BigInt(off), o + 24);
    file.writeBigUInt64LE(BigInt(size), o + 32);
  };
  sections.forEach((s, i) => {
    const off = offsets[i] ?? 0;
    s.data.copy(file, off);
    writeSection(i + 1, 1, LOAD_ADDRESS + off, off, s.data.length);
  });
  strtabBytes.copy(file, strtabOffset);
  writeSection(shnum - 1, 3, 0, strtabOffset, strtabBytes.length);
  return file;
}
