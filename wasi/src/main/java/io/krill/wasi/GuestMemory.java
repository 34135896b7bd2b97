package io.krill.wasi;

/**
 * A guest's linear memory as the WASI layer sees it: bytes and little-endian integers at 32-bit
 * addresses (unsigned). An access outside the memory throws {@link IndexOutOfBoundsException},
 * which the calls answer with {@link Errno#FAULT}. Each engine adapts its own memory to this.
 */
public interface GuestMemory {
  /** Current size in bytes. */
  long size();

  byte readByte(int addr);

  void writeByte(int addr, byte value);

  short readShort(int addr);

  void writeShort(int addr, short value);

  int readInt(int addr);

  void writeInt(int addr, int value);

  long readLong(int addr);

  void writeLong(int addr, long value);

  void read(int addr, byte[] dst, int offset, int length);

  void write(int addr, byte[] src, int offset, int length);
}
